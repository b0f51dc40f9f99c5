"""The connected kiosk apps: their sockets, what waits to be written to them, and audio both ways.

Only the event loop touches a :class:`Client` or the :class:`Clients` list. Each client has a
bounded outbox drained by its own writer task: a slow client falls behind (and is dropped when
too far behind), never the agent or the other clients. Audio comes in from one client at a time
(:class:`AudioInput` turns whatever rate it sends into the agent's 20 ms blocks) and goes out to
all of them (:class:`ClientAudioSink` plays the agent's replies from its own thread, paced like
a speaker, and hands each frame to the loop).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import numpy as np
from aiohttp import WSCloseCode, web

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.sink import DEFAULT_MAX_QUEUED_MS, ThreadedSink
from edgevox.server.protocol import (
    ProtocolError,
    audio_out_end_message,
    audio_out_start_message,
    float_to_pcm16,
    pcm16_to_float,
)

log = logging.getLogger(__name__)

AUDIO_BLOCK_SAMPLES = 320  # 20 ms: the agent bounds its audio queue in blocks (500 = 10 s)
OUTBOX_MESSAGES = 1024  # about 40 s of reply audio; a client further behind is dropped

Outgoing = dict[str, Any] | bytes
"""A JSON message or a frame of reply audio (s16le)."""


def spawn(tasks: set[asyncio.Task[Any]], coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` as a task held in ``tasks`` until it ends (asyncio keeps only weak refs)."""
    task = asyncio.ensure_future(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


class AudioInput:
    """One client's audio stream: s16le bytes at any rate -> 20 ms float32 blocks at 16 kHz."""

    def __init__(self, sample_rate_hz: int) -> None:
        self._carry = b""  # an odd trailing byte waits for its other half
        self._resampler = None
        if sample_rate_hz != SAMPLE_RATE_HZ:
            import soxr

            self._resampler = soxr.ResampleStream(sample_rate_hz, SAMPLE_RATE_HZ, 1,
                                                  dtype="float32")

    def blocks(self, data: bytes, last: bool = False) -> list[np.ndarray]:
        data = self._carry + data
        usable = len(data) - len(data) % 2
        data, self._carry = data[:usable], data[usable:]
        samples = pcm16_to_float(data)
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples, last=last)
        return [samples[i:i + AUDIO_BLOCK_SAMPLES]
                for i in range(0, samples.size, AUDIO_BLOCK_SAMPLES)]


class Client:
    """One WebSocket connection and the messages waiting to be written to it."""

    def __init__(self, ws: web.WebSocketResponse, number: int) -> None:
        self.ws = ws
        self.number = number
        self.closed = False
        self.audio: AudioInput | None = None
        self.serial = asyncio.Lock()  # slow requests run in arrival order, off the reader
        self.tasks: set[asyncio.Task[Any]] = set()
        self._outbox: asyncio.Queue[Outgoing] = asyncio.Queue(OUTBOX_MESSAGES)

    def send(self, item: Outgoing) -> None:
        """Queue a JSON message or an audio frame (event loop only)."""
        if self.closed:
            return
        try:
            self._outbox.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("client %d is %d messages behind; disconnecting it", self.number,
                        OUTBOX_MESSAGES)
            self.closed = True
            spawn(self.tasks, self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER,
                                            message=b"too slow: read your messages"))

    async def write_loop(self) -> None:
        while True:
            item = await self._outbox.get()
            try:
                if isinstance(item, bytes):
                    await self.ws.send_bytes(item)
                else:
                    await self.ws.send_str(json.dumps(item, ensure_ascii=False))
            except (ConnectionError, RuntimeError):
                return  # the socket closed; the reader cleans up


class Clients:
    """Everyone connected, and the one of them streaming audio in (event loop only).

    One agent hears one stream at a time, so a second ``audio_start`` is refused until the
    first stream ends; events and reply audio go to every client.
    """

    def __init__(self) -> None:
        self._by_number: dict[int, Client] = {}
        self._count = 0
        self.audio_owner: Client | None = None

    def __len__(self) -> int:
        return len(self._by_number)

    def __iter__(self) -> Iterator[Client]:
        """A snapshot: closing a client while iterating is safe."""
        return iter(list(self._by_number.values()))

    def connect(self, ws: web.WebSocketResponse) -> Client:
        self._count += 1
        client = Client(ws, self._count)
        self._by_number[client.number] = client
        log.info("client %d connected (%d now)", client.number, len(self))
        return client

    def disconnect(self, client: Client) -> None:
        client.closed = True
        self._by_number.pop(client.number, None)
        log.info("client %d disconnected (%d left)", client.number, len(self))

    def broadcast(self, item: Outgoing) -> None:
        for client in self._by_number.values():
            client.send(item)

    def start_audio(self, client: Client, sample_rate_hz: int) -> None:
        if self.audio_owner is not None and self.audio_owner is not client:
            raise ProtocolError("another client is streaming audio; only one audio stream "
                                "at a time")
        if client.audio is not None:
            raise ProtocolError("already streaming: send audio_end first")
        client.audio = AudioInput(sample_rate_hz)
        self.audio_owner = client

    def end_audio(self, client: Client) -> list[np.ndarray]:
        """Release the stream ``client`` holds; returns the blocks its resampler still held."""
        if client.audio is None:
            raise ProtocolError("audio_end without audio_start")
        blocks = client.audio.blocks(b"", last=True)
        client.audio = None
        self.audio_owner = None
        return blocks


class ClientAudioSink(ThreadedSink):
    """Plays the agent's replies to the connected clients, paced like a real speaker.

    Pacing matters: the agent's barge-in and its "what was heard" ledger assume audio leaves at
    the speed a person hears it. Each utterance goes out as ``audio_out_start``, s16le frames,
    ``audio_out_end``; :meth:`end_stream` closes an utterance that played out, and a stop (an
    interruption) closes it at once and drops the block in flight. ``emit`` is called on the
    sink's thread (and on whichever thread stops the sink) and must hand the item to the loop.
    """

    def __init__(self, sample_rate_hz: int, emit: Callable[[Outgoing], None],
                 block_ms: int, max_queued_ms: int = DEFAULT_MAX_QUEUED_MS) -> None:
        self._emit = emit
        self._streaming = False
        super().__init__(sample_rate_hz, block_ms, max_queued_ms, realtime=True,
                         name="edgevox-client-sink")

    def _write(self, block: np.ndarray) -> None:
        with self._cond:
            if self._stopped or self._closed:
                return
            if not self._streaming:
                self._streaming = True
                self._emit(audio_out_start_message(self.sample_rate_hz))
            self._emit(float_to_pcm16(block))

    def begin_utterance(self) -> None:
        self.end_stream()
        super().begin_utterance()

    def stop(self) -> None:
        super().stop()
        self.end_stream()

    def end_stream(self) -> None:
        """Close the utterance being streamed, if any (thread-safe)."""
        with self._cond:
            if self._streaming:
                self._streaming = False
                self._emit(audio_out_end_message())
