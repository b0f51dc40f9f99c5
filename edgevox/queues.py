"""The one queue policy real-time producers need: never block, drop the oldest item instead.

A microphone callback, the event bus and the agent's audio intake must not wait on a slow
consumer; stale audio or a stale event is worth less than a stalled producer.
"""

from __future__ import annotations

import contextlib
import queue
from typing import TypeVar

T = TypeVar("T")


def put_dropping_oldest(q: queue.Queue[T], item: T) -> int:
    """Put ``item`` without blocking, discarding the oldest items while the queue is full.

    Returns how many items were discarded. Each discarded item is marked done, so a consumer's
    ``task_done``/``unfinished_tasks`` bookkeeping stays exact.
    """
    dropped = 0
    while True:
        try:
            q.put_nowait(item)
            return dropped
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                q.get_nowait()
                q.task_done()
                dropped += 1
