"""The voice agent: listen -> think -> speak, full duplex, with barge-in.

Three workers, each owning one native engine, connected by bounded queues:

* **listen** feeds audio to the :class:`~edgevox.runtime.listener.Listener` (VAD, streaming ASR,
  end of turn). Partial transcripts are offered to the think worker so the LLM can prefill the
  words already heard while the person is still speaking; a final transcript becomes a turn.
* **think** runs the :class:`~edgevox.llm.Understander`: a streamed spoken reply goes clause by
  clause to the speak worker as soon as each clause is complete; a tool call is run (with a
  filler phrase if it is slow) and its own Vietnamese confirmation is spoken.
* **speak** synthesises clauses and plays them through the sink (:func:`edgevox.tts.speak`).

Each exchange is a :class:`~edgevox.runtime.turns.Turn` handle, the one owner of its state.
Control never waits behind data: end of input, stop and shutdown are signals (flags and
events the workers poll between items), never blocking puts into the queues, so no caller (a
microphone callback, the daemon's event loop) can be held up by a busy worker, and
:meth:`Agent.close` returns within :data:`CLOSE_TIMEOUT_S`.

Every stage reports through one :class:`~edgevox.events.Event` stream (:meth:`Agent.subscribe`);
latency is read from those events by :class:`~edgevox.runtime.timeline.TurnTimeline`, not by
timers inside the stages. A person who starts talking while the agent speaks interrupts it
(barge-in): playback stops within one audio block, generation is cancelled between two tokens,
and the history keeps only what was actually heard.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from edgevox.errors import BusyError
from edgevox.events import (
    Backchannel,
    Confirming,
    Echo,
    Error,
    Event,
    EventBus,
    FinalTranscript,
    Interrupted,
    LlmFirstToken,
    PartialTranscript,
    Paused,
    Resumed,
    SpeakingFinished,
    SpeakingStarted,
    Subscription,
    ToolCall,
    ToolReturned,
    TurnQueued,
)
from edgevox.llm.calls import format_call
from edgevox.llm.decide import Proposal, confirmation_answer
from edgevox.queues import put_dropping_oldest
from edgevox.runtime.floor import Floor, Heard
from edgevox.runtime.turns import Turn, TurnIds, TurnState
from edgevox.tools.registry import APOLOGY_FAILED

log = logging.getLogger(__name__)

FILLER_VI = "Vâng, bạn đợi một chút."
DECLINED_VI = "Vâng, vậy tôi không làm nữa."
SLOW_TOOL_S = 0.3
CLOSE_TIMEOUT_S = 1.5  # close() gives the workers this long in all, then leaves them behind
MAX_WAITING_TURNS = 4  # accepted and not yet picked up by the think worker; more is "busy"
_AUDIO_QUEUE_BLOCKS = 500  # 10 s of 20 ms blocks: a stalled listener drops the oldest audio
_SPEAK_QUEUE_CLAUSES = 4  # the LLM may run only a few clauses ahead of the voice
_POLL_S = 0.05  # how often an idle worker looks at its signals
# The LLM pauses while the first clause is synthesised: on a small CPU the two would share the
# cores and the listener would wait for both. Generation outruns speech, so it loses nothing
# audible; the bound only guards against a stalled speaker.
_FIRST_AUDIO_WAIT_S = 2.0
_END = object()  # end of a turn's clauses for the speaker


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
    """Earlier exchanges for the LLM, trimmed oldest-first to a token budget, and the one call
    the agent last asked about ("… phải không?") while it waits for the person's yes.

    The assistant's side of an exchange is what the person heard of the reply, or, for a turn
    that acted, the call it made: the model sees its own call and can change one argument of it
    for a follow-up ("bật đèn phòng khách" ... "tắt nó đi").
    """

    def __init__(self, token_budget: int, count_tokens: Callable[[str], int]) -> None:
        self.token_budget = token_budget
        self._count = count_tokens
        self._turns: list[tuple[str, str]] = []
        self._proposal: Proposal | None = None
        self._lock = threading.Lock()

    def propose(self, proposal: Proposal | None) -> None:
        """Remember the call a confirming question asked about (``None`` forgets it)."""
        with self._lock:
            self._proposal = proposal

    def take_proposal(self) -> Proposal | None:
        """The call asked about, if it is still fresh; it is forgotten either way: the next
        turn answers it or moves on."""
        with self._lock:
            proposal, self._proposal = self._proposal, None
        return None if proposal is None or proposal.expired() else proposal

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
            self._proposal = None

    def __len__(self) -> int:
        return len(self._turns)


class Agent:
    """A running voice agent. Build it with :func:`edgevox.runtime.build.build_agent`."""

    def __init__(self, *, listener: Any, understander: Any, synthesizer: Any, sink: Any,
                 tools: Any, history: History, floor: Floor | None = None,
                 tool_timeout_s: float = 5.0, max_clause_chars: int = 120,
                 first_clause_chars: int = 36) -> None:
        self.listener = listener
        self.understander = understander
        self.synthesizer = synthesizer
        self.sink = sink
        self.tools = tools
        self.history = history
        self.floor = floor or Floor(sink, half_duplex=False)
        """Decides what speech heard while the agent is audible means (echo, backchannel,
        barge-in); see :mod:`edgevox.runtime.floor`."""
        self.tool_timeout_s = tool_timeout_s
        self.max_clause_chars = max_clause_chars
        self.first_clause_chars = first_clause_chars
        self.turn_ids: TurnIds = listener.turn_ids  # one counter for spoken and typed turns
        self.bus = EventBus()
        self.dropped_audio_blocks = 0
        # data: bounded queues
        # (number, capture time, samples): the time says whether the agent was audible then
        self._audio: queue.Queue[tuple[int, float, np.ndarray]] = queue.Queue(_AUDIO_QUEUE_BLOCKS)
        self._turns: queue.Queue[Turn] = queue.Queue(MAX_WAITING_TURNS)
        self._speech: queue.Queue[tuple[Turn, Any]] = queue.Queue(_SPEAK_QUEUE_CLAUSES)
        # control: signals, never queued behind data
        self._stopping = threading.Event()
        self._feed_lock = threading.Lock()
        self._blocks_fed = 0
        self._flush_after: int | None = None  # end of input: flush once this block is heard
        # shared state, each under its lock
        self._open: dict[int, Turn] = {}  # accepted, until its speaking_finished
        self._speaking: Turn | None = None  # the turn whose reply the sink is playing
        self._open_lock = threading.Lock()
        self._heard: dict[int, list[Event]] = {}  # listener events of turns not yet final
        # listener turns begun while the agent was audible -> whether it was still talking
        self._overlapping: dict[int, bool] = {}
        self._prefill_text: str | None = None
        self._partial = ""  # the open listener turn's latest hypothesis
        self._resumed_text = ""  # words of withdrawn turns, carried into the next final
        self._prefill_lock = threading.Lock()
        self._accept_lock = threading.Lock()
        self._thinking = threading.Lock()  # held while the LLM works; tools swap under it
        self._threads: list[threading.Thread] = []

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
        """Stop the workers and release the sink, within :data:`CLOSE_TIMEOUT_S`.

        Every open turn is cancelled and ends with its ``speaking_finished``. A worker still
        inside a native call when the time is up is left to end on its own (the threads are
        daemons): a stuck voice or tool must not hang the caller's shutdown.
        """
        self._stopping.set()
        self.interrupt(reason="shutdown")
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s did not stop within %.1f s; leaving it", thread.name,
                            CLOSE_TIMEOUT_S)
        with self._open_lock:
            left = list(self._open.values())
        for turn in left:
            self._finish_turn(turn)
        self.sink.close()

    def __enter__(self) -> Agent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard(self, target: Callable[[], None], stage: str) -> Callable[[], None]:
        """A worker that fails reports an error event instead of dying silently."""

        def run() -> None:
            try:
                target()
            except Exception as exc:  # a stage must not take the daemon down
                log.exception("%s worker failed", stage)
                self.bus.publish(Error(stage, str(exc)).event(0))

        return run

    # -- inputs (never block: callers are microphone callbacks and event loops)
    def subscribe(self, maxsize: int = 1024) -> Subscription:
        return self.bus.subscribe(maxsize)

    def feed_audio(self, block: np.ndarray) -> None:
        """Push 16 kHz mono float32 audio (from a microphone callback, a file, a socket)."""
        captured_t = time.monotonic()
        with self._feed_lock:
            self._blocks_fed += 1
            self.dropped_audio_blocks += put_dropping_oldest(
                self._audio, (self._blocks_fed, captured_t, block))

    def end_of_input(self) -> None:
        """The audio source ended: once the audio fed so far is heard, finish a turn still open
        in the listener. A signal, not a queue item, so it never waits for the listener."""
        with self._feed_lock:
            self._flush_after = self._blocks_fed

    def ask_text(self, text: str) -> Turn:
        """A turn from text instead of speech (a kiosk's text box, tests); BusyError when
        :data:`MAX_WAITING_TURNS` turns are already waiting."""
        return self._accept(Turn(self.turn_ids.next(), text, source="text"), refuse=True)

    def say(self, text: str, interruptible: bool = True) -> Turn:
        """Speak ``text`` as its own turn, without the LLM (announcements, disclosures).

        Queued behind the turns in flight, so it never cuts into the middle of a reply.
        """
        turn = Turn(self.turn_ids.next(), "", source="say", say_text=text,
                    interruptible=interruptible)
        return self._accept(turn, refuse=True)

    def interrupt(self, reason: str = "barge_in") -> None:
        """Stop speaking now and cancel every turn not yet finished.

        That is the turn in flight and also those accepted but still waiting: whoever interrupts
        wants silence (or the floor), not the next queued reply a moment later, and an interrupt
        sent right after a request must not miss it because no worker has picked it up yet.
        A barge-in spares turns that are not interruptible. Each cancelled turn gets an
        ``interrupted`` event and, as always, its ``speaking_finished``.
        """
        with self._open_lock:
            cancelled = [turn for turn in self._open.values()
                         if turn.interrupt(barge_in=reason == "barge_in")]
            speaking = self._speaking
        if not cancelled:
            return
        if speaking is None or speaking in cancelled:
            self.sink.stop()
        heard = self.sink.spoken_text() if speaking in cancelled else ""
        for turn in cancelled:
            turn.heard_text = heard if turn is speaking else ""
            self._publish(turn, Interrupted(turn.heard_text, reason).event(turn.turn_id))

    def replace_tools(self, tools: Any) -> None:
        """Serve a new tool set (a kiosk app registered its own). The LLM's fixed prompt is
        rebuilt and evaluated here, on the caller's thread, between turns."""
        from edgevox.llm import Understander

        with self._thinking:
            self.understander = Understander(self.understander.engine, tools,
                                             max_tokens=self.understander.max_tokens,
                                             policy=self.understander.policy)
            self.tools = tools

    def new_session(self) -> None:
        """Forget the conversation (a new customer at the kiosk)."""
        self.history.clear()

    @property
    def thinking(self) -> bool:
        """Whether the LLM is at work (answering, or prefilling heard words)."""
        return self._thinking.locked()

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Block until no audio, turn or speech is pending (tests, one-shot commands)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._open_lock:
                turns_open = bool(self._open)
            with self._feed_lock:
                flushing = self._flush_after is not None
            if (not turns_open and not flushing and self._audio.unfinished_tasks == 0
                    and not self.listener.in_turn):
                return True
            time.sleep(0.02)
        return False

    # -- turns
    def _publish(self, turn: Turn, event: Event) -> None:
        self.bus.publish(turn.record(event))

    def _accept(self, turn: Turn, *, refuse: bool) -> Turn:
        """Queue ``turn`` for the think worker without waiting.

        When the queue is full a typed turn is refused with BusyError (``refuse``); a spoken one
        cannot be handed back, so it ends at once with an ``error`` event.
        """
        with self._accept_lock:  # the only producer: not full now means the put succeeds
            if self._turns.full():
                message = (f"busy: {MAX_WAITING_TURNS} turns are already waiting; send the "
                           "next one after a speaking_finished event")
                if refuse:
                    raise BusyError(message)
                turn.interrupt()
                self._publish(turn, Error("listen", message).event(turn.turn_id))
                self._finish_turn(turn)
                return turn
            with self._open_lock:
                self._open[turn.turn_id] = turn
            text = turn.say_text if turn.say_text is not None else turn.user_text
            self._publish(turn, TurnQueued(turn.source, text).event(turn.turn_id))
            self._turns.put_nowait(turn)
        return turn

    def _finish_turn(self, turn: Turn) -> None:
        """End ``turn`` exactly once: its ``speaking_finished``, history, and ``done``."""
        if not turn.finish():
            return
        cancelled = turn.cancel.is_set()
        with self._open_lock:
            spoke = self._speaking is turn
            if spoke:
                self._speaking = None
        if not cancelled:
            turn.heard_text = self.sink.spoken_text() if spoke else ""
        # Every turn ends with this event, even one that never spoke: clients wait for it.
        self._publish(turn, SpeakingFinished(turn.heard_text, cancelled).event(turn.turn_id))
        if turn.user_text and not turn.resumed:  # a resumed turn's words live on in the next
            self.history.add(turn.user_text, turn.call_line or turn.heard_text)
        with self._open_lock:
            self._open.pop(turn.turn_id, None)
        turn.done.set()

    # -- listen
    def _listen(self) -> None:
        last_heard = 0
        while not self._stopping.is_set():
            try:
                number, captured_t, block = self._audio.get(timeout=_POLL_S)
            except queue.Empty:
                number, captured_t, block = last_heard, 0.0, None
            try:
                if block is not None:
                    last_heard = number
                    block = self.floor.admit(block, captured_t)  # not the agent's own voice
                    self._on_listener_events(self.listener.feed(
                        block, learn_level=not self.floor.over_agent))
                    self._maybe_barge_in()
                    self._publish_floor(self.floor.watch(self.listener.voiced_ms,
                                                         self.listener.in_turn, captured_t))
                with self._feed_lock:
                    target = self._flush_after
                    due = target is not None and (last_heard >= target or self._audio.empty())
                if due:
                    self._on_listener_events(self.listener.flush())
                    with self._feed_lock:  # only now: wait_idle must not see a gap before it
                        if self._flush_after == target:
                            self._flush_after = None
            finally:
                if block is not None:
                    self._audio.task_done()

    def _on_listener_events(self, events: list[Event]) -> None:
        for event in events:
            event = self._with_resumed_words(event)
            self.bus.publish(event)
            self._heard.setdefault(event.turn_id, []).append(event)
            if event.type == "speech_started":
                if self.floor.audible(event.t):  # the agent is talking: what is this?
                    self._overlapping[event.turn_id] = self.floor.sounding(event.t)
                else:
                    self._on_speech()
            elif event.type == "partial_transcript":
                self._partial = PartialTranscript.of(event).text
                with self._prefill_lock:
                    self._prefill_text = join_resumed(self._resumed_text, self._partial)
            elif event.type == "final_transcript":
                self._on_final(event)

    def _on_final(self, event: Event) -> None:
        """A listener turn ended: it becomes a turn, unless it overlapped the agent's voice and
        was its echo (dropped) or a backchannel (reported; the agent goes on)."""
        heard = self._heard.pop(event.turn_id)
        self._partial = ""
        text = FinalTranscript.of(event).text
        if event.turn_id in self._overlapping:
            kind = self.floor.classify(text, backchannels=self._overlapping.pop(event.turn_id))
            if kind is Heard.ECHO:
                self.bus.publish(Echo(text).event(event.turn_id))
                self._publish_floor(self.floor.resume(time.monotonic()))
                return
            if kind is Heard.BACKCHANNEL:
                self.bus.publish(Backchannel(text).event(event.turn_id))
                self._publish_floor(self.floor.resume(time.monotonic()))
                return
            if self.floor.barge_in:  # a short request that ended before it took the floor
                self.interrupt()
        if text.strip():
            turn = Turn(event.turn_id, text, source="speech")
            for known in heard:
                turn.record(known)
            self._accept(turn, refuse=False)

    def _publish_floor(self, change: Paused | Resumed | None) -> None:
        """A pause or resume of the reply, as an event of the turn that is speaking."""
        if change is None:
            return
        with self._open_lock:
            speaking = self._speaking
        if speaking is None:
            self.bus.publish(change.event(0))
        else:
            self._publish(speaking, change.event(speaking.turn_id))

    def _maybe_barge_in(self) -> None:
        """Speech over the agent's voice takes the floor once it is no echo and either lasts
        long enough or holds a word that is no backchannel (see :class:`Floor`)."""
        if not self._overlapping or self.listener.turn_id not in self._overlapping:
            return
        if self.floor.interrupts(self._partial):
            del self._overlapping[self.listener.turn_id]
            self._on_speech()

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
        final = FinalTranscript.of(event)
        return Event(event.type, event.turn_id,
                     {**event.data, "text": join_resumed(resumed, final.text),
                      "segment_text": final.text}, event.t)

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
        with self._open_lock:
            withdrawn = [] if self._speaking is not None else [
                turn for turn in self._open.values() if turn.from_speech and turn.withdraw()]
        for turn in withdrawn:
            with self._prefill_lock:
                self._resumed_text = join_resumed(self._resumed_text, turn.user_text)
            self._publish(turn, Interrupted("", "resumed").event(turn.turn_id))
        if self.floor.barge_in:
            self.interrupt()

    # -- think
    def _think(self) -> None:
        while not self._stopping.is_set():
            try:
                turn = self._turns.get(timeout=_POLL_S)
            except queue.Empty:
                self._maybe_prefill()
                continue
            try:
                if turn.start_thinking():  # False: cancelled while it waited
                    with self._thinking:
                        self._answer(turn)
            except Exception as exc:  # one failed turn must not end the agent
                log.exception("turn %d failed", turn.turn_id)
                self._publish(turn, Error("think", str(exc)).event(turn.turn_id))
                self._enqueue_speech(turn, APOLOGY_FAILED)
            finally:
                self._enqueue_speech(turn, _END)

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
        proposal = self.history.take_proposal()
        if proposal is not None:
            answer = confirmation_answer(turn.user_text)
            if answer is not None:
                spoken = (self._act(turn, proposal.tool, proposal.args) if answer
                          else DECLINED_VI)
                if spoken is not None:
                    for clause in chunker.feed(spoken) + chunker.flush():
                        self._enqueue_speech(turn, clause)
                return
        first = True
        result = None
        for item in self.understander.stream(turn.user_text, turn.cancel,
                                             self.history.messages()):
            if first:
                first = False
                self._publish(turn, LlmFirstToken(item.ttft_s).event(turn.turn_id))
            if isinstance(item, ReplyChunk):
                for clause in chunker.feed(item.text):
                    self._enqueue_speech(turn, clause)
                    turn.first_audio.wait(_FIRST_AUDIO_WAIT_S)
            else:
                result = item
        if turn.cancel.is_set() or result is None:
            return
        if result.tool is None:
            if result.proposal is not None:
                proposal = result.proposal
                self._publish(turn, Confirming(proposal.tool, proposal.args,
                                               proposal.reason).event(turn.turn_id))
                self.history.propose(result.proposal)
            for clause in chunker.flush():
                self._enqueue_speech(turn, clause)
            return
        spoken = self._act(turn, result.tool, result.args)
        if spoken is not None:
            for clause in chunker.feed(spoken) + chunker.flush():
                self._enqueue_speech(turn, clause)

    def _act(self, turn: Turn, name: str, args: dict[str, Any]) -> str | None:
        """Make the call and return what to speak; ``None`` when the turn was cancelled first.

        From here the request acts: it can no longer be withdrawn.
        """
        if not turn.act():
            return None
        turn.call_line = format_call(self.tools[name], args)
        self._publish(turn, ToolCall(name, args).event(turn.turn_id))
        return self._run_tool(turn, name, args)

    def _run_tool(self, turn: Turn, name: str, args: dict[str, Any]) -> str:
        """Run a tool on its own thread; say a filler if it is slow; return what to speak."""
        call = self.tools.start(name, args, self.tool_timeout_s)
        result = call.result(SLOW_TOOL_S)
        if result is None:
            self._enqueue_speech(turn, FILLER_VI)
            result = call.result(None)
        self._publish(turn, ToolReturned(name, result.ok, result.value if result.ok else None,
                                         result.error).event(turn.turn_id))
        if not result.ok:
            return result.spoken or ""
        value = result.value
        if isinstance(value, dict):
            return str(value.get("say") or "Xong rồi.")
        return str(value) if value else "Xong rồi."

    def _enqueue_speech(self, turn: Turn, item: Any) -> None:
        """Hand a clause (or the turn's end) to the speaker, waiting while it is behind; a
        cancelled turn's clauses are dropped, but its end always goes (until shutdown)."""
        while not self._stopping.is_set():
            if item is not _END and turn.cancel.is_set():
                return
            try:
                self._speech.put((turn, item), timeout=_POLL_S)
                return
            except queue.Full:
                continue

    # -- speak
    def _next_speech(self) -> tuple[Turn, Any] | None:
        """The next clause or turn end for the speaker; None once the agent is stopping."""
        while not self._stopping.is_set():
            try:
                return self._speech.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        return None

    def _speak(self) -> None:
        while (item := self._next_speech()) is not None:
            turn, payload = item
            if payload is not _END:
                self._speak_turn(turn, payload)
            self._finish_turn(turn)

    def _speak_turn(self, turn: Turn, first_clause: str) -> None:
        """Speak one turn's clauses, the first already taken, until its end marker."""
        from edgevox.tts import speak

        def clauses() -> Iterator[str]:
            yield first_clause
            while (item := self._next_speech()) is not None and item[1] is not _END:
                yield item[1]

        def clauses_played() -> Iterator[str]:
            for clause in clauses():
                self.floor.played(clause)
                yield clause

        def on_first_audio(clause: str, synth_s: float | None) -> None:
            turn.start_speaking()
            with self._open_lock:
                if turn.state is TurnState.SPEAKING:
                    self._speaking = turn
            latency_s = turn.timeline.response_s(time.monotonic())
            self._publish(turn, SpeakingStarted(
                clause, audio=self.synthesizer is not None,
                latency_s=None if latency_s is None else round(latency_s, 4),
                tts_first_audio_s=None if synth_s is None else round(synth_s, 4),
            ).event(turn.turn_id))
            turn.first_audio.set()

        spoken = clauses_played()
        try:
            speak(spoken, self.synthesizer, self.sink, cancel=turn.cancel,
                  on_first_audio=on_first_audio)
        finally:
            turn.first_audio.set()
            for _ in spoken:  # drop what is left of a cancelled turn, up to its end
                pass
