"""The one event type that flows through edgevox.

Stages, the daemon's event stream, the operational log and the benchmark all speak in
:class:`Event`: a type from :data:`EVENT_TYPES`, the turn it belongs to, a monotonic timestamp and
a small JSON-able payload. Keeping a single shape means an observer (logger, metrics, WebSocket
client) can follow a whole turn without knowing any stage's internals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

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
