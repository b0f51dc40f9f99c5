"""The turn handle: one exchange's state, under one lock, and the one counter of turn ids.

A :class:`Turn` moves ``queued -> thinking -> acted -> speaking -> done``; it may leave that path
for ``cancelled`` (barge-in, a client's stop, shutdown) or ``withdrawn`` (the person went on
speaking before any reply, so the request continues in the next turn). ``acted`` means a tool
ran: from there the request has had an effect and can no longer be withdrawn, like pipecat's
uninterruptible frames. Whatever the path, :meth:`Turn.finish` ends a turn exactly once; its
timeline (every event the turn published) is the one record of what happened and when.
"""

from __future__ import annotations

import enum
import itertools
import threading
from dataclasses import dataclass

from edgevox.events import Event
from edgevox.runtime.timeline import TurnTimeline


class TurnIds:
    """Turn ids for everything that opens a turn (listener segments, typed requests, ``say``):
    one counter, so no two turns of an agent ever share an id. Thread-safe."""

    def __init__(self, first: int = 1) -> None:
        self._counter = itertools.count(first)
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._counter)


class TurnState(enum.Enum):
    QUEUED = "queued"
    THINKING = "thinking"
    ACTED = "acted"
    SPEAKING = "speaking"
    DONE = "done"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"


_STOPPED = (TurnState.DONE, TurnState.CANCELLED, TurnState.WITHDRAWN)


@dataclass
class Turn:
    """One exchange: what the person said, where it stands, and what they heard of the reply.

    ``cancel`` and ``done`` are events others may wait on (generation checks ``cancel`` between
    tokens); only the methods below change them, under the turn's lock.
    """

    turn_id: int
    user_text: str
    source: str = "speech"
    """``speech`` (heard through the listener, so the person may resume it), ``text`` or
    ``say`` (speaks ``say_text`` without the LLM)."""
    say_text: str | None = None
    interruptible: bool = True
    """False: a barge-in does not stop it (an explicit stop or shutdown still does)."""

    def __post_init__(self) -> None:
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.first_audio = threading.Event()  # the first clause was synthesised (or skipped)
        self.heard_text = ""
        self.call_line = ""
        """The tool call this turn made, as the model writes it (``control_device("light",
        "on", room="living_room")``): the history keeps it, so a follow-up ("tắt nó đi") can
        reuse its arguments."""
        self.timeline = TurnTimeline()
        self._state = TurnState.QUEUED
        self._lock = threading.Lock()

    @property
    def state(self) -> TurnState:
        return self._state

    @property
    def from_speech(self) -> bool:
        return self.source == "speech"

    @property
    def resumed(self) -> bool:
        return self._state is TurnState.WITHDRAWN

    def record(self, event: Event) -> Event:
        """Add one of this turn's events to its timeline; returns it (for publishing)."""
        with self._lock:
            self.timeline.add(event)
        return event

    # -- transitions; each returns whether it happened
    def _move(self, to: TurnState, allowed: tuple[TurnState, ...]) -> bool:
        with self._lock:
            if self._state not in allowed:
                return False
            self._state = to
            return True

    def start_thinking(self) -> bool:
        """A worker picks the turn up; False if it was cancelled while it waited."""
        return self._move(TurnState.THINKING, (TurnState.QUEUED,))

    def act(self) -> bool:
        """Its tool is about to run: from now on it cannot be withdrawn. False if cancelled."""
        return self._move(TurnState.ACTED, (TurnState.THINKING,))

    def start_speaking(self) -> bool:
        return self._move(TurnState.SPEAKING, (TurnState.THINKING, TurnState.ACTED,
                                               TurnState.SPEAKING))

    def interrupt(self, *, barge_in: bool = False) -> bool:
        """Cancel the turn (a barge-in spares one that is not ``interruptible``)."""
        if barge_in and not self.interruptible:
            return False
        return self._stop(TurnState.CANCELLED, (TurnState.QUEUED, TurnState.THINKING,
                                                TurnState.ACTED, TurnState.SPEAKING))

    def withdraw(self) -> bool:
        """The person resumed their request: withdraw this part of it, unless it acted or the
        agent has started to answer it aloud."""
        return self._stop(TurnState.WITHDRAWN, (TurnState.QUEUED, TurnState.THINKING))

    def _stop(self, to: TurnState, allowed: tuple[TurnState, ...]) -> bool:
        with self._lock:
            if self._state not in allowed or self.done.is_set():
                return False
            self._state = to
            self.cancel.set()
            self.first_audio.set()  # release a generation paused for the first clause
            return True

    def finish(self) -> bool:
        """End the turn; True only the first time (the caller then publishes its end)."""
        with self._lock:
            if self.done.is_set():
                return False
            if self._state not in _STOPPED:
                self._state = TurnState.DONE
            self.done.set()
            return True

    def wait_for_playout(self, timeout_s: float | None = None) -> bool:
        """Block until the turn has ended (played out, cancelled or withdrawn)."""
        return self.done.wait(timeout_s)
