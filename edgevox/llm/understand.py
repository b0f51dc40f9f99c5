"""Understanding: one Vietnamese request -> exactly one validated tool call, or a spoken reply.

Per request the :class:`Understander`

1. reads numbers, durations and clock times out of the request with the deterministic parser
   (:mod:`edgevox.text.spoken`) and narrows the matching tool arguments to those values, so the
   model only decides *which* tool; "hai phút rưỡi" becomes 150 seconds without LLM arithmetic;
2. builds the grammar of "one registered tool call or ``say("...")``" with plain string
   arguments limited to runs of the request's words (names, places, titles are copied, not
   translated or invented), except the words a duration or clock time was read from, for the
   tool that takes that time (a timer's "mười lăm phút" is not also its label);
3. sends only the request's own tokens after the cached prefix (see :mod:`edgevox.llm.prompt`),
   and decodes greedily under the grammar, with forced characters batched and copied words
   drafted (see :class:`edgevox.llm.engine.LlamaEngine`);
4. reads the call back, validates it with the tool's pydantic model, or streams the reply's
   words as they are generated (cut after two sentences, or at a loop: :func:`reply_end`);
5. decides whether a call is made, asked about first or replaced by a spoken answer, from the
   model's own probability of acting and the arguments' plausibility
   (:mod:`edgevox.llm.decide`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgevox.errors import ModelError, ToolError
from edgevox.llm.calls import parse_call, quote
from edgevox.llm.decide import (
    UNSURE_REPLY,
    ActPolicy,
    Proposal,
    Verdict,
    act_probability,
    asked_tools,
    asks_something,
    confirmation_question,
    decide,
    unnamed_place,
    wanted_part,
)
from edgevox.llm.engine import GenerationStats, LlamaEngine
from edgevox.llm.grammar import Grammar, Matcher, request_word_spans, tool_grammar
from edgevox.llm.prompt import build_messages, select_examples
from edgevox.tools.registry import APOLOGY_INVALID, REPLY_TOOL, Example, Param, Tool

if TYPE_CHECKING:
    from edgevox.text.spoken import TimeSpan

logger = logging.getLogger(__name__)

_REPLY_OPEN = REPLY_TOOL + '("'
_OPEN_WORD = re.compile(r"[^\W\d]+$")
_SEPARATOR = "\u241e"  # stands in for the request while the chat template is rendered once


@dataclass(frozen=True)
class ReplyChunk:
    """A piece of the spoken reply, as soon as the model wrote it."""

    text: str
    ttft_s: float | None = None
    """Request -> the model's first token (the same for every chunk of one reply)."""


@dataclass
class Understanding:
    """The outcome of one request."""

    tool: str | None
    args: dict[str, Any] = field(default_factory=dict)
    reply: str | None = None
    ttft_s: float | None = None
    """Request -> first output token."""
    total_s: float = 0.0
    """Request -> validated call or complete reply."""
    raw: str = ""
    """What the model wrote (call syntax)."""
    stats: GenerationStats = field(default_factory=GenerationStats)
    cancelled: bool = False
    act_p: float | None = None
    """The model's probability of acting rather than replying (see
    :func:`~edgevox.llm.decide.act_probability`); ``None`` for a reply it chose itself."""
    reason: str = ""
    """Why a call the model chose was made, asked about or declined."""
    proposal: Proposal | None = None
    """The call a confirming question asks about; it runs only on the person's yes."""
    declined: str | None = None
    """The call the model wrote and the agent did not make (it answered instead)."""

    def to_dict(self) -> dict[str, Any]:
        """``{"tool": name, "args": {...}}`` or ``{"tool": None, "reply": "..."}`` + timings."""
        out: dict[str, Any] = (
            {"tool": self.tool, "args": self.args}
            if self.tool is not None
            else {"tool": None, "reply": self.reply or ""}
        )
        if self.proposal is not None:
            out["confirm"] = {"tool": self.proposal.tool, "args": self.proposal.args}
        if self.declined is not None:
            out["declined"] = self.declined
        if self.act_p is not None:
            out["act_p"] = round(self.act_p, 4)
        out["ttft_s"] = None if self.ttft_s is None else round(self.ttft_s, 4)
        out["total_s"] = round(self.total_s, 4)
        return out


