"""The daemon: one agent behind a local HTTP + WebSocket API for kiosk apps (`edgevox serve`).

Threads and the event loop meet in few, narrow places. The agent's workers, the playback sink
and tool calls run on their own threads; everything they hand to clients crosses into the event
loop with ``loop.call_soon_threadsafe``, so the loop alone owns the client list and the sockets.
Each client has a bounded outbox drained by its own writer task: a slow client falls behind (and
is dropped when too far behind), never the agent or the other clients. Reply audio comes straight
from the sink thread while events pass through the event bus, so the first audio frame may beat
``speaking_started``; but ``speaking_finished`` is published only after the last frame was
scheduled, so a client always sees ``audio_out_end`` before it.

The HTTP server answers as soon as the socket is bound (systemd hears ``READY=1`` then); the
models load in a background thread meanwhile and ``GET /health`` says when they are ready. One
agent serves everyone: one audio stream in at a time, events and reply audio out to all.

A kiosk app registers its own tools over the WebSocket; they *replace* the built-in, simulated
home tools (which would otherwise claim to switch lights the kiosk does not have). Each call of
such a tool becomes a ``tool_call`` message to the app, and the app's ``tool_result`` is what the
agent speaks. Registered tools stay after the app disconnects (calls then fail at once with a
spoken apology), so an app that reconnects and registers the same tools gets them back
instantly, without the seconds it takes the LLM to re-read its prompt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import hmac
import ipaddress
import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from edgevox import __version__
from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.sink import DEFAULT_MAX_QUEUED_MS, ThreadedSink
from edgevox.catalog import ModelStore
from edgevox.config import Config
from edgevox.errors import ConfigError, EdgevoxError, ToolError
from edgevox.server.protocol import (
    AudioEnd,
    AudioStart,
    BusyError,
    ClientMessage,
    Interrupt,
    NewSession,
    NotReadyError,
    ProtocolError,
    RegisterTools,
    Say,
    TextTurn,
    ToolResultMessage,
    accepted_message,
    audio_out_end_message,
    audio_out_start_message,
    error_message,
    event_message,
    float_to_pcm16,
    parse_client_message,
    parse_say_request,
    pcm16_to_float,
    tool_call_message,
    tools_registered_message,
)

log = logging.getLogger(__name__)

AUDIO_BLOCK_SAMPLES = 320  # 20 ms: the agent bounds its audio queue in blocks (500 = 10 s)
OUTBOX_MESSAGES = 1024  # about 40 s of reply audio; a client further behind is dropped
MAX_WAITING_TURNS = 3  # typed or `say` turns queued and not finished; more is "busy"
HARD_LIMIT_FACTOR = 4  # WebSocket messages above this many times the limit close the socket
WS_HEARTBEAT_S = 30.0
SHUTDOWN_TIMEOUT_S = 5.0
_BUILTIN_TOOLS_KEY = "builtin"


# --- systemd ---------------------------------------------------------------------------------


class SystemdNotifier:
    """``sd_notify`` without libsystemd: one datagram per message to ``$NOTIFY_SOCKET``.

    Does nothing when the variable is unset (not started by systemd). With ``$WATCHDOG_USEC``
    set (``WatchdogSec=`` in the unit), :meth:`watchdog` pings at half that period from the
    event loop, so a hung loop stops the pings and systemd restarts the daemon.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        address = environ.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self._failed = False
        usec, pid = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
        for_us = not pid or pid == str(os.getpid())
        self.watchdog_interval_s = int(usec) / 2e6 if usec and usec.isdigit() and for_us \
            else None

    def notify(self, message: str) -> None:
        """Send one message; never blocks (a full socket queue drops it), never raises."""
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)  # this runs on the event loop
                sock.sendto(message.encode(), self.address)
        except OSError as exc:
            log.log(logging.DEBUG if self._failed else logging.WARNING,
                    "cannot notify systemd (%s): %s", message, exc)
            self._failed = True

    async def watchdog(self) -> None:
        while self.watchdog_interval_s:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_interval_s)


# --- reply audio -----------------------------------------------------------------------------


