"""One turn's events read once, into the figures people quote.

:class:`TurnTimeline` is the only definition of every per-turn figure: the agent asks it for
``speaking_started``'s ``latency_s``, and the CLI summary (``edgevox chat --json``, the demo),
the operational log and ``edgevox bench`` all read their figures from it, so the same turn gives
the same numbers everywhere. docs/benchmarks.md lists the same definitions.

Times are the events' monotonic timestamps, except the end-of-turn delay, which the listener
measures on the audio clock. A figure is None when the events that define it are absent (a
typed request has no end of turn; a text-only agent produces no audio), never a guess.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from edgevox.events import (
    EndOfTurn,
    Error,
    Event,
    FinalTranscript,
    Interrupted,
    LlmFirstToken,
    Payload,
    SpeakingFinished,
    SpeakingStarted,
    ToolCall,
    ToolReturned,
    TurnQueued,
)


@dataclass(frozen=True)
class ToolSpan:
    """One tool call paired with its result."""

    name: str
    arguments: dict[str, Any]
    started_t: float
    ended_t: float | None = None
    ok: bool | None = None
    result: Any = None
    error: str | None = None

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_t is None else max(0.0, self.ended_t - self.started_t)


class TurnTimeline:
    """The events of one turn (any order), and every figure derived from them."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.events: list[Event] = []
        self._first: dict[str, Event] = {}
        self._last: dict[str, Event] = {}
        for event in events:
            self.add(event)

    def add(self, event: Event) -> None:
        if self.events and event.turn_id != self.events[0].turn_id:
            raise ValueError(f"events of several turns given: {self.events[0].turn_id} and "
                             f"{event.turn_id}")
        if self.events and event.t < self.events[-1].t:  # handed over out of order
            bisect.insort(self.events, event, key=lambda e: e.t)
            self._first, self._last = {}, {}
            for known in self.events:
                self._index(known)
        else:
            self.events.append(event)
            self._index(event)

    def _index(self, event: Event) -> None:
        self._first.setdefault(event.type, event)
        self._last[event.type] = event

    @property
    def turn_id(self) -> int | None:
        return self.events[0].turn_id if self.events else None

    def first(self, kind: str) -> Event | None:
        return self._first.get(kind)

    def last(self, kind: str) -> Event | None:
        return self._last.get(kind)

    def _read(self, payload: type[Payload], name: str, *, last: bool = False) -> Any:
        """Field ``name`` of the first (or last) event of ``payload``'s type; None without one."""
        event = (self._last if last else self._first).get(payload.TYPE)
        return None if event is None else getattr(payload.of(event), name)

    # -- what happened
    @property
    def transcript(self) -> str | None:
        """The request: the final transcript, or the text of a typed request."""
        final: str | None = self._read(FinalTranscript, "text", last=True)
        typed = self.first("turn_queued")
        if final is None and typed is not None and TurnQueued.of(typed).source == "text":
            return TurnQueued.of(typed).text
        return final

    @property
    def reply(self) -> str | None:
        """What the person heard of the reply (the heard part, when it was interrupted)."""
        heard: str | None = self._read(Interrupted, "heard_text", last=True)
        spoken: str | None = self._read(SpeakingFinished, "text", last=True)
        return heard if heard is not None else spoken

    @property
    def interrupted(self) -> bool:
        return "interrupted" in self._first

    @property
    def resumed(self) -> bool:
        """Withdrawn because the person went on speaking: its words were answered in a later
        turn, so this one is no answer of its own."""
        return any(Interrupted.of(e).reason == "resumed" for e in self.events
                   if e.type == "interrupted")

    @property
    def answered(self) -> bool:
        finished = self.last("speaking_finished")
        return finished is not None and not SpeakingFinished.of(finished).interrupted

    @property
    def audio(self) -> bool:
        """Whether reply audio was produced (False: no reply yet, or a text-only agent)."""
        speaking = self.first("speaking_started")
        return speaking is not None and SpeakingStarted.of(speaking).audio

    @property
    def errors(self) -> list[Error]:
        return [Error.of(e) for e in self.events if e.type == "error"]

    def tool_spans(self) -> list[ToolSpan]:
        """Tool calls paired with their results: each result closes the oldest open call of its
        name (or of any name when the result names none); a result without its call is kept."""
        spans: list[ToolSpan] = []
        open_spans: list[int] = []
        for event in self.events:
            if event.type == "tool_call":
                call = ToolCall.of(event)
                spans.append(ToolSpan(str(call.name), dict(call.arguments or {}), event.t))
                open_spans.append(len(spans) - 1)
            elif event.type == "tool_result":
                done = ToolReturned.of(event)
                index = next((i for i in open_spans
                              if done.name is None or spans[i].name == done.name), None)
                if index is None:
                    spans.append(ToolSpan(str(done.name or ""), {}, event.t))
                    index = len(spans) - 1
                else:
                    open_spans.remove(index)
                ok = done.ok if isinstance(done.ok, bool) else done.error is None
                spans[index] = ToolSpan(spans[index].name, spans[index].arguments,
                                        spans[index].started_t, event.t, ok, done.result,
                                        None if done.error is None else str(done.error))
        return spans

    # -- the figures (seconds)
    @property
    def end_of_speech_t(self) -> float | None:
        """When the request ended: the person stopped talking (the end-of-turn decision less
        the silence it waited), or a typed request was accepted."""
        eot = self.first("end_of_turn")
        if eot is not None:
            return eot.t - EndOfTurn.of(eot).eot_delay_ms / 1000
        queued = self.first("turn_queued")
        if queued is not None and TurnQueued.of(queued).source == "text":
            return queued.t
        return None

    @property
    def eot_delay_s(self) -> float | None:
        """End of speech -> end-of-turn decision: the silence waited (audio clock)."""
        delay_ms = self._read(EndOfTurn, "eot_delay_ms")
        return None if delay_ms is None else delay_ms / 1000

    @property
    def asr_decode_s(self) -> float | None:
        """Recogniser time spent on the turn (streaming and final)."""
        decode_s: float | None = self._read(FinalTranscript, "decode_s", last=True)
        return decode_s

    @property
    def asr_finalize_s(self) -> float | None:
        """End-of-turn decision -> final transcript: the recogniser's own measure of it, or the
        gap between the two events where the listener did not measure it."""
        measured = self._read(FinalTranscript, "finalize_s", last=True)
        if measured is not None:
            return float(measured)
        eot, final = self.first("end_of_turn"), self.last("final_transcript")
        return None if eot is None or final is None else final.t - eot.t

    @property
    def heard_t(self) -> float | None:
        """When the request was ready for the LLM: its final transcript, or its acceptance."""
        ready = self.last("final_transcript") or self.first("end_of_turn")
        if ready is not None:
            return ready.t
        return self.end_of_speech_t

    @property
    def llm_first_output_s(self) -> float | None:
        """Request ready -> the first LLM output the agent acts on (first reply words, or the
        whole tool call). Includes any wait for the LLM behind an earlier turn."""
        token, ready = self.first("llm_first_token"), self.heard_t
        return None if token is None or ready is None else token.t - ready

    @property
    def llm_ttft_s(self) -> float | None:
        """The engine's own request -> first generated token."""
        ttft_s: float | None = self._read(LlmFirstToken, "ttft_s")
        return ttft_s

    @property
    def tts_first_audio_s(self) -> float | None:
        """Synthesis of the first clause -> its audio ready to play (None without audio)."""
        speaking = self.first("speaking_started")
        if speaking is None or not self.audio:
            return None
        return SpeakingStarted.of(speaking).tts_first_audio_s

    @property
    def first_clause_s(self) -> float | None:
        """First LLM output -> first clause handed to TTS (for a tool call: running the tool)."""
        token, speaking = self.first("llm_first_token"), self.first("speaking_started")
        if token is None or speaking is None:
            return None
        return speaking.t - (self.tts_first_audio_s or 0.0) - token.t

    def response_s(self, now_t: float | None = None) -> float | None:
        """End of speech (or of a typed request) -> the first reply going out, audio or text.

        ``now_t`` stands in for ``speaking_started``'s time while that event is being made."""
        speaking = self.first("speaking_started")
        at = now_t if now_t is not None else speaking.t if speaking is not None else None
        start = self.end_of_speech_t
        return None if at is None or start is None else at - start

    @property
    def voice_to_voice_s(self) -> float | None:
        """End of user speech -> first reply audio ready to play. Only for a spoken request
        answered with audio."""
        if not self.audio or self.first("end_of_turn") is None:
            return None
        return self.response_s()

    @property
    def tools_s(self) -> float | None:
        spans = self.tool_spans()
        return sum(s.duration_s or 0.0 for s in spans) if spans else None

    @property
    def speaking_s(self) -> float | None:
        """First reply out -> the reply stopped (played out or interrupted)."""
        speaking = self.first("speaking_started")
        stopped = self.last("interrupted") or self.last("speaking_finished")
        return None if speaking is None or stopped is None else stopped.t - speaking.t

    @property
    def duration_s(self) -> float:
        return self.events[-1].t - self.events[0].t if self.events else 0.0

    BREAKDOWN = ("eot_delay_s", "asr_finalize_s", "llm_first_output_s", "first_clause_s",
                 "tts_first_audio_s")
    """The consecutive parts of voice-to-voice latency, in the order they happen; they add up
    to :attr:`voice_to_voice_s`."""

    def breakdown(self) -> dict[str, float] | None:
        """Voice to voice and its parts, or None unless the turn was spoken and answered with
        audio."""
        total = self.voice_to_voice_s
        parts = {name: getattr(self, name) for name in self.BREAKDOWN}
        if total is None or any(value is None for value in parts.values()):
            return None
        return {"voice_to_voice_s": total, **parts}


def split_turns(events: Iterable[Event]) -> dict[int, TurnTimeline]:
    """Events of many turns -> one timeline per turn id (turn 0, the agent's own, is left out)."""
    timelines: dict[int, TurnTimeline] = {}
    for event in events:
        if event.turn_id:
            timelines.setdefault(event.turn_id, TurnTimeline()).add(event)
    return timelines