ROOMS_NAMED_VI: dict[str, tuple[str, ...]] = {
    "living_room": ("phòng khách",),
    "bedroom": ("phòng ngủ",),
    "kitchen": ("bếp",),  # "nhà bếp", "phòng bếp", "gian bếp"
    "bathroom": ("phòng tắm", "nhà tắm", "nhà vệ sinh"),
    "office": ("phòng làm việc", "văn phòng"),
}
"""How a request names the rooms of an enum that has these values (the built-in tools' and the
reference tool set's). The model maps the Vietnamese name to the English value itself and
sometimes gets it wrong ("đèn trong phòng khách" became ``room="kitchen"``), so an enum argument
is narrowed to the rooms the request names, as times are to the times it says."""


@dataclass(frozen=True)
class Hints:
    """What the deterministic parser read in a request."""

    times: tuple[TimeSpan, ...]
    """Durations and clock times, with where each is (offsets into the NFC text)."""
    numbers: tuple[int, ...]
    rooms: tuple[str, ...] = ()
    """The enum values of :data:`ROOMS_NAMED_VI` the request names, in its order."""

    @property
    def durations_s(self) -> tuple[int, ...]:
        return tuple(t.seconds for t in self.times if t.seconds is not None)

    @property
    def clock_times(self) -> tuple[str, ...]:
        return tuple(t.clock for t in self.times if t.clock is not None)

    @classmethod
    def read(cls, text: str) -> Hints:
        from edgevox.text import spoken

        words = " " + " ".join(word.lower() for word, _, _ in request_word_spans(text)) + " "
        named = sorted((words.find(f" {name} "), room) for room, names in ROOMS_NAMED_VI.items()
                       for name in names if f" {name} " in words)
        return cls(tuple(spoken.find_times(text)),
                   tuple(span.value for span in spoken.find_numbers(text)),
                   tuple(dict.fromkeys(room for _, room in named)))


def param_kind(param: Param) -> str | None:
    """Which parser result fits an argument: duration_s, duration_min, clock, number or None.

    Integers named in seconds or minutes (``duration_seconds``, ``delay_s``, ``minutes``) take
    durations, ``HH:MM`` strings take clock times, other integers take plain numbers.
    """
    name = param.name.lower()
    if param.type == "integer" and not param.enum:
        if "second" in name or name.endswith(("_s", "_sec", "_secs")):
            return "duration_s"
        if "minute" in name or name.endswith(("_min", "_mins")):
            return "duration_min"
        return "number"
    return "clock" if param.clock_time else None