class ClientAudioSink(ThreadedSink):
    """Plays the agent's replies to the connected clients, paced like a real speaker.

    Pacing matters: the agent's barge-in and its "what was heard" ledger assume audio leaves at
    the speed a person hears it. Each utterance goes out as ``audio_out_start``, s16le frames,
    ``audio_out_end``; :meth:`end_stream` closes an utterance that played out, and a stop (an
    interruption) closes it at once and drops the block in flight.
    """

    def __init__(self, sample_rate_hz: int, emit: Callable[[dict | bytes], None],
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


# --- clients ---------------------------------------------------------------------------------


def _spawn(tasks: set[asyncio.Task], coro) -> None:
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
        self.tasks: set[asyncio.Task] = set()
        self._outbox: asyncio.Queue[dict | bytes] = asyncio.Queue(OUTBOX_MESSAGES)

    def send(self, item: dict | bytes) -> None:
        """Queue a JSON message or an audio frame (event loop only)."""
        if self.closed:
            return
        try:
            self._outbox.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("client %d is %d messages behind; disconnecting it", self.number,
                        OUTBOX_MESSAGES)
            self.closed = True
            _spawn(self.tasks, self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER,
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


@dataclasses.dataclass
class _Registration:
    """The client tool set now served and the connection that answers its calls."""

    key: str
    owner: Client | None


# --- the daemon ------------------------------------------------------------------------------


class Daemon:
    """Owns the agent and the connected clients. Methods run on the event loop unless their
    docstring names another thread."""

    def __init__(self, config: Config, store: ModelStore | None = None) -> None:
        from edgevox.tools.home import home_tools

        self.config = config
        self.store = store or ModelStore()
        self.started_s = time.monotonic()
        self.state = "loading"  # -> "ready" | "failed"
        self.error: str | None = None
        self.agent = None
        self.port: int | None = None
        self.clients: dict[int, Client] = {}
        self.builtin_tools = home_tools()
        self._client_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._settled = asyncio.Event()  # loading ended, either way
        self._audio_owner: Client | None = None
        self._registration = _Registration(_BUILTIN_TOOLS_KEY, None)
        self._tools_lock = asyncio.Lock()
        self._calls: dict[str, tuple[Client, concurrent.futures.Future]] = {}
        self._waiting_turns: list = []
        self._submitting = 0
        self._subscription = None
        self._pump: threading.Thread | None = None
        self._recorder = None
        self._closing = False
        self._tasks: set[asyncio.Task] = set()

    # -- loading
    def start_loading(self) -> None:
        """Load the models on a background thread; the API answers meanwhile."""
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._load, name="edgevox-load", daemon=True).start()

    def _call_soon(self, func: Callable, *args) -> bool:
        """Run ``func`` on the event loop (from any thread); False once the loop is gone."""
        try:
            self._loop.call_soon_threadsafe(func, *args)
        except RuntimeError:
            return False
        return True

    def _load(self) -> None:
        """Load thread: build the agent and hand it to the loop."""
        from edgevox.runtime.build import build_agent, build_voice_or_none
        from edgevox.audio.sink import TranscriptSink

        started = time.monotonic()
        sink = None
        try:
            voice = build_voice_or_none(self.config, self.store)
            sink = TranscriptSink() if voice is None else ClientAudioSink(
                voice.sample_rate_hz, self._emit, block_ms=self.config.audio.output_block_ms)
            agent = build_agent(self.config, sink, tools=self.builtin_tools, store=self.store,
                                synthesizer=voice)
        except Exception as exc:
            if not isinstance(exc, EdgevoxError):
                log.exception("loading the agent failed")
            if sink is not None:
                sink.close()
            self._call_soon(self._load_failed, str(exc))
            return
        log.info("models loaded in %.1f s", time.monotonic() - started)
        if not self._call_soon(self._loaded, agent):
            agent.close()

    def _load_failed(self, message: str) -> None:
        log.error("the agent could not start: %s", message)
        self.state, self.error = "failed", message
        self._settled.set()

    def _loaded(self, agent) -> None:
        from edgevox.runtime.session import attach_oplog

        if self._closing:
            threading.Thread(target=agent.close, daemon=True).start()
            return
        self._subscription = agent.subscribe()
        self._pump = threading.Thread(target=self._pump_events, args=(self._subscription,),
                                      name="edgevox-events", daemon=True)
        self._pump.start()
        self._recorder = attach_oplog(agent, self.config, self.store)
        self.agent = agent.start()
        self.state = "ready"
        self._settled.set()
        if self.config.log.disclose_ai:
            _spawn(self._tasks, self._disclose())

    async def _disclose(self) -> None:
        """Say that the assistant is an AI, at the start of each session."""
        from edgevox.trust.marking import DISCLOSURE_VI

        try:
            await self.say(DISCLOSURE_VI)
        except EdgevoxError as exc:
            log.warning("AI disclosure not spoken: %s", exc)

    async def wait_ready(self) -> None:
        await self._settled.wait()
        self._agent()

    def _agent(self):
        if self.state == "loading":
            raise NotReadyError("the daemon is still loading its models; wait until GET "
                                "/health reports ready")
        if self.state == "failed":
            raise NotReadyError(f"the agent could not start: {self.error}")
        return self.agent

    # -- out to clients
    def _pump_events(self, subscription) -> None:
        """Event thread: forward every agent event to the loop."""
        for event in subscription:
            if not self._call_soon(self._on_event, event):
                return

    def _on_event(self, event) -> None:
        if event.type == "speaking_finished" and isinstance(self.agent.sink, ClientAudioSink):
            self.agent.sink.end_stream()  # scheduled, so it goes out before the event
        self._loop.call_soon(self.broadcast, event_message(event))

    def _emit(self, item: dict | bytes) -> None:
        """Sink thread: reply audio and its framing, to every client."""
        self._call_soon(self.broadcast, item)

    def broadcast(self, item: dict | bytes) -> None:
        for client in self.clients.values():
            client.send(item)

    # -- connections
    def connect(self, ws: web.WebSocketResponse) -> Client:
        self._client_count += 1
        client = Client(ws, self._client_count)
        self.clients[client.number] = client
        log.info("client %d connected (%d now)", client.number, len(self.clients))
        return client

    def disconnect(self, client: Client) -> None:
        """The socket closed: release what it held, so the next client finds the agent free."""
        client.closed = True
        self.clients.pop(client.number, None)
        if self._audio_owner is client:
            self._end_audio(client)  # a half-said request is finished, not left open
        for call_id, (owner, future) in list(self._calls.items()):
            if owner is client:
                self._settle(future, error=f"the app that answers {call_id} disconnected")
        log.info("client %d disconnected (%d left)", client.number, len(self.clients))

    def receive(self, client: Client, msg: WSMessage) -> None:
        """Act on one WebSocket message; bad input is answered with an error message."""
        request = None
        try:
            if msg.type == WSMsgType.BINARY:
                self.audio_frame(client, msg.data)
                return
            message = parse_client_message(msg.data)
            request = message.type
            self._dispatch(client, message)
        except EdgevoxError as exc:
            client.send(error_message(str(exc), request))

    def _dispatch(self, client: Client, message: ClientMessage) -> None:
        if isinstance(message, AudioStart):
            self.audio_start(client, message.sample_rate_hz)
        elif isinstance(message, AudioEnd):
            if client.audio is None:
                raise ProtocolError("audio_end without audio_start")
            self._end_audio(client)
        elif isinstance(message, ToolResultMessage):
            self.tool_result(client, message)
        elif isinstance(message, Interrupt):
            self._agent().interrupt(reason="client")
        else:  # slow requests: in order, off the reader, so tool results still get through
            _spawn(client.tasks, self._serially(client, message))

    async def _serially(self, client: Client, message: ClientMessage) -> None:
        async with client.serial:
            try:
                if isinstance(message, TextTurn):
                    client.send(accepted_message("text", await self.ask_text(message.text)))
                elif isinstance(message, Say):
                    client.send(accepted_message("say", await self.say(message.text)))
                elif isinstance(message, RegisterTools):
                    client.send(tools_registered_message(await self.register_tools(client,
                                                                                   message)))
                elif isinstance(message, NewSession):
                    self.new_session()
            except EdgevoxError as exc:
                client.send(error_message(str(exc), message.type))
            except Exception:
                log.exception("client %d: %s failed", client.number, message.type)
                client.send(error_message("internal error; see the daemon's log", message.type))

    # -- audio in
    def audio_start(self, client: Client, sample_rate_hz: int) -> None:
        self._agent()
        if self._audio_owner is not None and self._audio_owner is not client:
            raise ProtocolError("another client is streaming audio; only one audio stream "
                                "at a time")
        if client.audio is not None:
            raise ProtocolError("already streaming: send audio_end first")
        client.audio = AudioInput(sample_rate_hz)
        self._audio_owner = client

    def audio_frame(self, client: Client, data: bytes) -> None:
        if client.audio is None:
            raise ProtocolError("binary frames are audio: send audio_start first")
        for block in client.audio.blocks(data):
            self.agent.feed_audio(block)

    def _end_audio(self, client: Client) -> None:
        for block in client.audio.blocks(b"", last=True):
            self.agent.feed_audio(block)
        client.audio = None
        self._audio_owner = None
        self.agent.end_of_input()

    # -- turns
    async def _submit(self, start: Callable[[str], Any], text: str) -> int:
        self._agent()
        self._waiting_turns = [t for t in self._waiting_turns if not t.done.is_set()]
        if len(self._waiting_turns) + self._submitting >= MAX_WAITING_TURNS:
            raise BusyError(f"busy: {MAX_WAITING_TURNS} turns are already waiting; send the "
                            "next one after a speaking_finished event")
        self._submitting += 1
        try:  # the agent's queues block when full: never on the event loop
            turn = await asyncio.to_thread(start, text)
        finally:
            self._submitting -= 1
        self._waiting_turns.append(turn)
        return turn.turn_id

    async def ask_text(self, text: str) -> int:
        """Queue a typed request; returns its turn id."""
        return await self._submit(self._agent().ask_text, text)

    async def say(self, text: str) -> int:
        """Queue ``text`` to be spoken as its own turn; returns its turn id."""
        return await self._submit(self._agent().say, text)

    def new_session(self) -> None:
        self._agent().new_session()
        if self.config.log.disclose_ai:
            _spawn(self._tasks, self._disclose())

    # -- tools
    async def register_tools(self, client: Client, message: RegisterTools) -> list[str]:
        """Serve ``message``'s tools, answered by ``client``; returns the names now served."""
        from edgevox.tools.registry import ToolRegistry, tool_from_spec

        await self.wait_ready()
        key = json.dumps([message.tools, message.include_builtin], sort_keys=True) \
            if message.tools else _BUILTIN_TOOLS_KEY
        async with self._tools_lock:
            if key == self._registration.key:  # the same app again: keep the evaluated prompt
                self._registration.owner = client
                return list(self.agent.tools)
            registration = _Registration(key, client)
            tools = []
            for i, spec in enumerate(message.tools):
                tool = tool_from_spec(spec, f"tool #{i + 1}")
                tools.append(dataclasses.replace(tool, func=self._remote(registration,
                                                                          tool.name)))
            builtin = list(self.builtin_tools.values()) \
                if message.include_builtin or not tools else []
            registry = ToolRegistry([*builtin, *tools])
            log.info("client %d registers tools %s; re-reading the prompt", client.number,
                     ", ".join(registry))
            await asyncio.to_thread(self.agent.replace_tools, registry)
            self._registration = registration
            return list(registry)

    def _remote(self, registration: _Registration, name: str) -> Callable[..., Any]:
        """A tool function that asks the registering app to run the call and waits."""
        timeout_s = self.config.llm.tool_timeout_s

        def call(**args: Any) -> Any:  # a tool thread of the agent
            client = registration.owner
            if client is None or client.closed:
                raise ToolError(f"the app that registered {name} is not connected")
            call_id = uuid.uuid4().hex[:16]
            future: concurrent.futures.Future = concurrent.futures.Future()
            self._calls[call_id] = (client, future)
            try:
                if not self._call_soon(client.send, tool_call_message(call_id, name, args)):
                    raise ToolError("the daemon is stopping")
                return future.result(timeout=timeout_s)
            except concurrent.futures.TimeoutError:  # not yet the builtin on Python 3.10
                # The builtin, so the registry reports it as the timeout it is, whichever of
                # its own wait and this one ends first.
                raise TimeoutError(f"the app did not answer {name} within {timeout_s:g} s") \
                    from None
            finally:
                self._calls.pop(call_id, None)

        return call

    def tool_result(self, client: Client, message: ToolResultMessage) -> None:
        entry = self._calls.get(message.call_id)
        if entry is None or entry[0] is not client:
            raise ProtocolError(f"no tool call {message.call_id!r} is waiting for an answer "
                                "from this client (it may have timed out)")
        self._settle(entry[1], message.result, message.error)

    @staticmethod
    def _settle(future: concurrent.futures.Future, result: Any = None,
                error: str | None = None) -> None:
        try:
            if error is not None:
                future.set_exception(ToolError(error))
            else:
                future.set_result(result)
        except concurrent.futures.InvalidStateError:
            pass  # the caller gave up already (timeout)

    # -- reports
    def speech_output(self) -> str | None:
        if self.agent is None:
            return None
        return "text" if self.agent.synthesizer is None else "audio"

    def health(self) -> dict[str, Any]:
        out = {"ok": self.state == "ready", "status": self.state,
               "uptime_s": round(time.monotonic() - self.started_s, 1),
               "models_loaded": self.agent is not None, "speech_output": self.speech_output(),
               "clients": len(self.clients), "streaming_audio": self._audio_owner is not None}
        if self.error:
            out["error"] = self.error
        return out

    def info(self) -> dict[str, Any]:
        models = []
        for task, model_id in self.config.model_ids().items():
            try:
                entry = self.store.catalog.get(model_id)
            except EdgevoxError:
                models.append({"task": task, "id": model_id, "installed": False})
                continue
            models.append({"task": task, "id": model_id, "license": entry.license,
                           "commercial_use": entry.commercial_use,
                           "installed": self.store.is_ready(entry)})
        tools = self.agent.tools if self.agent is not None else self.builtin_tools
        voice = self.agent.synthesizer if self.agent is not None else None
        return {
            "version": __version__, "profile": self.config.profile, "status": self.state,
            "speech_output": self.speech_output(),
            "voice": {"id": self.config.tts.voice, "language": voice.language,
                      "sample_rate_hz": voice.sample_rate_hz} if voice else None,
            "input_sample_rate_hz": SAMPLE_RATE_HZ,
            "max_message_bytes": self.config.server.max_message_bytes,
            "models": models,
            "tools": [{"name": t.name, "description": t.description,
                       "source": "builtin" if self.builtin_tools.get(t.name) is t else "client"}
                      for t in tools.values()],
        }

    # -- shutdown
    async def close(self) -> None:
        """Stop the agent (a turn in flight is cancelled) and the threads around it."""
        self._closing = True
        for _, future in list(self._calls.values()):
            self._settle(future, error="the daemon is stopping")
        if self.agent is not None:
            await asyncio.to_thread(self._close_agent)
            log.info("agent closed")

    def _close_agent(self) -> None:
        self.agent.close()
        self._subscription.close()
        self._pump.join(timeout=SHUTDOWN_TIMEOUT_S)
        if self._recorder is not None:
            self._recorder.close()


# --- HTTP ------------------------------------------------------------------------------------

DAEMON = web.AppKey("daemon", Daemon)


@web.middleware
async def _json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Every failure is JSON ``{"error": "..."}`` with a 4xx/5xx status, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items()
                   if k.lower() not in ("content-type", "content-length")}
        return web.json_response({"error": exc.text or exc.reason}, status=exc.status,
                                 headers=headers)
    except NotReadyError as exc:
        return web.json_response({"error": str(exc)}, status=503)
    except BusyError as exc:
        return web.json_response({"error": str(exc)}, status=429)
    except EdgevoxError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error; see the daemon's log"}, status=500)


