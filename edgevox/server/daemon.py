"""The daemon's lifecycle: one agent, loaded in the background, shared by every client.

The HTTP server answers as soon as its socket is bound (systemd hears ``READY=1`` then); the
models load on a background thread meanwhile, and ``GET /health`` says when they are ready or
why they failed. One agent serves everyone: one audio stream in at a time, events and reply
audio out to all (:mod:`edgevox.server.clients`), tools run by the kiosk app
(:mod:`edgevox.server.remote_tools`).

**The event loop never blocks**: ``/health`` and the systemd watchdog run on it, so a stalled
loop looks like a dead daemon and systemd restarts it. Threads and the loop meet in few, narrow
places. The agent's workers, the playback sink and tool calls run on their own threads;
everything they hand to clients crosses into the loop with ``loop.call_soon_threadsafe``, so the
loop alone owns the client list and the sockets. In the other direction the loop calls only the
agent methods that return at once whatever the agent is doing (``feed_audio``,
``end_of_input``, ``interrupt``, ``ask_text``, ``say``, ``new_session``: the agent takes control
signals out of band and refuses a turn it has no room for, never waiting on a full queue), and
anything slower (re-reading the prompt for new tools, loading, closing, reading the model store
for ``/info``) runs on a worker thread.

Reply audio comes straight from the sink thread while events pass through the event bus, so the
first audio frame may beat ``speaking_started``; but ``speaking_finished`` is forwarded only
after the last frame was scheduled, so a client always sees ``audio_out_end`` before it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from edgevox import __version__
from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.catalog import ModelStore
from edgevox.config import Config
from edgevox.errors import BusyError, EdgevoxError
from edgevox.events import Event, Subscription
from edgevox.server.clients import Client, ClientAudioSink, Clients, Outgoing
from edgevox.server.protocol import (
    NotReadyError,
    ProtocolError,
    RegisterTools,
    event_message,
)
from edgevox.server.remote_tools import RemoteTools
from edgevox.tools.home import home_tools

if TYPE_CHECKING:
    from edgevox.audio.sink import AudioSink
    from edgevox.runtime.agent import Agent, Turn
    from edgevox.runtime.session import TurnRecorder

log = logging.getLogger(__name__)

MAX_WAITING_TURNS = 3  # typed or `say` turns queued and not finished; more is "busy"
SHUTDOWN_TIMEOUT_S = 5.0


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


class Daemon:
    """Owns the agent and the connected clients. Methods run on the event loop unless their
    docstring names another thread."""

    def __init__(self, config: Config, store: ModelStore | None = None) -> None:
        self.config = config
        self.store = store or ModelStore()
        self.started_s = time.monotonic()
        self.state = "loading"  # -> "ready" | "failed"
        self.error: str | None = None
        self.agent: Agent | None = None
        self.port: int | None = None
        self.clients = Clients()
        self.tools = RemoteTools(home_tools(), config.llm.tool_timeout_s, self._call_soon)
        self._loop: asyncio.AbstractEventLoop  # set by start_loading, before any other thread
        self._settled = asyncio.Event()  # loading ended, either way
        self._waiting_turns: list[Turn] = []  # the API's turns: typed and `say`
        self._subscription: Subscription | None = None
        self._pump: threading.Thread | None = None
        self._recorder: TurnRecorder | None = None
        self._closing = False

    # -- loading
    def start_loading(self) -> None:
        """Load the models on a background thread; the API answers meanwhile."""
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._load, name="edgevox-load", daemon=True).start()

    def _call_soon(self, func: Callable[..., object], *args: object) -> bool:
        """Run ``func`` on the event loop (from any thread); False once the loop is gone."""
        try:
            self._loop.call_soon_threadsafe(func, *args)
        except RuntimeError:
            return False
        return True

    def _load(self) -> None:
        """Load thread: build the agent and its operational log, and hand them to the loop."""
        from edgevox.audio.sink import TranscriptSink
        from edgevox.runtime.build import build_agent, build_voice_or_none, echo_mode
        from edgevox.runtime.session import attach_oplog

        started = time.monotonic()
        sink: AudioSink | None = None
        agent: Agent | None = None
        try:
            voice = build_voice_or_none(self.config, self.store)
            sink = TranscriptSink() if voice is None else ClientAudioSink(
                voice.sample_rate_hz, self._emit, block_ms=self.config.audio.output_block_ms)
            # Clients play the replies, so they cancel the echo (or the config says off).
            agent = build_agent(self.config, sink, tools=self.tools.builtin, store=self.store,
                                synthesizer=voice, echo=echo_mode(self.config, loudspeaker=False))
            recorder = attach_oplog(agent, self.config, self.store)  # opens files: not on the loop
        except Exception as exc:
            if not isinstance(exc, EdgevoxError):
                log.exception("loading the agent failed")
            if agent is not None:
                agent.close()  # closes the sink too
            elif sink is not None:
                sink.close()
            self._call_soon(self._load_failed, str(exc))
            return
        log.info("models loaded in %.1f s", time.monotonic() - started)
        if not self._call_soon(self._loaded, agent, recorder):
            self._release(agent, recorder)

    @staticmethod
    def _release(agent: Agent, recorder: TurnRecorder | None) -> None:
        """Close an agent that was never served (any thread but the loop's: it joins)."""
        agent.close()
        if recorder is not None:
            recorder.close()

    def _load_failed(self, message: str) -> None:
        log.error("the agent could not start: %s", message)
        self.state, self.error = "failed", message
        self._settled.set()

    def _loaded(self, agent: Agent, recorder: TurnRecorder | None) -> None:
        if self._closing:
            threading.Thread(target=self._release, args=(agent, recorder), daemon=True).start()
            return
        self._recorder = recorder
        self._subscription = agent.subscribe()
        self._pump = threading.Thread(target=self._pump_events, args=(self._subscription,),
                                      name="edgevox-events", daemon=True)
        self._pump.start()
        self.agent = agent.start()
        self.state = "ready"
        self._settled.set()
        if self.config.log.disclose_ai:
            self._disclose()

    def _disclose(self) -> None:
        """Say that the assistant is an AI, at the start of each session. A barge-in does not
        cut it short (a client's interrupt still does): the person is owed the disclosure."""
        from edgevox.trust.marking import DISCLOSURE_VI

        try:
            self._submit(functools.partial(self._agent().say, interruptible=False),
                         DISCLOSURE_VI)
        except EdgevoxError as exc:
            log.warning("AI disclosure not spoken: %s", exc)

    async def wait_ready(self) -> Agent:
        await self._settled.wait()
        return self._agent()

    def _agent(self) -> Agent:
        """The agent, or the :class:`NotReadyError` a client gets while there is none."""
        if self.state == "loading":
            raise NotReadyError("the daemon is still loading its models; wait until GET "
                                "/health reports ready")
        if self.state == "failed" or self.agent is None:
            raise NotReadyError(f"the agent could not start: {self.error}")
        return self.agent

    # -- out to clients
    def _pump_events(self, subscription: Subscription) -> None:
        """Event thread: forward every agent event to the loop."""
        for event in subscription:
            if not self._call_soon(self._on_event, event):
                return

    def _on_event(self, event: Event) -> None:
        sink = self._agent().sink
        if event.type == "speaking_finished" and isinstance(sink, ClientAudioSink):
            sink.end_stream()  # scheduled, so it goes out before the event
        self._loop.call_soon(self.clients.broadcast, event_message(event))

    def _emit(self, item: Outgoing) -> None:
        """Sink thread: reply audio and its framing, to every client."""
        self._call_soon(self.clients.broadcast, item)

    # -- connections
    def disconnect(self, client: Client) -> None:
        """The socket closed: release what it held, so the next client finds the agent free."""
        if self.clients.audio_owner is client:
            self.audio_end(client)  # a half-said request is finished, not left open
        self.clients.disconnect(client)
        self.tools.client_gone(client)

    # -- audio in
    def audio_start(self, client: Client, sample_rate_hz: int) -> None:
        self._agent()
        self.clients.start_audio(client, sample_rate_hz)

    def audio_frame(self, client: Client, data: bytes) -> None:
        if client.audio is None:
            raise ProtocolError("binary frames are audio: send audio_start first")
        agent = self._agent()
        for block in client.audio.blocks(data):
            agent.feed_audio(block)

    def audio_end(self, client: Client) -> None:
        blocks = self.clients.end_audio(client)
        agent = self._agent()
        for block in blocks:
            agent.feed_audio(block)
        agent.end_of_input()

    # -- turns
    def _submit(self, start: Callable[[str], Turn], text: str) -> int:
        """Queue a typed or `say` turn. The daemon refuses one (BusyError) while
        :data:`MAX_WAITING_TURNS` of them are unfinished, the agent while its queue of turns
        of every kind is full. Returns at once: the agent never waits to queue a turn."""
        # The one place the daemon reads a turn's state.
        self._waiting_turns = [t for t in self._waiting_turns if not t.done.is_set()]
        if len(self._waiting_turns) >= MAX_WAITING_TURNS:
            raise BusyError(f"busy: {MAX_WAITING_TURNS} turns are already waiting; send the "
                            "next one after a speaking_finished event")
        turn = start(text)
        self._waiting_turns.append(turn)
        return turn.turn_id

    def ask_text(self, text: str) -> int:
        """Queue a typed request; returns its turn id."""
        return self._submit(self._agent().ask_text, text)

    def say(self, text: str) -> int:
        """Queue ``text`` to be spoken as its own turn; returns its turn id."""
        return self._submit(self._agent().say, text)

    def interrupt(self) -> None:
        self._agent().interrupt(reason="client")

    def new_session(self) -> None:
        self._agent().new_session()
        if self.config.log.disclose_ai:
            self._disclose()

    # -- tools
    async def register_tools(self, client: Client, message: RegisterTools) -> list[str]:
        """Serve ``message``'s tools, answered by ``client`` (waits for the models to load)."""
        return await self.tools.register(await self.wait_ready(), client, message)

    # -- reports
    def speech_output(self) -> str | None:
        if self.agent is None:
            return None
        return "text" if self.agent.synthesizer is None else "audio"

    def health(self) -> dict[str, Any]:
        out = {"ok": self.state == "ready", "status": self.state,
               "uptime_s": round(time.monotonic() - self.started_s, 1),
               "models_loaded": self.agent is not None, "speech_output": self.speech_output(),
               "clients": len(self.clients),
               "streaming_audio": self.clients.audio_owner is not None}
        if self.error:
            out["error"] = self.error
        return out

    def info(self) -> dict[str, Any]:
        """``GET /info``. Reads the model store's manifests: call it off the loop."""
        models: list[dict[str, Any]] = []
        for task, model_id in self.config.model_ids().items():
            try:
                entry = self.store.catalog.get(model_id)
            except EdgevoxError:
                models.append({"task": task, "id": model_id, "installed": False})
                continue
            models.append({"task": task, "id": model_id, "license": entry.license,
                           "commercial_use": entry.commercial_use,
                           "installed": self.store.is_ready(entry)})
        tools = self.agent.tools if self.agent is not None else self.tools.builtin
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
                       "source": self.tools.source(t)} for t in tools.values()],
        }

    # -- shutdown
    async def close(self) -> None:
        """Stop the agent (a turn in flight is cancelled) and the threads around it."""
        self._closing = True
        self.tools.fail_all("the daemon is stopping")
        if self.agent is not None:
            await asyncio.to_thread(self._close_agent, self.agent)
            log.info("agent closed")

    def _close_agent(self, agent: Agent) -> None:
        """Worker thread: the agent joins its workers, and the event pump drains."""
        agent.close()
        if self._subscription is not None:
            self._subscription.close()
        if self._pump is not None:
            self._pump.join(timeout=SHUTDOWN_TIMEOUT_S)
        if self._recorder is not None:
            self._recorder.close()
