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
   words as they are generated.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgevox.errors import ModelError, ToolError
from edgevox.llm.calls import parse_call, quote
from edgevox.llm.engine import GenerationStats, LlamaEngine
from edgevox.llm.grammar import Matcher, request_word_spans, tool_grammar
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

    def to_dict(self) -> dict[str, Any]:
        """``{"tool": name, "args": {...}}`` or ``{"tool": None, "reply": "..."}`` + timings."""
        out: dict[str, Any] = (
            {"tool": self.tool, "args": self.args}
            if self.tool is not None
            else {"tool": None, "reply": self.reply or ""}
        )
        out["ttft_s"] = None if self.ttft_s is None else round(self.ttft_s, 4)
        out["total_s"] = round(self.total_s, 4)
        return out


@dataclass(frozen=True)
class Hints:
    """What the deterministic parser read in a request."""

    times: tuple[TimeSpan, ...]
    """Durations and clock times, with where each is (offsets into the NFC text)."""
    numbers: tuple[int, ...]

    @property
    def durations_s(self) -> tuple[int, ...]:
        return tuple(t.seconds for t in self.times if t.seconds is not None)

    @property
    def clock_times(self) -> tuple[str, ...]:
        return tuple(t.clock for t in self.times if t.clock is not None)

    @classmethod
    def read(cls, text: str) -> Hints:
        from edgevox.text import spoken

        return cls(tuple(spoken.find_times(text)),
                   tuple(span.value for span in spoken.find_numbers(text)))


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
    ) -> None:
        if not tools:
            raise ToolError("register at least one tool")
        self.engine = engine
        self.tools = tools
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

        ``history`` holds earlier turns as chat messages (user, assistant, ...).
        """
        start = time.perf_counter()
        text = unicodedata.normalize("NFC", text)  # the parsers' offsets are into NFC text
        word_spans = request_word_spans(text)
        words = [word for word, _, _ in word_spans]
        hints = Hints.read(text)
        choices = argument_choices(self.tools, hints)
        grammar = tool_grammar(
            offered_tools(self.tools, hints), choices, words,
            reserved=reserved_words(self.tools, choices, word_spans, hints),
        )
        guide = _CallGuide(grammar.matcher(), words)
        prompt = self._fit(history, self.engine.tokenize(text.strip()) + self._suffix)
        first_s: float | None = None
        emitted = 0
        pieces = self.engine.generate(prompt, grammar.text, self.max_tokens, cancel, guide)
        try:
            for _piece in pieces:
                if first_s is None:
                    first_s = time.perf_counter() - start
                if guide.text.startswith(_REPLY_OPEN):
                    body = guide.text[len(_REPLY_OPEN) :].split('"', 1)[0]
                    if len(body) > emitted:
                        yield ReplyChunk(body[emitted:], first_s)
                        emitted = len(body)
        finally:
            pieces.close()
        result = self._result(guide.text, self.engine.last_stats, cancel)
        result.ttft_s = first_s
        result.total_s = time.perf_counter() - start
        yield result

    def _result(
        self, out: str, stats: GenerationStats, cancel: threading.Event | None
    ) -> Understanding:
        cancelled = cancel is not None and cancel.is_set()
        if out.startswith(_REPLY_OPEN):
            reply = out[len(_REPLY_OPEN) :].split('"', 1)[0].strip()
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