def argument_choices(tools: Mapping[str, Tool], hints: Hints) -> dict[str, dict[str, list[str]]]:
    """Formatted values the parser found for each tool argument they fit (schema-valid only).

    Arguments with nothing found are left to the schema's own grammar.
    """
    found: dict[str | None, list[Any]] = {
        "duration_s": list(hints.durations_s),
        "duration_min": [d // 60 for d in hints.durations_s if d % 60 == 0],
        "clock": list(hints.clock_times),
        "number": list(hints.numbers),
        None: [],
    }
    choices: dict[str, dict[str, list[str]]] = {}
    for tool in tools.values():
        for param in tool.params:
            rooms = [quote(room) for room in hints.rooms if room in param.enum]
            if rooms:
                choices.setdefault(tool.name, {})[param.name] = rooms
                continue
            kind = param_kind(param)
            values = [
                v
                for v in dict.fromkeys(found[kind])
                if kind == "clock"
                or (
                    (param.minimum is None or v >= param.minimum)
                    and (param.maximum is None or v <= param.maximum)
                )
            ]
            if values:
                formatted = [quote(v) if kind == "clock" else str(v) for v in values]
                choices.setdefault(tool.name, {})[param.name] = formatted
    return choices


_TIME_KINDS = ("duration_s", "duration_min", "clock")


def reserved_words(
    tools: Mapping[str, Tool],
    choices: Mapping[str, Mapping[str, Sequence[str]]],
    word_spans: Sequence[tuple[str, int, int]],
    hints: Hints,
) -> dict[str, frozenset[int]]:
    """For each tool given a duration or clock time from the request, the indices of the words
    that time was read from: its string arguments may not copy them as well.

    Without this "hẹn giờ mười lăm phút" became ``set_timer(900, label="mười lăm phút")``.
    """
    timed = frozenset(
        i
        for i, (_, start, end) in enumerate(word_spans)
        if any(start < t.end and t.start < end for t in hints.times)
    )
    if not timed:
        return {}
    return {
        tool.name: timed
        for tool in tools.values()
        if any(param_kind(p) in _TIME_KINDS and p.name in choices.get(tool.name, {})
               for p in tool.params)
    }


def offered_tools(tools: Mapping[str, Tool], hints: Hints) -> list[Tool]:
    """The tools a request can call: those its time expressions do not rule out.

    When the parser found a duration ("năm phút") but no clock time, a tool that needs a clock
    time (an alarm) cannot be called correctly, and the reverse for a tool that needs a duration
    (a timer). A small model mixes the two up easily, so the grammar leaves such a tool out.
    With neither or both found, every tool stays.
    """
    ruled_out: set[str] = set()
    if hints.durations_s and not hints.clock_times:
        ruled_out.add("clock")
    if hints.clock_times and not hints.durations_s:
        ruled_out.update({"duration_s", "duration_min"})
    return [
        tool
        for tool in tools.values()
        if not any(p.required and param_kind(p) in ruled_out for p in tool.params)
    ]


class _CallGuide:
    """Feeds the engine what the grammar forces and drafts words copied from the request."""

    def __init__(self, matcher: Matcher, words: Sequence[str]) -> None:
        self._matcher = matcher
        self._states = matcher.start
        self._source = " ".join(words)
        self.text = ""

    def advance(self, text: str) -> None:
        self.text += text
        self._states = self._matcher.step(self._states, text)

    def forced(self) -> str:
        """The grammar's forced text, never ending inside a word that is still open.

        With "on" and "off" left, the grammar forces the "o"; handing the model a lone "o" would
        make it choose between unnatural tokens ("n" / "ff") and it guesses badly, so a trailing
        run of letters is left for the model to write as the word it knows.
        """
        text = self._matcher.forced(self._states)
        if text and not self._matcher.is_done(self._matcher.step(self._states, text)):
            text = _OPEN_WORD.sub("", text)
        return text

    def done(self) -> bool:
        return self._matcher.is_done(self._states)

    def draft(self) -> str:
        """Inside a copied string argument: the request's next words after what was copied."""
        if self.text.startswith(_REPLY_OPEN) or self.text.count('"') % 2 == 0:
            return ""
        copied = self.text[self.text.rfind('"') + 1 :]
        if not copied:
            return ""
        at = self._source.find(copied)
        return "" if at < 0 else self._source[at + len(copied) :]


MAX_REPLY_SENTENCES = 2
"""A spoken answer is short: longer ones are cut at a sentence end."""
LONG_REPLY_SENTENCES = 5
"""When the request asks for more ("kể", "giải thích", "chi tiết", "hướng dẫn")."""
_MORE = frozenset({"kể", "giải", "chi", "hướng", "liệt", "kỹ", "kĩ"})
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
_LOOP_WORDS = 3
"""A run of at least this many words said twice in a row is a loop ("là một con vật có thể là
một con vật có thể ..."); shorter runs must come three times ("rất rất rất")."""


def previous_request_words(history: Sequence[dict[str, str]]) -> list[str]:
    """The words of the last request in ``history`` (none without one)."""
    earlier = next((m["content"] for m in reversed(history) if m.get("role") == "user"), "")
    return [word for word, _, _ in request_word_spans(unicodedata.normalize("NFC", earlier))]


def previous_call_tool(history: Sequence[dict[str, str]]) -> str | None:
    """The tool the agent's last answer in ``history`` called (it keeps a call as
    ``name(...)``), or ``None`` when that answer was spoken."""
    answer = next((m["content"] for m in reversed(history) if m.get("role") == "assistant"), "")
    name = answer.partition("(")[0]
    return name if name.isidentifier() and name != REPLY_TOOL else None


def asks_for_more(words: Sequence[str]) -> bool:
    """Whether the request asks for a longer answer than two sentences."""
    lowered = [w.lower() for w in words]
    return any(w in _MORE and (w != "chi" or "tiết" in lowered) for w in lowered)


def reply_end(body: str, max_sentences: int) -> int | None:
    """Where a reply being generated must end, or ``None`` to let it go on.

    After ``max_sentences`` sentences it ends at the last one's stop. A repeated run of words
    (a small model's loop) ends it before the repetition, at its last sentence end if it has
    one. Checked on every new piece, so a loop costs at most one repetition of speech.
    """
    stops = [m.end() for m in _SENTENCE_END.finditer(body)]
    if len(stops) >= max_sentences:
        return stops[max_sentences - 1]
    start = loop_start(body)
    if start is None:
        return None
    earlier = [stop for stop in stops if stop <= start]
    return earlier[-1] if earlier else start


_CLAUSE_END = re.compile(r"[,.!?;:](?=\s)")


def clause_ends(body: str) -> list[int]:
    """Where each complete clause of a reply ends (after its comma or stop)."""
    return [m.end() for m in _CLAUSE_END.finditer(body)]


def reply_body(out: str) -> str | None:
    """The text of a spoken reply the model wrote (``say("…")``, possibly unfinished), or
    ``None`` for a tool call."""
    return out[len(_REPLY_OPEN) :].split('"', 1)[0] if out.startswith(_REPLY_OPEN) else None


def sureness(chosen: Sequence[tuple[int, float]], start: int, end: int) -> float:
    """How sure the model was of ``body[start:end]`` of its reply (``chosen`` as in
    :attr:`GenerationStats.chosen`): the second lowest probability it gave a token there,
    1.0 with fewer than two. One unsure token is often only a choice of wording ("đảo" or
    "hòn đảo"); a guessed name or number takes two ("Hoàng" 0.10, "Sa" 0.16). The reply's
    first token, how it chose to begin, does not count."""
    lo, hi = len(_REPLY_OPEN) + start, len(_REPLY_OPEN) + end
    found = sorted(p for at, p in chosen if lo <= at < hi and at > len(_REPLY_OPEN))
    return found[1] if len(found) > 1 else 1.0


def loop_start(body: str) -> int | None:
    """Where the repetition of a run of words at the end of ``body`` begins, or ``None``."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", body)]
    words = [body[a:b].lower().strip(".,!?;:") for a, b in spans]
    for n in range(1, len(words) // 2 + 1):
        times = 2 if n >= _LOOP_WORDS else 3
        if len(words) >= n * times and all(
            words[-n:] == words[len(words) - (k + 1) * n : len(words) - k * n]
            for k in range(1, times)
        ):
            return spans[len(words) - (times - 1) * n][0]
    return None


class Understander:
    """Turns requests into tool calls or replies with one engine and one tool set."""

    def __init__(
        self,
        engine: LlamaEngine,
        tools: Mapping[str, Tool],
        examples: Sequence[tuple[str, Example]] = (),
        max_tokens: int = 100,
        warm: bool = True,
        state_dir: Path | None = None,
        policy: ActPolicy | None = None,
    ) -> None:
        if not tools:
            raise ToolError("register at least one tool")
        self.engine = engine
        self.tools = tools
        self.policy = policy or ActPolicy()
        self.max_tokens = max_tokens
        self.state_dir = state_dir
        self._messages = build_messages(tools, select_examples(tools, examples))
        rendered = engine.format_chat([*self._messages, {"role": "user", "content": _SEPARATOR}])
        prefix, _, suffix = rendered.partition(_SEPARATOR)
        self._prefix = engine.tokenize(prefix, special=True)
        self._suffix = engine.tokenize(suffix, special=True)
        if warm:
            self.warm()

    @property
    def prefix_tokens(self) -> int:
        """Length of the fixed prompt prefix in tokens."""
        return len(self._prefix)

    def warm(self) -> int:
        """Put the fixed prefix in the KV cache (from ``state_dir`` when saved there before);
        returns the tokens that had to be evaluated."""
        start = time.perf_counter()
        n = self.engine.warm(self._prefix, self.state_dir)
        elapsed = time.perf_counter() - start
        logger.info("prefix: %d tokens, %d evaluated in %.1f s", len(self._prefix), n, elapsed)
        return n

    def _prompt_prefix(self, history: Sequence[dict[str, str]]) -> list[int]:
        """The fixed prefix, followed by earlier turns of the conversation when there are any.

        History goes after the system prompt and examples, so the cached fixed prefix is still
        reused and only the conversation and the new request are evaluated.
        """
        if not history:
            return self._prefix
        rendered = self.engine.format_chat(
            [*self._messages, *history, {"role": "user", "content": _SEPARATOR}]
        )
        return self.engine.tokenize(rendered.partition(_SEPARATOR)[0], special=True)

    def _fit(self, history: Sequence[dict[str, str]], request: list[int]) -> list[int]:
        """Prefix, as much recent history as fits, and the request, with room for the answer.

        A long conversation or a long typed request must not overflow the context: the oldest
        exchanges are left out first, and a request too long even on its own is refused.
        """
        room = self.engine.n_ctx - self.max_tokens
        history = list(history)
        while len(prompt := self._prompt_prefix(history) + request) > room:
            if not history:
                raise ModelError(
                    f"the request is too long for the model: {len(request)} tokens where "
                    f"{room - len(self._prefix)} fit (llm.n_ctx {self.engine.n_ctx})"
                )
            history = history[2:]  # one exchange: the user's words and the answer
        return prompt

    def prefill(self, partial_text: str, history: Sequence[dict[str, str]] = ()) -> int:
        """Evaluate the words heard so far while the person is still speaking.

        The engine keeps whatever prefix of its cache the next prompt shares, so when the
        final transcript arrives only its last words (and any words the recogniser revised) are
        left to evaluate. Returns the tokens evaluated now (none for words too long to fit:
        the request itself will say so).
        """
        try:
            prompt = self._fit(history, self.engine.tokenize(partial_text))
        except ModelError:
            return 0
        return self.engine.warm(prompt)

    def stream(
        self,
        text: str,
        cancel: threading.Event | None = None,
        history: Sequence[dict[str, str]] = (),
    ) -> Iterator[ReplyChunk | Understanding]:
        """Reply pieces as they are generated, then the final :class:`Understanding`.

        ``history`` holds earlier turns as chat messages (user, assistant, ...). A tool call
        the model chose is checked by :func:`~edgevox.llm.decide.decide` before it is
        returned: when the model was unsure or an argument does not make sense, the outcome is
        a confirming question (with the call as its :attr:`Understanding.proposal`) or a spoken
        answer generated in its place, from the same cached prompt.
        """
        start = time.perf_counter()
        text = unicodedata.normalize("NFC", text)  # the parsers' offsets are into NFC text
        said, text = text, wanted_part(text)  # the call is written from what is wanted
        word_spans = request_word_spans(text)
        # a follow-up ("còn ngày mai thì sao") may copy a place or a name from the request
        # before it: those words come after the request's own, so their indices do not move
        words = [word for word, _, _ in word_spans] + previous_request_words(history)
        hints = Hints.read(text)
        choices = argument_choices(self.tools, hints)
        offered = offered_tools(self.tools, hints)
        reserved = reserved_words(self.tools, choices, word_spans, hints)
        grammar = tool_grammar(offered, choices, words, reserved=reserved)
        prompt = self._fit(history, self.engine.tokenize(text.strip()) + self._suffix)
        sentences = (LONG_REPLY_SENTENCES if asks_for_more(words[: len(word_spans)])
                     else MAX_REPLY_SENTENCES)
        # a question is answered only with what the model is sure of
        sure_from = self.policy.unsure_below if asks_something(said) else 0.0
        out, first_s = yield from self._generate(prompt, grammar, words, cancel, start,
                                                 sentences, sure_from)
        result = self._result(out, self.engine.last_stats, cancel)
        if result.tool is not None:
            verdict = self._judge(result, offered, said, history)
            asked = asked_tools(offered, said)
            if verdict is not Verdict.ACT and asked and self.tools[result.tool] not in asked:
                # the model took a tool nothing asked for while the request names another
                # ("alo cho anh Tuấn" became play_music): the call is written again among
                # the tools it does name, and judged the same way
                second_out, _ = yield from self._generate(
                    prompt, tool_grammar(asked, choices, words, reply=False, reserved=reserved),
                    words, cancel, start, sentences)
                second = self._result(second_out, self.engine.last_stats, cancel)
                if second.tool is not None and \
                        (second_verdict := self._judge(second, asked, said, history)) \
                        is not Verdict.ANSWER:
                    result, verdict, out = second, second_verdict, second_out
            tool = self.tools[result.tool]
            stats = result.stats
            if verdict is Verdict.CONFIRM:
                question = confirmation_question(tool, result.args)
                yield ReplyChunk(question, first_s)
                result = Understanding(
                    None, reply=question, raw=out, stats=stats, act_p=result.act_p,
                    reason=result.reason,
                    proposal=Proposal(tool.name, result.args, result.reason))
            elif verdict is Verdict.ANSWER:
                logger.info("not calling %s: %s", out, result.reason)
                act_p, reason, declined = result.act_p, result.reason, out
                out, _ = yield from self._generate(prompt, tool_grammar([], words), words,
                                                   cancel, start, sentences, sure_from)
                result = self._result(out, self.engine.last_stats, cancel)
                result.act_p, result.reason, result.declined = act_p, reason, declined
        result.ttft_s = first_s
        result.total_s = time.perf_counter() - start
        yield result

    def _judge(self, result: Understanding, offered: Sequence[Tool], text: str,
               history: Sequence[dict[str, str]]) -> Verdict:
        """Set the call's act probability (among ``offered``), repair an unnamed place, and
        decide it; the reason goes to ``result.reason``."""
        result.act_p = act_probability(result.stats.first_candidates, self.engine.piece,
                                       [tool.name for tool in offered])
        tool = self.tools[result.tool]
        # "thời tiết ở thành phố" names no place: the call is made without one
        result.args = unnamed_place(tool, result.args) or result.args
        verdict, result.reason = decide(tool, result.args, result.act_p, self.policy, text,
                                        previous_call_tool(history))
        return verdict

    def _generate(
        self,
        prompt: list[int],
        grammar: Grammar,
        words: Sequence[str],
        cancel: threading.Event | None,
        start: float,
        sentences: int,
        sure_from: float = 0.0,
    ) -> Generator[ReplyChunk, None, tuple[str, float | None]]:
        """Run the model under ``grammar``, yielding the reply's words as they come (at most
        ``sentences`` sentences); returns what it wrote and the time from ``start`` to its
        first token.

        With ``sure_from`` above 0 (the reply answers a question), a reply is let out a clause
        at a time, and only a clause the model was at least that sure of (:func:`sureness`):
        at the first one it was not, the reply ends, and says :data:`UNSURE_REPLY` when
        nothing came before it. A guess is not spoken.
        """
        guide = _CallGuide(grammar.matcher(), words)
        first_s: float | None = None
        emitted = 0
        body = ""
        pieces = self.engine.generate(prompt, grammar.text, self.max_tokens, cancel, guide)

        def unsure(upto: int) -> bool:
            return sureness(self.engine.last_stats.chosen, emitted, upto) < sure_from

        try:
            for _piece in pieces:
                if first_s is None:
                    first_s = time.perf_counter() - start
                written = reply_body(guide.text)
                if written is None:
                    continue
                body = written
                end = reply_end(body, sentences)
                if end is not None:  # enough said, or a loop: the reply ends here
                    body = body[: max(end, emitted)]
                    guide.text = f'{_REPLY_OPEN}{body}")'
                finished = end is not None or guide.text.count('"') > 1  # closed: no '"' inside
                ready = len(body) if finished or not sure_from else (clause_ends(body) or [0])[-1]
                if sure_from and ready > emitted and unsure(ready):
                    break
                if ready > emitted:
                    yield ReplyChunk(body[emitted:ready], first_s)
                    emitted = ready
                if end is not None:
                    break
        finally:
            pieces.close()
        if reply_body(guide.text) is not None and emitted < len(body):  # held back, or unsure
            if not sure_from or not unsure(len(body)):
                yield ReplyChunk(body[emitted:], first_s)
            else:
                body = body[:emitted] or UNSURE_REPLY
                guide.text = f'{_REPLY_OPEN}{body}")'
                if not emitted:
                    yield ReplyChunk(body, first_s)
        return guide.text, first_s

    def _result(
        self, out: str, stats: GenerationStats, cancel: threading.Event | None
    ) -> Understanding:
        cancelled = cancel is not None and cancel.is_set()
        if (body := reply_body(out)) is not None:
            reply = body.strip()
            return Understanding(None, reply=reply, raw=out, stats=stats, cancelled=cancelled)
        if cancelled:
            return Understanding(None, reply="", raw=out, stats=stats, cancelled=True)
        try:
            name, args = parse_call(out, self.tools)
            args = self.tools[name].validate(args)
        except ToolError as exc:
            logger.warning("unusable model output %r: %s", out, exc)
            return Understanding(None, reply=APOLOGY_INVALID, raw=out, stats=stats)
        return Understanding(name, args=args, raw=out, stats=stats)

    def ask(
        self,
        text: str,
        cancel: threading.Event | None = None,
        history: Sequence[dict[str, str]] = (),
    ) -> Understanding:
        """The complete outcome of one request (the reply is collected, not streamed)."""
        result: Understanding | None = None
        for event in self.stream(text, cancel, history):
            if isinstance(event, Understanding):
                result = event
        assert result is not None
        return result
