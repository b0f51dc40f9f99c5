"""The voice agent: listen -> think -> speak, full duplex, with barge-in.

Three workers, each owning one native engine, connected by bounded queues:

* **listen** feeds audio to the :class:`~edgevox.runtime.listener.Listener` (VAD, streaming ASR,
  end of turn). Partial transcripts are offered to the think worker so the LLM can prefill the
  words already heard while the person is still speaking; a final transcript becomes a turn.
* **think** runs the :class:`~edgevox.llm.Understander`: a streamed spoken reply goes clause by
  clause to the speak worker as soon as each clause is complete; a tool call is run (with a
  filler phrase if it is slow) and its own Vietnamese confirmation is spoken.
* **speak** synthesises clauses and plays them through the sink.

Every stage reports through one :class:`~edgevox.events.Event` stream (:meth:`Agent.subscribe`);
latency is measured from those events, not by timers inside the stages. A person who starts
talking while the agent speaks interrupts it (barge-in): playback stops within one audio block,
generation is cancelled between two tokens, and the history keeps only what was actually heard.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgevox.events import Event, EventBus, Subscription
from edgevox.queues import put_dropping_oldest
from edgevox.tools.registry import APOLOGY_FAILED

log = logging.getLogger(__name__)

FILLER_VI = "Vâng, bạn đợi một chút."
SLOW_TOOL_S = 0.3
_AUDIO_QUEUE_BLOCKS = 500  # 10 s of 20 ms blocks: a stalled listener drops the oldest audio
_SPEAK_QUEUE_CLAUSES = 4  # the LLM may run only a few clauses ahead of the voice
# The LLM pauses while the first clause is synthesised: on a small CPU the two would share the
# cores and the listener would wait for both. Generation outruns speech, so it loses nothing
# audible; the bound only guards against a stalled speaker.
_FIRST_AUDIO_WAIT_S = 2.0
_FLUSH = object()  # end of input for the listener
_END = object()  # end of a turn's clauses for the speaker


@dataclass
class Turn:
    """One exchange: what the person said, its cancel scope, and what the agent got to say."""

    turn_id: int
    user_text: str
    end_of_speech_t: float | None = None  # monotonic time the person stopped talking
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    heard_text: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    say_text: str | None = None  # a turn that only speaks this text, without the LLM
    first_audio: threading.Event = field(default_factory=threading.Event)
    from_speech: bool = False  # heard through the listener, so the person may resume it
    acted: bool = False  # its tool ran: the request had an effect and is not taken back
    resumed: bool = False  # withdrawn because the person went on speaking; see _on_speech


def join_resumed(before: str, after: str) -> str:
    """The words of a request the person resumed after a pause, as one request.

    The two turns' audio overlaps at the seam (the end-of-turn hangover and the next turn's
    pre-roll), so a word there can be heard by both ("... đứa trẻ mà" + "mà còn ..."): one or two
    words repeated exactly across the seam are kept once.
    """
    head, tail = before.split(), after.split()
    for n in (2, 1):
        if len(head) >= n and head[-n:] == tail[:n]:
            tail = tail[n:]
            break
    return " ".join(head + tail)


class History:
    """Earlier exchanges for the LLM, trimmed oldest-first to a token budget."""

    def __init__(self, token_budget: int, count_tokens) -> None:
        self.token_budget = token_budget
        self._count = count_tokens
        self._turns: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def add(self, user: str, assistant: str) -> None:
        with self._lock:
            self._turns.append((user, assistant))
            while self._turns and self._tokens() > self.token_budget:
                self._turns.pop(0)

    def _tokens(self) -> int:
        return sum(self._count(u) + self._count(a) for u, a in self._turns)

    def messages(self) -> list[dict[str, str]]:
        with self._lock:
            return [m for u, a in self._turns for m in ({"role": "user", "content": u},
                                                         {"role": "assistant", "content": a})]

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()

    def __len__(self) -> int:
        return len(self._turns)


class Agent:
    """A running voice agent. Build it with :func:`edgevox.runtime.build.build_agent`."""

    def __init__(self, *, listener, understander, synthesizer, sink, tools, history: History,
                 barge_in: bool = True, tool_timeout_s: float = 5.0,
                 max_clause_chars: int = 120, first_clause_chars: int = 36) -> None:
        self.listener = listener
        self.understander = understander
        self.synthesizer = synthesizer
        self.sink = sink
        self.tools = tools
        self.history = history
        self.barge_in = barge_in
        self.tool_timeout_s = tool_timeout_s
        self.max_clause_chars = max_clause_chars
        self.first_clause_chars = first_clause_chars
        self.bus = EventBus()
        self._audio: queue.Queue[Any] = queue.Queue(_AUDIO_QUEUE_BLOCKS)
        self._turns: queue.Queue[Turn | None] = queue.Queue(4)
        self._speech: queue.Queue[tuple[Turn, Any] | None] = queue.Queue(_SPEAK_QUEUE_CLAUSES)
        self._prefill_text: str | None = None
        self._prefill_lock = threading.Lock()
        self._resumed_text = ""  # words of withdrawn turns, carried into the next final
        self._open: dict[int, Turn] = {}  # queued or in flight, until its speaking_finished
        self._open_lock = threading.Lock()
        self._speaking: Turn | None = None
        self._next_text_turn = 100_000  # turns that bypass the listener (say/ask_text)
        self._end_of_speech: dict[int, float] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._thinking = threading.Lock()  # held while the LLM works; tools swap under it
        self.dropped_audio_blocks = 0

    # -- lifecycle
    def start(self) -> Agent:
        for name, target in (("listen", self._listen), ("think", self._think),
                             ("speak", self._speak)):
            thread = threading.Thread(target=self._guard(target, name), name=f"edgevox-{name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        self.bus.publish(Event("listening", 0))
        return self

    def close(self) -> None:
        """Stop the workers (a turn in flight is cancelled) and release the sink."""
        self._stopping.set()
        self.interrupt(reason="shutdown")
        self._audio.put(None)
        self._turns.put(None)
        put_dropping_oldest(self._speech, None)
        for thread in self._threads:
            thread.join(timeout=5)
        self.sink.close()

    def __enter__(self) -> Agent:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _guard(self, target, stage: str):
        """A worker that fails reports an error event instead of dying silently."""

        def run() -> None:
            try:
                target()
            except Exception as exc:  # a stage must not take the daemon down
                log.exception("%s worker failed", stage)
                self.bus.publish(Event("error", 0, {"stage": stage, "message": str(exc)}))

        return run

    # -- inputs
    def subscribe(self, maxsize: int = 1024) -> Subscription:
        return self.bus.subscribe(maxsize)

    def feed_audio(self, block: np.ndarray) -> None:
        """Push 16 kHz mono float32 audio (from a microphone callback, a file, a socket)."""
        self.dropped_audio_blocks += put_dropping_oldest(self._audio, block)

    def end_of_input(self) -> None:
        """The audio source ended: finish a turn still open in the listener."""
        self._audio.put(_FLUSH)

    def ask_text(self, text: str) -> Turn:
        """A turn from text instead of speech (a kiosk's text box, tests)."""
        self._next_text_turn += 1
        return self._queue_turn(Turn(self._next_text_turn, text, time.monotonic()))

    def say(self, text: str) -> Turn:
        """Speak ``text`` as its own turn, without the LLM (announcements, disclosures)."""
        self._next_text_turn += 1
        # Queued behind the turns in flight, so it never cuts into the middle of a reply.
        return self._queue_turn(Turn(self._next_text_turn, "", say_text=text))

    def interrupt(self, reason: str = "barge_in") -> None:
        """Stop speaking now and cancel every turn not yet finished.

        That is the turn in flight and also those accepted but still waiting: whoever interrupts
        wants silence (or the floor), not the next queued reply a moment later, and an interrupt
        sent right after a request must not miss it because no worker has picked it up yet.
        Each cancelled turn gets an ``interrupted`` event and, as always, its
        ``speaking_finished``.
        """
        cancelled = self._cancel_open()
        if not cancelled:
            return
        self.sink.stop()
        heard = self.sink.spoken_text()
        for turn in cancelled:
            turn.heard_text = heard if turn is self._speaking else ""
            self.bus.publish(Event("interrupted", turn.turn_id,
                                   {"heard_text": turn.heard_text, "reason": reason}))

    def _cancel_open(self, which=lambda turn: True, resumed: bool = False) -> list[Turn]:
        """Cancel the open turns ``which`` selects (those not cancelled already); return them.

        ``resumed`` is marked before the cancel, so the turn's end never sees one without the
        other."""
        with self._open_lock:
            cancelled = [turn for turn in self._open.values()
                         if not turn.cancel.is_set() and which(turn)]
            for turn in cancelled:
                turn.resumed = resumed
                turn.cancel.set()
                turn.first_audio.set()  # release a generation paused for the first clause
        return cancelled

    def replace_tools(self, tools) -> None:
        """Serve a new tool set (a kiosk app registered its own). The LLM's fixed prompt is
        rebuilt and evaluated here, on the caller's thread, between turns."""
        from edgevox.llm import Understander

        with self._thinking:
            self.understander = Understander(self.understander.engine, tools,
                                             max_tokens=self.understander.max_tokens)
            self.tools = tools

    def new_session(self) -> None:
        """Forget the conversation (a new customer at the kiosk)."""
        self.history.clear()

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Block until no audio, turn or speech is pending (tests, one-shot commands)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            queues = (self._audio, self._turns, self._speech)
            if all(q.unfinished_tasks == 0 for q in queues) and not self.listener.in_turn:
                return True
            time.sleep(0.02)
        return False

    # -- listen
    def _listen(self) -> None:
        while (block := self._audio.get()) is not None:
            events = self.listener.flush() if block is _FLUSH else self.listener.feed(block)
            for event in events:
                event = self._with_resumed_words(event)
                self.bus.publish(event)
                self._on_listener_event(event)
            self._audio.task_done()

    def _with_resumed_words(self, event: Event) -> Event:
        """A final transcript leads with the words of the turns it resumes (see _on_speech);
        ``segment_text`` keeps what this turn's audio alone said."""
        if event.type != "final_transcript":
            return event
        with self._prefill_lock:
            self._prefill_text = None
            resumed, self._resumed_text = self._resumed_text, ""
        if not resumed:
            return event
        text = join_resumed(resumed, event.data["text"])
        return Event(event.type, event.turn_id,
                     {**event.data, "text": text, "segment_text": event.data["text"]}, event.t)

    def _on_listener_event(self, event: Event) -> None:
        if event.type == "speech_started":
            self._on_speech()
        elif event.type == "partial_transcript":
            with self._prefill_lock:
                self._prefill_text = join_resumed(self._resumed_text, event.data["text"])
        elif event.type == "end_of_turn":
            self._end_of_speech[event.turn_id] = event.t - event.data["eot_delay_ms"] / 1000
        elif event.type == "final_transcript" and event.data["text"].strip():
            self._queue_turn(Turn(event.turn_id, event.data["text"],
                                  self._end_of_speech.pop(event.turn_id, None),
                                  from_speech=True))

    def _on_speech(self) -> None:
        """The person starts speaking.

        While the agent has said nothing yet, this is the same request going on after a pause
        that ended the turn too early ("nuôi con theo phong cách Do Thái, ... không chỉ tốt cho
        đứa trẻ"): the spoken turns not yet answered are withdrawn (``interrupted``, reason
        ``resumed``) and their words lead the next final transcript, so the agent answers the
        whole request once instead of a fragment. A turn whose tool already ran is not taken
        back. That needs no barge-in, since nothing is playing that could echo. While the agent
        speaks, it is a barge-in (when enabled).
        """
        withdrawn = [] if self._speaking is not None else self._cancel_open(
            lambda turn: turn.from_speech and not turn.acted, resumed=True)
        for turn in withdrawn:
            with self._prefill_lock:
                self._resumed_text = join_resumed(self._resumed_text, turn.user_text)
            self.bus.publish(Event("interrupted", turn.turn_id,
                                   {"heard_text": "", "reason": "resumed"}))
        if self.barge_in:
            self.interrupt()

    def _queue_turn(self, turn: Turn) -> Turn:
        with self._open_lock:
            self._open[turn.turn_id] = turn
        self._turns.put(turn)
        return turn

    # -- think
    def _think(self) -> None:
        while not self._stopping.is_set():
            try:
                turn = self._turns.get(timeout=0.05)
            except queue.Empty:
                self._maybe_prefill()
                continue
            if turn is None:
                return
            try:
                if not turn.cancel.is_set():  # interrupted while it waited
                    with self._thinking:
                        self._answer(turn)
            except Exception as exc:  # one failed turn must not end the agent
                log.exception("turn %d failed", turn.turn_id)
                self.bus.publish(Event("error", turn.turn_id,
                                       {"stage": "think", "message": str(exc)}))
                self._enqueue_speech(turn, APOLOGY_FAILED)
            finally:
                self._speech.put((turn, _END))
                self._turns.task_done()

    def _maybe_prefill(self) -> None:
        """While the person speaks, evaluate the words heard so far into the LLM's cache."""
        with self._prefill_lock:
            text, self._prefill_text = self._prefill_text, None
        if text:
            with self._thinking:
                self.understander.prefill(text, self.history.messages())

    def _answer(self, turn: Turn) -> None:
        from edgevox.llm import ReplyChunk
        from edgevox.tts import clause_chunker

        chunker = clause_chunker(self.synthesizer, self.max_clause_chars, self.first_clause_chars)
        if turn.say_text is not None:
            for clause in chunker.feed(turn.say_text) + chunker.flush():
                self._enqueue_speech(turn, clause)
            return
        first = True
        result = None
        for item in self.understander.stream(turn.user_text, turn.cancel,
                                             self.history.messages()):
            if first:
                first = False
                self.bus.publish(Event("llm_first_token", turn.turn_id))
            if isinstance(item, ReplyChunk):
                for clause in chunker.feed(item.text):
                    self._enqueue_speech(turn, clause)
                    turn.first_audio.wait(_FIRST_AUDIO_WAIT_S)
            else:
                result = item
        if turn.cancel.is_set() or result is None:
            return
        turn.timings["llm_ttft_s"] = result.ttft_s or 0.0
        turn.timings["llm_total_s"] = result.total_s
        if result.tool is None:
            for clause in chunker.flush():
                self._enqueue_speech(turn, clause)
            return
        with self._open_lock:  # from here the request acts: it can no longer be resumed
            if turn.cancel.is_set():
                return
            turn.acted = True
        self.bus.publish(Event("tool_call", turn.turn_id,
                               {"name": result.tool, "arguments": result.args}))
        spoken = self._run_tool(turn, result.tool, result.args)
        for clause in chunker.feed(spoken) + chunker.flush():
            self._enqueue_speech(turn, clause)

    def _run_tool(self, turn: Turn, name: str, args: dict) -> str:
        """Run a tool off this thread; say a filler if it is slow; return what to speak."""
        box: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: box.update(result=self.tools.invoke(name, args, self.tool_timeout_s)),
            name=f"edgevox-tool-{name}", daemon=True)
        worker.start()
        worker.join(SLOW_TOOL_S)
        if worker.is_alive():
            self._enqueue_speech(turn, FILLER_VI)
            worker.join()
        result = box["result"]
        self.bus.publish(Event("tool_result", turn.turn_id, {
            "name": name, "ok": result.ok, "result": result.value if result.ok else None,
            **({"error": result.error} if result.error else {})}))
        if not result.ok:
            return result.spoken or ""
        value = result.value
        if isinstance(value, dict):
            return str(value.get("say") or "Xong rồi.")
        return str(value) if value else "Xong rồi."

    def _enqueue_speech(self, turn: Turn, text: str) -> None:
        while not turn.cancel.is_set():
            try:
                self._speech.put((turn, text), timeout=0.05)
                return
            except queue.Full:
                continue

    # -- speak
    def _speak(self) -> None:
        while (item := self._speech.get()) is not None:
            turn, payload = item
            try:
                if payload is _END:
                    self._finish_turn(turn)
                elif not turn.cancel.is_set():
                    if self._speaking is not turn:
                        self._speaking = turn
                        self.sink.begin_utterance()
                    self._play(turn, payload)
            finally:
                self._speech.task_done()

    def _play(self, turn: Turn, clause: str) -> None:
        started = time.perf_counter()
        if self.synthesizer is None:  # text-only agent: the sink takes the words
            blocks = [np.zeros(0, dtype=np.float32)]
        else:
            blocks = list(self.synthesizer.synthesize(clause))
        turn.first_audio.set()
        if not blocks or turn.cancel.is_set():
            return
        if "tts_first_audio_s" not in turn.timings:
            turn.timings["tts_first_audio_s"] = time.perf_counter() - started
            data = {"text": clause, **{k: round(v, 4) for k, v in turn.timings.items()}}
            if turn.end_of_speech_t is not None:
                data["latency_s"] = round(time.monotonic() - turn.end_of_speech_t, 4)
            self.bus.publish(Event("speaking_started", turn.turn_id, data))
        self.sink.play(np.concatenate(blocks), text=clause)

    def _finish_turn(self, turn: Turn) -> None:
        if self._speaking is turn and not turn.cancel.is_set():
            while not self.sink.wait(timeout_s=0.05):
                if turn.cancel.is_set():
                    break
        if not turn.cancel.is_set():
            turn.heard_text = self.sink.spoken_text() if self._speaking is turn else ""
        # Every turn ends with this event, even one that never spoke: clients wait for it.
        self.bus.publish(Event("speaking_finished", turn.turn_id,
                               {"text": turn.heard_text, "interrupted": turn.cancel.is_set()}))
        if turn.user_text and not turn.resumed:  # a resumed turn's words live on in the next
            self.history.add(turn.user_text, turn.heard_text)
        if self._speaking is turn:
            self._speaking = None
        with self._open_lock:
            self._open.pop(turn.turn_id, None)
        turn.done.set()