def _token_ok(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


@web.middleware
async def _authenticate(request: web.Request, handler) -> web.StreamResponse:
    """With a token configured, every request carries it: ``Authorization: Bearer <token>``,
    or ``?token=`` on the WebSocket upgrade (browsers cannot set headers there)."""
    expected = request.app[DAEMON].config.server.token
    if expected:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and _token_ok(expected, given.strip())
        if not ok and request.path == "/ws":
            ok = _token_ok(expected, request.query.get("token"))
        if not ok:
            raise web.HTTPUnauthorized(
                text="missing or wrong token: send 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": 'Bearer realm="edgevox"'})
    log.debug("%s %s", request.method, request.path)  # never the query: it may hold the token
    return await handler(request)


async def _health(request: web.Request) -> web.Response:
    body = request.app[DAEMON].health()
    return web.json_response(body, status=200 if body["ok"] else 503)


async def _info(request: web.Request) -> web.Response:
    return web.json_response(request.app[DAEMON].info())


async def _say(request: web.Request) -> web.Response:
    body = parse_say_request(await request.read())
    return web.json_response({"turn_id": await request.app[DAEMON].say(body.text)})


async def _new_session(request: web.Request) -> web.Response:
    request.app[DAEMON].new_session()
    return web.json_response({"ok": True})


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    daemon = request.app[DAEMON]
    limit = daemon.config.server.max_message_bytes
    ws = web.WebSocketResponse(max_msg_size=limit * HARD_LIMIT_FACTOR, heartbeat=WS_HEARTBEAT_S)
    await ws.prepare(request)
    client = daemon.connect(ws)
    writer = asyncio.create_task(client.write_loop())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:  # e.g. over the hard limit: aiohttp closed it
                log.info("client %d: connection closed: %s", client.number, msg.data)
                break
            size = len(msg.data) if msg.type == WSMsgType.BINARY else len(msg.data.encode())
            if size > limit:
                client.send(error_message(f"message of {size} bytes is over the limit of "
                                          f"{limit} bytes; send smaller messages"))
                continue
            try:
                daemon.receive(client, msg)
            except Exception:  # a bug must cost one message, not the connection
                log.exception("client %d: message failed", client.number)
                client.send(error_message("internal error; see the daemon's log"))
    finally:
        daemon.disconnect(client)
        writer.cancel()
    return ws


