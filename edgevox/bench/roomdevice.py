"""A simulated full-duplex device: the agent's speaker and microphone inside a simulated room.

:class:`RoomDevice` is a :class:`~edgevox.audio.duplex.DuplexSink` like the real
:class:`~edgevox.audio.duplex.DuplexDevice` (output pulled block by block, the captured audio
echo-cancelled and handed on at the same moment), but its "callback" is a thread paced like a
sound card, its speaker plays into a :class:`~edgevox.bench.room.RoomStream` and its
microphone records from it. So the agent, its
echo canceller and its barge-in policy run exactly as on a device, against a reply that echoes
through a real room impulse response, with a real person's speech and noise on top.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.duplex import DuplexSink
from edgevox.audio.echo import RESAMPLER_QUALITY
from edgevox.audio.sink import DEFAULT_MAX_QUEUED_MS

if TYPE_CHECKING:
    from edgevox.audio.echo import EchoCanceller
    from edgevox.bench.room import RoomStream

BLOCK_MS = 20


class RoomDevice(DuplexSink):
    """Speaker and microphone in a simulated room, on one clock paced like a sound card.

    ``use(stream)`` puts the device in a room (one per scenario); ``start(on_audio)`` begins
    handing the captured, echo-cancelled 16 kHz audio on (see
    :class:`~edgevox.audio.duplex.DuplexSink`). ``mic_samples`` counts the samples captured so
    far, the device's own clock, so scenarios time events on it.
    """

    def __init__(self, sample_rate_hz: int, *, canceller: EchoCanceller | None = None,
                 realtime: bool = True, max_queued_ms: int = DEFAULT_MAX_QUEUED_MS) -> None:
        import soxr

        super().__init__(sample_rate_hz, canceller=canceller, block_ms=BLOCK_MS,
                         max_queued_ms=max_queued_ms)
        self.realtime = realtime
        self.mic_samples = 0
        self.failure: Exception | None = None
        """Why the device stopped, if it did (a room that could not be rendered)."""
        self._heard: list[np.ndarray] = []
        self._to_room = soxr.ResampleStream(sample_rate_hz, SAMPLE_RATE_HZ, 1, dtype="float32",
                                              quality=RESAMPLER_QUALITY)
        self._room: RoomStream | None = None
        self._room_lock = threading.Lock()
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edgevox-room-device",
                                        daemon=True)

    def use(self, room: RoomStream) -> None:
        """Put the device in ``room`` from the next block on (its clock restarts)."""
        with self._room_lock:
            self._room = room
            self.mic_samples = 0
            self._heard = []

    def heard(self) -> np.ndarray:
        """What the device handed on (echo-cancelled when it has a canceller) since :meth:`use`,
        block for block beside the stream's :meth:`~edgevox.bench.room.RoomStream.recorded`
        microphone signal (and, with a canceller, its latency behind it)."""
        with self._room_lock:
            return np.concatenate(self._heard) if self._heard else np.zeros(0, np.float32)

    def start(self, on_audio: Callable[[np.ndarray], None]) -> None:
        super().start(on_audio)
        self._running.set()
        self._thread.start()

    def _run(self) -> None:
        try:
            self._clock()
        except Exception as exc:  # a bad scenario: no more blocks; whoever waits must hear why
            self.failure = exc
            raise

    def _clock(self) -> None:
        mic_block = SAMPLE_RATE_HZ * BLOCK_MS // 1000
        next_t = time.monotonic()
        while self._running.is_set():
            played, _ = self._pull(self.block_samples)
            far = self._to_room.resample_chunk(played)
            with self._room_lock:  # a block captured and handed on belong to the same room
                room = self._room
                if room is None:  # no room, no sound: the far end stays in step with the mic
                    far = mic = np.zeros(mic_block, dtype=np.float32)
                else:
                    room.play(far)
                    far, mic = room.exchange(mic_block)  # the far end as the room played it
                self.mic_samples += mic.size
                self._heard.append(self._exchange(far, SAMPLE_RATE_HZ, mic))
            if self.realtime:
                next_t += BLOCK_MS / 1000
                time.sleep(max(0.0, next_t - time.monotonic()))

    def close(self) -> None:
        self._running.clear()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        super().close()
