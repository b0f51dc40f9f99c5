"""What the terminal commands that run the agent print: `chat`, `demo` and `run`.

A turn's figures come from its :class:`~edgevox.runtime.timeline.TurnTimeline`, the same reading
the operational log and ``edgevox bench`` use; this module only chooses words and formats.
Nothing is printed for what did not happen: a text-only agent's latency is "to first reply
text", and a figure whose events are missing shows as ``-``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgevox.catalog import ModelStore
from edgevox.config import Config
from edgevox.errors import EdgevoxError
from edgevox.events import Event
from edgevox.runtime.build import echo_mode
from edgevox.runtime.session import agent_session, collect_until_idle, play_file, running_agent
from edgevox.runtime.timeline import TurnTimeline, split_turns
from edgevox.trust.marking import DISCLOSURE_VI

if TYPE_CHECKING:
    from edgevox.audio.duplex import DuplexDevice
    from edgevox.runtime.build import EchoMode

LIVE_EVENTS = ("final_transcript", "tool_call", "speaking_started", "speaking_finished",
               "interrupted", "error")


def answered_timeline(events: list[Event]) -> TurnTimeline:
    """The turn that was answered (a request resumed after a pause spans several listener
    turns, the earlier ones withdrawn); the last turn when none was answered."""
    timelines = list(split_turns(events).values())
    answered = [t for t in timelines if t.answered]
    return (answered or timelines or [TurnTimeline()])[-1]


def turn_summary(timeline: TurnTimeline) -> dict[str, Any]:
    """The figures a person asks for: what was heard, done and said, and how fast."""
    spans = timeline.tool_spans()
    return {
        "turn_id": timeline.turn_id,
        "transcript": timeline.transcript,
        "tool_call": {"name": spans[0].name, "args": spans[0].arguments} if spans else None,
        "reply": timeline.reply,
        "audio": timeline.audio,
        "latency_s": timeline.response_s(),
        "voice_to_voice_s": timeline.voice_to_voice_s,
        "eot_delay_ms": None if timeline.eot_delay_s is None
        else round(timeline.eot_delay_s * 1000),
        "asr_finalize_s": timeline.asr_finalize_s,
        "llm_first_output_s": timeline.llm_first_output_s,
        "llm_ttft_s": timeline.llm_ttft_s,
        "first_clause_s": timeline.first_clause_s,
        "tts_first_audio_s": timeline.tts_first_audio_s,
        "errors": [{"stage": e.stage, "message": e.message} for e in timeline.errors],
    }


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    lines = [f"heard:     {summary['transcript']}"]
    if summary["tool_call"]:
        lines.append(f"tool call: {json.dumps(summary['tool_call'], ensure_ascii=False)}")
    lines.append(f"reply:     {summary['reply']}")
    if summary["latency_s"] is not None:
        eot_ms = summary["eot_delay_ms"]
        parts = [("end of turn", None if eot_ms is None else f"{eot_ms} ms"),
                 ("ASR final", summary["asr_finalize_s"]),
                 ("LLM first output", summary["llm_first_output_s"]),
                 ("LLM first token", summary["llm_ttft_s"]),
                 ("first clause", summary["first_clause_s"]),
                 ("TTS first audio", summary["tts_first_audio_s"])]
        shown = ", ".join(f"{label} {value if isinstance(value, str) else _seconds(value)}"
                          for label, value in parts if value is not None)
        start = "end of speech" if eot_ms is not None else "the request"
        to = "first reply audio" if summary["audio"] else "first reply text (speech output off)"
        lines.append(f"latency:   {_seconds(summary['latency_s'])} from {start} to {to} "
                     f"({shown})")
    lines += [f"error:     {error}" for error in summary["errors"]]
    return lines


def report_turn(events: list[Event], print_json: bool) -> bool:
    """Print the events (with ``--json``) and the answered turn's summary; True if no error."""
    summary = turn_summary(answered_timeline(events))
    if print_json:
        start = events[0].t if events else 0.0
        for event in events:
            print(json.dumps({**event.to_json(), "t": round(event.t - start, 4)},
                             ensure_ascii=False))
        print(json.dumps({"type": "summary", **summary}, ensure_ascii=False))
    else:
        print("\n".join(summary_lines(summary)))
    return not any(e.type == "error" for e in events)