async def _close_clients(app: web.Application) -> None:
    for client in list(app[DAEMON].clients.values()):
        await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"daemon stopping")


async def _close_daemon(app: web.Application) -> None:
    await app[DAEMON].close()


def create_app(daemon: Daemon) -> web.Application:
    """The aiohttp application serving ``daemon``; closing the app closes the agent."""
    app = web.Application(middlewares=[_json_errors, _authenticate],
                          client_max_size=daemon.config.server.max_message_bytes)
    app[DAEMON] = daemon
    app.router.add_get("/health", _health)
    app.router.add_get("/info", _info)
    app.router.add_post("/say", _say)
    app.router.add_post("/session/new", _new_session)
    app.router.add_get("/ws", _websocket)
    app.on_shutdown.append(_close_clients)
    app.on_cleanup.append(_close_daemon)
    return app


# --- running ---------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose the agent to the network without a token."""
    if not token and not _is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host!r} without a token: anyone on the network could "
            "drive the assistant. Set server.token in edgevox.toml (or EDGEVOX_SERVER__TOKEN), "
            "or keep the default host 127.0.0.1")


def check_models(config: Config, store: ModelStore) -> None:
    """Fail at once, naming the pull command, when a model the agent needs is missing (rather
    than after the others took a minute to load)."""
    ids = [config.asr.model, config.llm.model]
    if config.vad.backend == "silero":
        ids.append(config.vad.model)
    if config.turn.smart_turn == "on":
        ids.append(config.turn.model)
    for model_id in ids:
        store.path(model_id)


