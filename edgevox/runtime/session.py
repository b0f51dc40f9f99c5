"""Ways to run the agent: one turn from a file (`chat`), the live loop (`run`), the demo.

Also the observers that sit outside the pipeline: :class:`TurnRecorder` groups events by turn
(for the operational log and for reports), so no stage carries logging or timing code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgevox.catalog import ModelStore
from edgevox.config import Config
from edgevox.events import Event

log = logging.getLogger(__name__)

TRAILING_SILENCE_S = 2.0  # after a file, so end of turn is decided by silence, as when live


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
            if event.type in ("speaking_finished", "error"):
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
    return TurnRecorder(agent.subscribe(), lambda events: oplog.log_turn(events, models))


def _make_sink(config: Config, out: Path | None, synthesizer):
    """Where the reply goes: a marked WAV, the speaker, or text only when no voice exists."""
    from edgevox.audio.sink import SoundDeviceSink, TranscriptSink, WavFileSink

    if synthesizer is None:
        return TranscriptSink()
    if out is not None:
        return WavFileSink(out, synthesizer.sample_rate_hz, model_ids={"tts": config.tts.voice})
    return SoundDeviceSink(synthesizer.sample_rate_hz, device=config.audio.output_device)


@dataclass
class TurnReport:
    ok: bool
    events: list[Event] = field(default_factory=list)

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.type == kind), None)


@contextlib.contextmanager
def agent_session(config: Config, out: Path | None, *, tools=None, text_only: bool = False,
                  store: ModelStore | None = None) -> Iterator:
    """A started agent replying into ``out`` (a marked WAV) or the speaker, with the
    operational log attached; text only when no voice for it is installed."""
    from edgevox.runtime.build import build_agent, build_voice_or_none

    store = store or ModelStore()
    synthesizer = None if text_only else build_voice_or_none(config, store)
    sink = _make_sink(config, out, synthesizer)
    agent = build_agent(config, sink, tools=tools, store=store, synthesizer=synthesizer)
    recorder = attach_oplog(agent, config, store)
    try:
        with agent:
            yield agent
    finally:
        if recorder:
            recorder.close()


def open_agent(config: Config | None = None, out: Path | None = None, *, tools=None):
    """The embedding entry point: a started agent on the default (or given) configuration,
    replying through the speaker, or into the WAV file ``out``."""
    from edgevox.config import load_config

    return agent_session(config or load_config(), out, tools=tools)


def _collect_until_idle(agent, act: Callable[[], object]) -> list[Event]:
    subscription = agent.subscribe()
    act()
    agent.wait_idle(timeout_s=120)
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

    return _collect_until_idle(agent, feed)


def report_turn(events: list[Event], print_json: bool) -> TurnReport:
    report = TurnReport(ok=not any(e.type == "error" for e in events), events=events)
    summary = turn_summary(report)
    if print_json:
        start = events[0].t if events else 0.0
        for event in events:
            print(json.dumps({**event.to_json(), "t": round(event.t - start, 4)},
                             ensure_ascii=False))
        print(json.dumps({"type": "summary", **summary}, ensure_ascii=False))
    else:
        print_summary(summary)
    return report


def run_file_turn(config: Config, wav: Path, out: Path | None, *, tools=None,
                  realtime: bool = True, print_json: bool = False) -> TurnReport:
    """`edgevox chat`: one WAV through a fresh agent at real-time pace, events reported."""
    from edgevox.audio.source import WavFileSource

    source = WavFileSource(wav, block_ms=20)  # a bad file fails before models load
    with agent_session(config, out, tools=tools) as agent:
        return report_turn(play_file(agent, source, realtime), print_json)


def turn_summary(report: TurnReport) -> dict:
    """The figures a person asks for: what was heard, done and said, and how fast, for the turn
    that was answered (a request resumed after a pause spans several listener turns)."""
    answered = [e.turn_id for e in report.events
                if e.type == "speaking_finished" and not e.data["interrupted"]]
    turn = TurnReport(report.ok, [e for e in report.events
                                  if not answered or e.turn_id == answered[-1]])
    final = turn.first("final_transcript")
    eot = turn.first("end_of_turn")
    call = turn.first("tool_call")
    speaking = turn.first("speaking_started")
    finished = turn.first("speaking_finished")
    return {
        "transcript": final.data["text"] if final else None,
        "tool_call": {"name": call.data["name"], "args": call.data["arguments"]} if call
        else None,
        "reply": finished.data["text"] if finished else None,
        "latency_s": speaking.data.get("latency_s") if speaking else None,
        "eot_delay_ms": eot.data["eot_delay_ms"] if eot else None,
        "asr_finalize_s": final.data.get("finalize_s") if final else None,
        "llm_ttft_s": speaking.data.get("llm_ttft_s") if speaking else None,
        "tts_first_audio_s": speaking.data.get("tts_first_audio_s") if speaking else None,
        "errors": [e.data for e in report.events if e.type == "error"],
    }


def print_summary(summary: dict) -> None:
    def fmt(value, unit="s"):
        return "-" if value is None else f"{value:.3f} {unit}" if unit == "s" else f"{value} ms"

    print(f"heard:     {summary['transcript']}")
    if summary["tool_call"]:
        print(f"tool call: {json.dumps(summary['tool_call'], ensure_ascii=False)}")
    print(f"reply:     {summary['reply']}")
    print(f"latency:   {fmt(summary['latency_s'])} from end of speech to first reply audio "
          f"(end of turn {fmt(summary['eot_delay_ms'], 'ms')}, ASR final "
          f"{fmt(summary['asr_finalize_s'])}, LLM first token {fmt(summary['llm_ttft_s'])}, "
          f"TTS first audio {fmt(summary['tts_first_audio_s'])})")
    for error in summary["errors"]:
        print(f"error:     {error}")


def run_demo(config: Config, out: Path) -> int:
    """The README's main command: a real Vietnamese recording through the whole agent, then a
    typed request that exercises a tool call, in one session."""
    from edgevox.audio.source import WavFileSource

    store = ModelStore()
    sample = store.path("sample-vi-speech") / "sample.wav"
    with agent_session(config, out, store=store) as agent:
        print(f"== spoken turn: {sample.name} (a real Southern Vietnamese recording)")
        report_turn(play_file(agent, WavFileSource(sample, block_ms=20)), print_json=False)
        request = "hẹn giờ mười lăm phút"
        print(f"\n== typed request (the demo bundles no spoken command): '{request}'")
        report_turn(_collect_until_idle(agent, lambda: agent.ask_text(request)),
                    print_json=False)
        spoke = agent.synthesizer is not None
    if spoke:
        print(f"\nreply audio: {out} (marked as AI-generated; sidecar {out}.json)")
    return 0


def run_live(config: Config, tools=None) -> int:
    """Microphone in, speaker out, until Ctrl-C."""
    from edgevox.audio.source import MicrophoneSource
    from edgevox.trust.marking import DISCLOSURE_VI

    microphone = MicrophoneSource(config.audio.input_device)  # no device: fail before loading
    try:
        with agent_session(config, None, tools=tools) as agent:
            subscription = agent.subscribe()
            if config.log.disclose_ai:
                agent.say(DISCLOSURE_VI)
            threading.Thread(target=lambda: [agent.feed_audio(b) for b in microphone.blocks()],
                             name="edgevox-microphone", daemon=True).start()
            print("listening (Ctrl-C to stop)", file=sys.stderr)
            for event in subscription:
                if event.type in ("final_transcript", "tool_call", "speaking_started",
                                  "speaking_finished", "interrupted", "error"):
                    print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        microphone.close()
    return 0
