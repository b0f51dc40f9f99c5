"""Running the agent in-process: a started agent with its sink and operational log, audio from
a file fed like a microphone, and the observers that sit outside the pipeline.

:class:`TurnRecorder` groups events by turn (for the operational log and for reports), so no
stage carries logging or timing code. What the CLI prints about a turn is in
:mod:`edgevox.console`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgevox.catalog import ModelStore
from edgevox.config import Config
from edgevox.events import Event, FinalTranscript

if TYPE_CHECKING:
    from edgevox.runtime.build import EchoMode

log = logging.getLogger(__name__)

TRAILING_SILENCE_S = 2.0  # after a file, so end of turn is decided by silence, as when live
COLLECT_TIMEOUT_S = 120.0


class TurnRecorder:
    """Collects each turn's events and hands a finished turn to ``on_turn``."""

    def __init__(self, subscription, on_turn: Callable[[list[Event]], None]) -> None:
        self._subscription = subscription
        self._on_turn = on_turn
        self._turns: dict[int, list[Event]] = {}
        self.thread = threading.Thread(target=self._run, name="edgevox-recorder", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for event in self._subscription:
            if event.turn_id == 0:
                continue
            self._turns.setdefault(event.turn_id, []).append(event)
            empty = event.type == "final_transcript" and not FinalTranscript.of(event).text.strip()
            if empty or event.type in ("echo", "backchannel"):
                del self._turns[event.turn_id]  # no turn came of it: nothing to record
            elif event.type == "speaking_finished":  # every turn ends with exactly one
                try:
                    self._on_turn(self._turns.pop(event.turn_id))
                except Exception:  # an observer must never break the agent
                    log.exception("turn observer failed")

    def close(self) -> None:
        self._subscription.close()
        self.thread.join(timeout=5)


def attach_oplog(agent, config: Config, store: ModelStore) -> TurnRecorder | None:
    """Write one operational-log line per finished turn, if the log is enabled."""
    if not config.log.enabled:
        return None
    from edgevox.trust.commands import default_log_dir
    from edgevox.trust.oplog import OperationalLog, model_fingerprints

    oplog = OperationalLog(config.log.dir or default_log_dir(), privacy=config.log.privacy,
                           max_bytes=config.log.max_bytes, keep_files=config.log.keep_files,
                           keep_days=config.log.keep_days)
    models = model_fingerprints(store, config.model_ids().values())

    def record(events: list[Event]) -> None:
        oplog.log_turn(events, models)

    return TurnRecorder(agent.subscribe(), record)


def _make_sink(config: Config, out: Path | None, synthesizer):
    """Where the reply goes: a marked WAV, the speaker, or text only when no voice exists."""
    from edgevox.audio.sink import SoundDeviceSink, TranscriptSink, WavFileSink
    from edgevox.trust.marking import speech_marker

    if synthesizer is None:
        return TranscriptSink()
    if out is not None:
        return WavFileSink(out, synthesizer.sample_rate_hz,
                           mark=speech_marker({"tts": config.tts.voice}))
    return SoundDeviceSink(synthesizer.sample_rate_hz, device=config.audio.output_device)


@contextlib.contextmanager
def running_agent(config: Config, sink: Any, synthesizer: Any, *, tools: Any = None,
                  store: ModelStore | None = None, echo: EchoMode = "external") -> Iterator:
    """A started agent on ``sink`` with the operational log attached; closed on exit."""
    from edgevox.runtime.build import build_agent

    store = store or ModelStore()
    agent = build_agent(config, sink, tools=tools, store=store, synthesizer=synthesizer,
                        echo=echo)
    recorder = attach_oplog(agent, config, store)
    try:
        with agent:
            yield agent
    finally:
        if recorder:
            recorder.close()


def agent_session(config: Config, out: Path | None, *, tools: Any = None,
                  text_only: bool = False, store: ModelStore | None = None):
    """A started agent replying into ``out`` (a marked WAV) or the speaker, with the
    operational log attached; text only when no voice for it is installed. Its input is a
    file or an app's audio, so it hears no echo of its replies (see
    :func:`~edgevox.runtime.build.echo_mode`)."""
    from edgevox.runtime.build import build_voice_or_none, echo_mode

    store = store or ModelStore()
    echo = echo_mode(config, loudspeaker=False)  # a bad setting fails before loading
    synthesizer = None if text_only else build_voice_or_none(config, store)
    return running_agent(config, _make_sink(config, out, synthesizer), synthesizer,
                         tools=tools, store=store, echo=echo)


def open_agent(config: Config | None = None, out: Path | None = None, *, tools=None):
    """The embedding entry point: a started agent on the default (or given) configuration,
    replying through the speaker, or into the WAV file ``out``."""
    from edgevox.config import load_config

    return agent_session(config or load_config(), out, tools=tools)


def collect_until_idle(agent, act: Callable[[], object]) -> list[Event]:
    subscription = agent.subscribe()
    act()
    agent.wait_idle(timeout_s=COLLECT_TIMEOUT_S)
    subscription.close()
    return list(subscription)


def play_file(agent, source, realtime: bool = True) -> list[Event]:
    """Feed a source's audio (then trailing silence) like a microphone; return the events."""

    def feed() -> None:
        silence = np.zeros(320, dtype=np.float32)
        blocks = [*source.blocks(), *[silence] * int(TRAILING_SILENCE_S * 50)]
        pace_from = time.monotonic()
        for index, block in enumerate(blocks):
            if realtime:
                time.sleep(max(0.0, pace_from + index * 0.02 - time.monotonic()))
            agent.feed_audio(block)
        agent.end_of_input()

    return collect_until_idle(agent, feed)