def run_file_turn(config: Config, wav: Path, out: Path | None, *, tools: Any = None,
                  realtime: bool = True, print_json: bool = False) -> bool:
    """`edgevox chat`: one WAV through a fresh agent at real-time pace, events reported."""
    from edgevox.audio.source import WavFileSource

    source = WavFileSource(wav, block_ms=20)  # a bad file fails before models load
    with agent_session(config, out, tools=tools) as agent:
        return report_turn(play_file(agent, source, realtime), print_json)


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
        report_turn(collect_until_idle(agent, lambda: agent.ask_text(request)),
                    print_json=False)
        spoke = agent.synthesizer is not None
    if spoke:
        print(f"\nreply audio: {out} (marked as AI-generated; sidecar {out}.json)")
    return 0


def run_live(config: Config, tools: Any = None) -> int:
    """`edgevox run`: microphone in, speaker out, until Ctrl-C; prints the main events as JSON.

    With ``audio.echo_cancellation = "on"`` both go through one duplex stream with the echo
    canceller (full duplex, barge-in); otherwise two streams and, with a loudspeaker, a
    half-duplex agent (see :func:`~edgevox.runtime.build.echo_mode`).
    """
    from edgevox.runtime.build import build_voice_or_none

    store = ModelStore()
    synthesizer = build_voice_or_none(config, store)
    with live_audio(config, synthesizer) as (sink, echo, start):
        try:
            with running_agent(config, sink, synthesizer, tools=tools, store=store,
                               echo=echo) as agent:
                subscription = agent.subscribe()
                if config.log.disclose_ai:
                    agent.say(DISCLOSURE_VI, interruptible=False)  # a barge-in spares it
                start(agent.feed_audio)
                print(f"listening, echo cancellation {echo} (Ctrl-C to stop)", file=sys.stderr)
                for event in subscription:
                    if event.type in LIVE_EVENTS:
                        print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)
        except KeyboardInterrupt:
            pass
    return 0


@contextlib.contextmanager
def live_audio(config: Config, synthesizer: Any) -> Iterator[tuple[Any, EchoMode, Any]]:
    """The speaker sink, the echo mode it allows, and ``start(feed)`` to begin capture: one
    duplex stream with the canceller for ``on``, else separate streams (text only, without a
    voice, needs no canceller: nothing sounds)."""
    from edgevox.audio.sink import SoundDeviceSink, TranscriptSink
    from edgevox.audio.source import MicrophoneSource

    if synthesizer is not None and config.audio.echo_cancellation == "on":
        try:
            device = _duplex_device(config, synthesizer.sample_rate_hz)
        except EdgevoxError as exc:  # no duplex, no such rate, no canceller: still a working agent
            print(f"warning: {exc}; going on half duplex (no barge-in)", file=sys.stderr)
            audio = config.audio.model_copy(update={"echo_cancellation": "off"})
            config = config.model_copy(update={"audio": audio})
        else:
            try:
                yield device, echo_mode(config, loudspeaker=True, canceller=True), device.start
            finally:
                device.close()
            return
    microphone = MicrophoneSource(config.audio.input_device)  # no device: fail before loading
    sink = TranscriptSink() if synthesizer is None else SoundDeviceSink(
        synthesizer.sample_rate_hz, device=config.audio.output_device)
    echo = echo_mode(config, loudspeaker=synthesizer is not None)

    def start(feed: Any) -> None:
        threading.Thread(target=lambda: [feed(b) for b in microphone.blocks()],
                         name="edgevox-microphone", daemon=True).start()

    try:
        yield sink, echo, start
    finally:
        microphone.close()


def _duplex_device(config: Config, sample_rate_hz: int) -> DuplexDevice:
    """Speaker and microphone on one stream, with the echo canceller (AudioError if either
    cannot be had)."""
    from edgevox.audio.duplex import DuplexDevice
    from edgevox.audio.echo import load_echo_canceller

    canceller = load_echo_canceller()
    try:
        return DuplexDevice(sample_rate_hz, canceller=canceller,
                            input_device=config.audio.input_device,
                            output_device=config.audio.output_device,
                            block_ms=config.audio.output_block_ms)
    except EdgevoxError:
        canceller.close()
        raise
