"""The one event type that flows through edgevox.

Stages, the daemon's event stream, the operational log and the benchmark all speak in
:class:`Event`: a type from :data:`EVENT_TYPES`, the turn it belongs to, a monotonic timestamp and
a small JSON-able payload. Keeping a single shape means an observer (logger, metrics, WebSocket
client) can follow a whole turn without knowing any stage's internals.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from edgevox.queues import put_dropping_oldest

EVENT_TYPES = (
    "listening",
    "speech_started",
    "partial_transcript",
    "end_of_turn",
    "final_transcript",
    "llm_first_token",
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

    def _remove(self, q: queue.Queue) -> None:
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
        self._queue.put(None)
