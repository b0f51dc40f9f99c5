"""The one event type that flows through edgevox, its typed payloads, and the bus that carries it.

Stages, the daemon's event stream, the operational log and the benchmark all speak in
:class:`Event`: a type from :data:`EVENT_TYPES`, the turn it belongs to, a monotonic timestamp and
a small JSON-able payload. Keeping a single shape means an observer (logger, metrics, WebSocket
client) can follow a whole turn without knowing any stage's internals.

The events that carry figures have a typed payload (a frozen dataclass, like wyoming's
``Eventable``): a stage builds ``EndOfTurn(...).event(turn_id)``, a reader takes
``EndOfTurn.of(event)``, and nobody indexes ``event.data`` by string. ``of`` is lenient (a
field missing from the data reads as its default), so records and test sequences written by
hand, or by an older edgevox, still read. :class:`~edgevox.runtime.timeline.TurnTimeline` turns
one turn's events into its figures.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from edgevox.queues import put_dropping_oldest

EVENT_TYPES = (
    "listening",
    "speech_started",
    "partial_transcript",
    "end_of_turn",
    "final_transcript",
    "backchannel",
    "echo",
    "paused",
    "resumed",
    "turn_queued",
    "llm_first_token",
    "confirming",
    "tool_call",
    "tool_result",
    "speaking_started",
    "interrupted",
    "speaking_finished",
    "error",
)


@dataclass(frozen=True)
class Event:
    """Something that happened in turn ``turn_id`` at monotonic time ``t`` (seconds)."""

    type: str
    turn_id: int
    data: dict[str, Any] = field(default_factory=dict)
    t: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "turn_id": self.turn_id, "t": round(self.t, 4), **self.data}


P = TypeVar("P", bound="Payload")


@dataclass(frozen=True)
class Payload:
    """The typed data of one kind of event. Subclasses name their event type in ``TYPE``."""

    TYPE: ClassVar[str]

    def event(self, turn_id: int, t: float | None = None) -> Event:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return Event(self.TYPE, turn_id, data, time.monotonic() if t is None else t)

    @classmethod
    def of(cls: type[P], event: Event) -> P:
        """The payload of ``event`` (which must be of this type); absent fields read as their
        defaults."""
        if event.type != cls.TYPE:
            raise ValueError(f"a {event.type} event is not a {cls.TYPE}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in event.data.items() if k in known})


@dataclass(frozen=True)
class SpeechStarted(Payload):
    """The VAD heard enough speech to open a turn."""

    TYPE: ClassVar[str] = "speech_started"
    preroll_ms: float = 0.0
    """Audio from before the onset kept in the turn (the VAD's pad)."""


@dataclass(frozen=True)
class PartialTranscript(Payload):
    """The streaming recogniser's hypothesis changed."""

    TYPE: ClassVar[str] = "partial_transcript"
    text: str = ""
    audio_s: float = 0.0
    """Seconds of the turn's audio heard when this hypothesis was made."""


@dataclass(frozen=True)
class EndOfTurn(Payload):
    """The person stopped talking and the turn was judged complete."""

    TYPE: ClassVar[str] = "end_of_turn"
    eot_delay_ms: float = 0.0
    """Silence waited before deciding, on the audio clock (so reproducible from a file)."""
    reason: str | None = None
    """What decided: ``smart_turn``, ``hangover``, ``max_silence`` or ``end_of_input``."""
    probability_complete: float | None = None


@dataclass(frozen=True)
class FinalTranscript(Payload):
    """What the person said in this turn."""

    TYPE: ClassVar[str] = "final_transcript"
    text: str = ""
    """The request: with the words of turns it resumed leading (see ``segment_text``)."""
    audio_s: float | None = None
    decode_s: float | None = None
    """Recogniser time spent on this turn, streaming and final."""
    finalize_s: float | None = None
    """Recogniser time from the end-of-turn decision to the final text."""
    partials: list[str] = field(default_factory=list)
    segment_text: str | None = None
    """What this turn's audio alone said, when earlier words were resumed into ``text``."""


@dataclass(frozen=True)
class Backchannel(Payload):
    """The person said "ừ", "dạ", "vâng"... while the agent spoke: agreement, not a request.
    The agent keeps talking and the words become no turn."""

    TYPE: ClassVar[str] = "backchannel"
    text: str = ""


@dataclass(frozen=True)
class Echo(Payload):
    """What the listener heard while the agent spoke was the agent's own voice: no turn."""

    TYPE: ClassVar[str] = "echo"
    text: str = ""


@dataclass(frozen=True)
class Paused(Payload):
    """Speech was heard over the reply: playback is paused while the agent judges it (see
    :class:`~edgevox.runtime.floor.Floor`). Carries the speaking turn's id; a ``resumed`` or
    an ``interrupted`` follows."""

    TYPE: ClassVar[str] = "paused"
    voiced_ms: float = 0.0
    """How much speech over the reply had been heard when it paused."""


@dataclass(frozen=True)
class Resumed(Payload):
    """The speech over the reply was its echo, a backchannel or nothing: it plays on."""

    TYPE: ClassVar[str] = "resumed"
    paused_s: float = 0.0


@dataclass(frozen=True)
class TurnQueued(Payload):
    """The agent accepted a turn: a spoken request, a typed one, or text to say."""

    TYPE: ClassVar[str] = "turn_queued"
    source: str = "speech"
    """``speech``, ``text`` or ``say``."""
    text: str = ""
    """The request as heard or typed, or the text a ``say`` turn speaks."""


@dataclass(frozen=True)
class LlmFirstToken(Payload):
    """The first LLM output the agent acts on: the first reply words, or a complete tool call."""

    TYPE: ClassVar[str] = "llm_first_token"
    ttft_s: float | None = None
    """The engine's own time from the request to its first generated token."""


@dataclass(frozen=True)
class Confirming(Payload):
    """The agent asks before calling a tool ("… phải không?"); nothing has run. The call is
    made only if the person's next turn says yes, within a short time."""

    TYPE: ClassVar[str] = "confirming"
    name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    """Why it asks: the model was unsure, an argument looked wrong, or the tool always asks."""


@dataclass(frozen=True)
class ToolCall(Payload):
    """The agent is running a tool (the action is under way: it is not taken back)."""

    TYPE: ClassVar[str] = "tool_call"
    name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolReturned(Payload):
    """A tool finished, failed or timed out."""

    TYPE: ClassVar[str] = "tool_result"
    name: str | None = None
    ok: bool | None = None
    result: Any = None
    error: str | None = None


@dataclass(frozen=True)
class SpeakingStarted(Payload):
    """The first clause of the reply is ready and goes out."""

    TYPE: ClassVar[str] = "speaking_started"
    text: str = ""
    """The first clause."""
    audio: bool = True
    """False when the agent has no voice and the reply goes out as text only."""
    latency_s: float | None = None
    """End of speech (or of a typed request) -> this moment; see
    :attr:`~edgevox.runtime.timeline.TurnTimeline.response_s`."""
    tts_first_audio_s: float | None = None
    """Synthesis time of the first clause; None without audio."""


@dataclass(frozen=True)
class Interrupted(Payload):
    """The turn was cancelled: barge-in, a client's stop, shutdown, or resumed speech."""

    TYPE: ClassVar[str] = "interrupted"
    heard_text: str = ""
    """What the person heard of the reply before it stopped."""
    reason: str = "barge_in"
    """``barge_in``, ``client`` (an app's stop), ``shutdown``, or ``resumed`` (withdrawn: the
    person went on speaking before any reply, and the next turn answers the whole request)."""


@dataclass(frozen=True)
class SpeakingFinished(Payload):
    """The turn is over. Every turn ends with exactly one of these, even one that never spoke."""

    TYPE: ClassVar[str] = "speaking_finished"
    text: str = ""
    """What the person heard of the reply."""
    interrupted: bool = False
    """True when the turn was cancelled or withdrawn before it played out."""


@dataclass(frozen=True)
class Error(Payload):
    """A stage failed; for a turn, the agent apologises and goes on."""

    TYPE: ClassVar[str] = "error"
    stage: str | None = None
    message: str = ""


# --------------------------------------------------------------------------------------------
# Carrying events to observers


class EventBus:
    """Fans events out to subscribers. A slow subscriber loses its oldest events; a stage never
    waits for an observer."""

    def __init__(self) -> None:
        self._subscribers: list[queue.Queue[Event | None]] = []
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            put_dropping_oldest(q, event)

    def subscribe(self, maxsize: int = 1024) -> Subscription:
        q: queue.Queue[Event | None] = queue.Queue(maxsize)
        with self._lock:
            self._subscribers.append(q)
        return Subscription(self, q)

    def _remove(self, q: queue.Queue[Event | None]) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)


class Subscription:
    """An observer's view of the event stream; iterate, or :meth:`get` with a timeout."""

    def __init__(self, bus: EventBus, q: queue.Queue[Event | None]) -> None:
        self._bus, self._queue = bus, q

    def get(self, timeout_s: float | None = None) -> Event | None:
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def __iter__(self) -> Iterator[Event]:
        while (event := self._queue.get()) is not None:
            yield event

    def close(self) -> None:
        self._bus._remove(self._queue)
        put_dropping_oldest(self._queue, None)  # never blocks, and the end always arrives