async def run_daemon(daemon: Daemon, stop: asyncio.Event,
                     notifier: SystemdNotifier | None = None) -> None:
    """Serve until ``stop`` is set, then close every client and the agent."""
    server = daemon.config.server
    notifier = notifier or SystemdNotifier({})
    runner = web.AppRunner(create_app(daemon), handle_signals=False, access_log=None,
                           shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    watchdog = None
    try:
        try:
            await web.TCPSite(runner, server.host, server.port).start()
        except OSError as exc:
            raise EdgevoxError(f"cannot listen on {server.host}:{server.port}: "
                               f"{exc.strerror or exc}; is another edgevox running? choose "
                               "another port with --port") from None
        daemon.port = runner.addresses[0][1]
        log.info("serving on http://%s:%d (loading models)", server.host, daemon.port)
        notifier.notify("READY=1")
        watchdog = asyncio.create_task(notifier.watchdog())
        daemon.start_loading()
        await stop.wait()
        log.info("stopping")
        notifier.notify("STOPPING=1")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        await runner.cleanup()


def serve(config: Config, store: ModelStore | None = None) -> int:
    """`edgevox serve`: run the daemon until SIGTERM or Ctrl-C."""
    check_bind(config.server.host, config.server.token)
    store = store or ModelStore()
    check_models(config, store)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_daemon(Daemon(config, store), stop, SystemdNotifier())

    asyncio.run(main())
    return 0
