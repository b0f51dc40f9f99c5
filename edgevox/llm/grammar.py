"""The tool-call grammar: one grammar, written as GBNF for llama.cpp and run in Python.

The grammar admits exactly one line in the call syntax of :mod:`edgevox.llm.calls`: one call
of a registered tool, or ``say("...")``. It is built per request from the registered tools
(enums, exact integer ranges, HH:MM-style patterns, booleans, optional arguments) and, when the
caller knows better than the model, narrowed: an argument can be restricted to values a
deterministic parser found in the request, and plain string arguments to spans of the
request's words.

The same grammar object serves two masters. llama.cpp enforces its GBNF text while sampling, and
:class:`Matcher`, a small NFA over the identical rules, tells the engine which characters are
forced (``set_t`` can only go on as ``imer(``; a duration the parser found is the only value
left) so they are evaluated in one batch instead of one decode step each.

Static pieces (the reply, free strings, booleans) live in ``grammars/tool-call.gbnf``. A source
checkout reads them from the repository's ``grammars/`` folder; a wheel carries the folder as
package data at ``edgevox/_data/grammars/`` (pyproject's force-include; checked first).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from edgevox.errors import ToolError
from edgevox.llm.calls import quote
from edgevox.tools.registry import Param, Tool

logger = logging.getLogger(__name__)

STATIC_GRAMMAR_FILE = "tool-call.gbnf"
_INT_LIMIT = 10**18 - 1  # an unbounded integer still has to fit in 64 bits
_RULE_NAME = re.compile(r"[a-zA-Z0-9-]+")


# --- grammar AST -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    """A literal string."""

    text: str


@dataclass(frozen=True)
class Chars:
    """One character from inclusive code-point ranges (or from outside them when negated)."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False


@dataclass(frozen=True)
class Seq:
    """Items one after the other."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    """Exactly one of the options."""

    options: tuple[Node, ...]


@dataclass(frozen=True)
class Rep:
    """``item`` repeated ``low`` to ``high`` times (``high=None``: no upper bound)."""

    item: Node
    low: int
    high: int | None


@dataclass(frozen=True)
class Ref:
    """A reference to a named rule."""

    name: str


Node = Lit | Chars | Seq | Alt | Rep | Ref


def seq(*items: Node) -> Node:
    """A sequence, flattened and without empty literals."""
    flat: list[Node] = []
    for item in items:
        parts = item.items if isinstance(item, Seq) else (item,)
        flat.extend(p for p in parts if p != Lit(""))
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def alt(*options: Node) -> Node:
    """A choice; a single option is returned as is."""
    unique = tuple(dict.fromkeys(options))
    return unique[0] if len(unique) == 1 else Alt(unique)


def optional(item: Node) -> Node:
    """Zero or one ``item``."""
    return Rep(item, 0, 1)


def char_range(low: str, high: str) -> Chars:
    """One character between ``low`` and ``high`` inclusive."""
    return Chars(((ord(low), ord(high)),))


DIGIT = char_range("0", "9")


# --- GBNF text ---------------------------------------------------------------------------------


def _escape_char(ch: str, specials: str) -> str:
    """One character inside a GBNF literal or class, escaped the ways llama.cpp reads."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
    if ch in named:
        return named[ch]
    if ch in specials:
        return "\\" + ch
    if ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "^":
        # llama.cpp has no \^ escape, and a bare ^ first in a class would negate it
        return f"\\x{ord(ch):02X}"
    return ch


def _gbnf(node: Node, inner: bool = False) -> str:
    """GBNF text of ``node``; ``inner`` adds parentheses where a suffix or sequence needs them."""
    if isinstance(node, Lit):
        return '"' + "".join(_escape_char(c, '"') for c in node.text) + '"'
    if isinstance(node, Chars):
        body = "".join(
            _escape_char(chr(lo), "]-[") + ("" if lo == hi else "-" + _escape_char(chr(hi), "]-["))
            for lo, hi in node.ranges
        )
        return "[" + ("^" if node.negated else "") + body + "]"
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, Seq):
        text = " ".join(_gbnf(item, inner=True) for item in node.items)
        return f"({text})" if inner else text
    if isinstance(node, Alt):
        text = " | ".join(_gbnf(option) for option in node.options)
        return f"({text})" if inner else text
    item = _gbnf(node.item, inner=True)
    suffix = {(0, 1): "?", (0, None): "*", (1, None): "+"}.get((node.low, node.high))
    if suffix is None:
        suffix = (
            f"{{{node.low}}}"
            if node.low == node.high
            else f"{{{node.low},{'' if node.high is None else node.high}}}"
        )
    return item + suffix


# --- reading the static GBNF pieces ------------------------------------------------------------


class _GbnfReader:
    """Reads the GBNF subset used in ``grammars/*.gbnf`` into AST rules.

    Literals, classes, groups, alternation, rule references and the quantifiers ``? * + {m,n}``:
    what the shared pieces need, so Python sees exactly the rules llama.cpp gets.
    """

    _ESCAPES: ClassVar[dict[str, str]] = {
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "\\": "\\",
        '"': '"',
        "[": "[",
        "]": "]",
        "-": "-",
    }

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.pos = 0
        self.source = source

    def error(self, message: str) -> ToolError:
        line = self.text.count("\n", 0, self.pos) + 1
        return ToolError(f"{self.source}:{line}: {message}")

    def skip(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif ch in " \t" or (newlines and ch in "\r\n"):
                self.pos += 1
            else:
                return

    def rules(self) -> dict[str, Node]:
        rules: dict[str, Node] = {}
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return rules
            name = self.name()
            self.skip(newlines=False)
            if not self.text.startswith("::=", self.pos):
                raise self.error(f"expected '::=' after rule name {name!r}")
            self.pos += 3
            if name in rules:
                raise self.error(f"rule {name!r} is defined twice")
            rules[name] = self.alternatives(depth=0)

    def name(self) -> str:
        match = _RULE_NAME.match(self.text, self.pos)
        if not match:
            raise self.error("expected a rule name")
        self.pos = match.end()
        return match.group()

    def alternatives(self, depth: int) -> Node:
        options = [self.sequence(depth)]
        while self.pos < len(self.text) and self.text[self.pos] == "|":
            self.pos += 1
            self.skip(newlines=True)
            options.append(self.sequence(depth))
        return alt(*options)

    def sequence(self, depth: int) -> Node:
        items: list[Node] = []
        while True:
            self.skip(newlines=depth > 0)
            if self.pos >= len(self.text) or self.text[self.pos] in "|)\r\n":
                return seq(*items) if items else Lit("")
            items.append(self.quantified(self.item(depth)))

    def item(self, depth: int) -> Node:
        ch = self.text[self.pos]
        if ch == '"':
            self.pos += 1
            chars = []
            while self.text[self.pos] != '"':
                chars.append(self.char())
            self.pos += 1
            return Lit("".join(chars))
        if ch == "[":
            return self.char_class()
        if ch == "(":
            self.pos += 1
            node = self.alternatives(depth + 1)
            self.skip(newlines=True)
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise self.error("expected ')'")
            self.pos += 1
            return node
        return Ref(self.name())

    def char(self) -> str:
        if self.pos >= len(self.text):
            raise self.error("unterminated literal or class")
        ch = self.text[self.pos]
        self.pos += 1
        if ch != "\\":
            return ch
        esc = self.text[self.pos]
        self.pos += 1
        if esc in self._ESCAPES:
            return self._ESCAPES[esc]
        width = {"x": 2, "u": 4, "U": 8}.get(esc)
        if width is None:
            raise self.error(f"unknown escape \\{esc}")
        code = self.text[self.pos : self.pos + width]
        self.pos += width
        return chr(int(code, 16))

    def char_class(self) -> Chars:
        self.pos += 1
        negated = self.text.startswith("^", self.pos)
        self.pos += negated
        ranges = []
        while self.text[self.pos] != "]":
            low = self.char()
            high = low
            if self.text[self.pos] == "-" and self.text[self.pos + 1] != "]":
                self.pos += 1
                high = self.char()
            ranges.append((ord(low), ord(high)))
        self.pos += 1
        return Chars(tuple(ranges), negated)

    def quantified(self, node: Node) -> Node:
        if self.pos >= len(self.text):
            return node
        ch = self.text[self.pos]
        bounds = {"?": (0, 1), "*": (0, None), "+": (1, None)}.get(ch)
        if bounds is not None:
            self.pos += 1
            return Rep(node, *bounds)
        match = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.text, self.pos)
        if not match:
            return node
        self.pos = match.end()
        low = int(match.group(1))
        high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
        return Rep(node, low, high)


def parse_gbnf(text: str, source: str = "<grammar>") -> dict[str, Node]:
    """Parse GBNF text (the subset edgevox writes) into rules; :class:`ToolError` on bad syntax."""
    try:
        return _GbnfReader(text, source).rules()
    except IndexError:
        raise ToolError(f"{source}: grammar ends in the middle of a rule") from None


def grammar_dir() -> Path:
    """The folder of the static ``*.gbnf`` pieces: package data first, then the source checkout."""
    package = Path(__file__).resolve().parent.parent
    candidates = (package / "_data" / "grammars", package.parent / "grammars")
    for candidate in candidates:
        if (candidate / STATIC_GRAMMAR_FILE).is_file():
            return candidate
    raise ToolError(
        f"grammar file {STATIC_GRAMMAR_FILE} not found in {' or '.join(map(str, candidates))}; "
        "reinstall edgevox"
    )


@cache
def static_rules() -> Mapping[str, Node]:
    """The shared rules from ``grammars/tool-call.gbnf`` (read once)."""
    path = grammar_dir() / STATIC_GRAMMAR_FILE
    return parse_gbnf(path.read_text(encoding="utf-8"), str(path))


@cache
def _syllables() -> Matcher:
    return Matcher(static_rules(), root="syllable")


def vietnamese_syllable(word: str) -> bool:
    """Whether ``word`` is spelled as one Vietnamese syllable, as the reply grammar writes them
    (``syllable`` in ``grammars/tool-call.gbnf``): "nghiêng" and "Quảng" are; "pencil", "wifi"
    and "TP" are not."""
    matcher = _syllables()
    return matcher.accepts(matcher.step(matcher.start, unicodedata.normalize("NFC", word)))


# --- integers and patterns -----------------------------------------------------------------


def _same_length_range(low: str, high: str) -> Node:
    """Digit strings of one length between ``low`` and ``high`` (inclusive)."""
    if low == high:
        return Lit(low)
    if len(low) == 1:
        return char_range(low, high)
    if low[0] == high[0]:
        return seq(Lit(low[0]), _same_length_range(low[1:], high[1:]))
    rest = len(low) - 1
    options: list[Node] = []
    first_full, last_full = int(low[0]), int(high[0])
    if low[1:] != "0" * rest:
        options.append(seq(Lit(low[0]), _same_length_range(low[1:], "9" * rest)))
        first_full += 1
    tail: Node | None = None
    if high[1:] != "9" * rest:
        tail = seq(Lit(high[0]), _same_length_range("0" * rest, high[1:]))
        last_full -= 1
    if first_full <= last_full:
        lead = char_range(str(first_full), str(last_full))
        options.append(seq(lead, Rep(DIGIT, rest, rest) if rest > 1 else DIGIT))
    if tail is not None:
        options.append(tail)
    return alt(*options)


def _natural_range(low: int, high: int) -> Node:
    """Decimal numerals without leading zeros for every integer in ``[low, high]``, ``low >= 0``."""
    options = []
    for digits in range(len(str(low)), len(str(high)) + 1):
        start = max(low, 10 ** (digits - 1) if digits > 1 else 0)
        end = min(high, 10**digits - 1)
        if start <= end:
            options.append(_same_length_range(str(start), str(end)))
    return alt(*options)


def int_range(low: int | None, high: int | None) -> Node:
    """A grammar admitting exactly the integers in ``[low, high]`` (open ends: 64-bit limits)."""
    low = -_INT_LIMIT if low is None else max(low, -_INT_LIMIT)
    high = _INT_LIMIT if high is None else min(high, _INT_LIMIT)
    if low > high:
        raise ToolError(f"empty integer range [{low}, {high}]")
    options = []
    if low < 0:
        options.append(seq(Lit("-"), _natural_range(max(1, -high), -low)))
    if high >= 0:
        options.append(_natural_range(max(0, low), high))
    return alt(*options)


def regex_node(pattern: str) -> Node:
    """A grammar for the strings a simple regular expression matches (anchors dropped).

    Covers what argument patterns use: literals, classes, ``\\d``, groups, ``|`` and bounded or
    open quantifiers. Anything else raises ValueError, and the caller falls back to a free string
    checked after generation.
    """
    # the standard library's own regular-expression parser (public as sre_parse before 3.11)
    try:
        import re._constants as c
        import re._parser as sre
    except ImportError:  # Python 3.10
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse as sre  # type: ignore[no-redef]

    def category(code: Any) -> tuple[tuple[int, int], ...]:
        if code is c.CATEGORY_DIGIT:
            return ((ord("0"), ord("9")),)
        raise ValueError(f"unsupported character category {code}")

    def convert(parsed: Iterable[tuple[Any, Any]]) -> Node:
        items: list[Node] = []
        for op, av in parsed:
            if op is c.LITERAL:
                items.append(Lit(chr(av)))
            elif op is c.NOT_LITERAL:
                items.append(Chars(((av, av),), negated=True))
            elif op is c.IN:
                negated = bool(av) and av[0][0] is c.NEGATE
                ranges: list[tuple[int, int]] = []
                for kind, value in av[negated:]:
                    if kind is c.LITERAL:
                        ranges.append((value, value))
                    elif kind is c.RANGE:
                        ranges.append(value)
                    elif kind is c.CATEGORY:
                        ranges.extend(category(value))
                    else:
                        raise ValueError(f"unsupported class item {kind}")
                items.append(Chars(tuple(ranges), negated))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
                low, high, sub = av
                items.append(Rep(convert(sub), low, None if high is c.MAXREPEAT else high))
            elif op is c.SUBPATTERN:
                items.append(convert(av[3]))
            elif op is c.BRANCH:
                items.append(alt(*(convert(branch) for branch in av[1])))
            elif op is c.AT and av in (c.AT_BEGINNING, c.AT_END, c.AT_END_STRING):
                continue
            else:
                raise ValueError(f"unsupported regular expression feature {op}")
        return seq(*items) if items else Lit("")

    try:
        return convert(sre.parse(pattern))
    except re.error as exc:
        raise ValueError(f"bad pattern {pattern!r}: {exc}") from exc


# --- NFA matcher -------------------------------------------------------------------------------


_Pred = tuple[bool, tuple[tuple[int, int], ...]]


class Matcher:
    """A character-level NFA over a grammar: is a text a valid prefix, is it complete, and which
    characters come next no matter what the model chooses.

    States are sets of NFA node ids, so a caller walks a growing text with :meth:`step` and asks
    :meth:`forced` for the continuation the grammar leaves no choice about.
    """

    _MAX_NODES = 200_000

    def __init__(self, rules: Mapping[str, Node], root: str = "root") -> None:
        self._rules = rules
        self._eps: list[list[int]] = []
        self._edges: list[list[tuple[_Pred, int]]] = []
        start, self._final = self._new(), self._new()
        self._build(Ref(root), start, self._final, ())
        self.start: frozenset[int] = self._closure({start})

    def _new(self) -> int:
        if len(self._eps) >= self._MAX_NODES:
            raise ToolError("tool grammar is too large to match")
        self._eps.append([])
        self._edges.append([])
        return len(self._eps) - 1

    def _build(self, node: Node, src: int, dst: int, stack: tuple[str, ...]) -> None:
        if isinstance(node, Lit):
            cur = src
            for i, ch in enumerate(node.text):
                nxt = dst if i == len(node.text) - 1 else self._new()
                self._edges[cur].append(((False, ((ord(ch), ord(ch)),)), nxt))
                cur = nxt
            if not node.text:
                self._eps[src].append(dst)
        elif isinstance(node, Chars):
            self._edges[src].append(((node.negated, node.ranges), dst))
        elif isinstance(node, Seq):
            cur = src
            for i, item in enumerate(node.items):
                nxt = dst if i == len(node.items) - 1 else self._new()
                self._build(item, cur, nxt, stack)
                cur = nxt
        elif isinstance(node, Alt):
            for option in node.options:
                self._build(option, src, dst, stack)
        elif isinstance(node, Ref):
            if node.name in stack:
                raise ToolError(f"grammar rule {node.name!r} is recursive")
            if node.name not in self._rules:
                raise ToolError(f"grammar rule {node.name!r} is not defined")
            self._build(self._rules[node.name], src, dst, (*stack, node.name))
        else:
            self._build_rep(node, src, dst, stack)

    def _build_rep(self, node: Rep, src: int, dst: int, stack: tuple[str, ...]) -> None:
        cur = src
        for _ in range(node.low):
            nxt = self._new()
            self._build(node.item, cur, nxt, stack)
            cur = nxt
        if node.high is None:
            loop_end = self._new()
            self._build(node.item, cur, loop_end, stack)
            self._eps[loop_end].append(cur)
        else:
            for _ in range(node.high - node.low):
                nxt = self._new()
                self._eps[cur].append(dst)
                self._build(node.item, cur, nxt, stack)
                cur = nxt
        self._eps[cur].append(dst)

    def _closure(self, states: Iterable[int]) -> frozenset[int]:
        seen = set(states)
        todo = list(seen)
        while todo:
            for nxt in self._eps[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    @staticmethod
    def _admits(pred: _Pred, code: int) -> bool:
        negated, ranges = pred
        return any(lo <= code <= hi for lo, hi in ranges) != negated

    def step(self, states: frozenset[int], text: str) -> frozenset[int]:
        """States after reading ``text``; empty when the text left the grammar."""
        for ch in text:
            code = ord(ch)
            states = self._closure(
                nxt for s in states for pred, nxt in self._edges[s] if self._admits(pred, code)
            )
            if not states:
                break
        return states

    def accepts(self, states: frozenset[int]) -> bool:
        """Whether the text read so far is a complete sentence of the grammar."""
        return self._final in states

    def is_done(self, states: frozenset[int]) -> bool:
        """Complete and nothing may follow: generation can stop without asking the model."""
        return self.accepts(states) and not any(self._edges[s] for s in states)

    def forced(self, states: frozenset[int], limit: int = 64) -> str:
        """The characters that must follow, whatever the model picks (up to ``limit``)."""
        out: list[str] = []
        while len(out) < limit and states and not self.accepts(states):
            preds = {pred for s in states for pred, _ in self._edges[s]}
            if len(preds) != 1:
                break
            negated, ranges = next(iter(preds))
            if negated or len(ranges) != 1 or ranges[0][0] != ranges[0][1]:
                break
            ch = chr(ranges[0][0])
            out.append(ch)
            states = self.step(states, ch)
        return "".join(out)


# --- the tool-call grammar ---------------------------------------------------------------------


@dataclass(frozen=True)
class Grammar:
    """Named rules with a ``root``; :attr:`text` is the GBNF llama.cpp compiles."""

    rules: Mapping[str, Node]

    @property
    def text(self) -> str:
        return "\n".join(f"{name} ::= {_gbnf(node)}" for name, node in self.rules.items()) + "\n"

    def matcher(self) -> Matcher:
        return Matcher(self.rules)


def rule_name(tool_name: str) -> str:
    """GBNF rule name of a tool (rule names allow letters, digits and '-', not '_')."""
    return "call-" + tool_name.replace("_", "-")


def request_word_spans(text: str) -> list[tuple[str, int, int]]:
    """The request's words as string arguments may copy them (edge punctuation stripped), each
    with the (start, end) offsets in ``text`` of the piece it was cut from."""
    spans = []
    for match in re.finditer(r'[^\s"]+', text):
        word = match.group().strip(".,;:!?…()[]{}'“”‘’")
        if word and "\\" not in word:
            spans.append((word, match.start(), match.end()))
    return spans


# Above this many words, string arguments are not limited to runs of them: the character matcher
# inlines every run, so its size grows with the square of the words, and a request this long was
# typed, not spoken.
MAX_SPAN_WORDS = 40


def _span_rules(words: Sequence[str], name: str, reserved: AbstractSet[int]) -> dict[str, Node]:
    """Rule ``name`` admits any run of consecutive request words none of which is in
    ``reserved`` (word indices), in O(len(words)) rules; no rules when every word is reserved."""
    def run_from(i: int, lead: str) -> Node:
        more = i + 1 < len(words) and i + 1 not in reserved
        return seq(Lit(lead + words[i]), *([optional(Ref(f"{name}-{i + 1}"))] if more else []))

    free = [i for i in range(len(words)) if i not in reserved]
    if not free:
        return {}
    rules = {f"{name}-{i}": run_from(i, " ") for i in free if i - 1 in free}
    rules[name] = alt(*(run_from(i, "") for i in free))
    return rules


def value_node(param: Param, choices: Sequence[str] = (), string: Node | None = None) -> Node:
    """The grammar of one argument value.

    ``choices`` (already formatted values, e.g. ``'300'`` or ``'"06:00"'``) replace the schema's
    grammar when a parser found candidates in the request; ``string`` replaces the free string
    for a plain string argument (runs of the request's words).
    """
    if choices:
        return alt(*(Lit(choice) for choice in choices))
    if param.enum:
        return alt(*(Lit(quote(value)) for value in param.enum))
    if param.type == "boolean":
        return Ref("boolean")
    if param.type == "integer":
        return int_range(param.minimum, param.maximum)
    if param.pattern:
        try:
            return seq(Lit('"'), regex_node(param.pattern), Lit('"'))
        except ValueError as exc:
            logger.warning("argument %s: %s; generating a free string", param.name, exc)
    return string if string is not None else Ref("free-string")


def _optionals(items: Sequence[Node], after_required: bool) -> Node:
    """Optional ``key=value`` items in order, each may be left out, comma-separated."""
    if not items:
        return Lit("")
    if after_required:
        return seq(*(optional(seq(Lit(", "), item)) for item in items))
    firsts = [seq(item, _optionals(items[i + 1 :], True)) for i, item in enumerate(items)]
    return optional(alt(*firsts))


def call_node(
    tool: Tool, choices: Mapping[str, Sequence[str]] | None = None, string: Node | None = None
) -> Node:
    """The grammar of one call of ``tool``; ``string`` as in :func:`value_node`."""
    choices = choices or {}
    required = [p for p in tool.params if p.required]
    optional_params = [p for p in tool.params if not p.required]
    parts: list[Node] = [Lit(tool.name + "(")]
    for i, param in enumerate(required):
        if i:
            parts.append(Lit(", "))
        parts.append(value_node(param, choices.get(param.name, ()), string))
    keyed = [
        seq(Lit(p.name + "="), value_node(p, choices.get(p.name, ()), string))
        for p in optional_params
    ]
    parts.append(_optionals(keyed, bool(required)))
    parts.append(Lit(")"))
    return seq(*parts)


def tool_grammar(
    tools: Sequence[Tool],
    choices: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    words: Sequence[str] | None = None,
    reply: bool = True,
    reserved: Mapping[str, AbstractSet[int]] | None = None,
) -> Grammar:
    """The grammar of "exactly one call of one of ``tools``, or a spoken reply".

    ``choices[tool][param]`` narrows an argument to values found in the request; ``words`` (the
    request's words) limits plain string arguments to runs of them (up to ``MAX_SPAN_WORDS``);
    ``reserved[tool]`` holds indices of words that tool's string arguments may not copy, because
    a parser already read them for another of its arguments (the "mười lăm phút" of a timer is
    its duration, not also its label).
    """
    if not tools and not reply:
        raise ToolError("a grammar needs at least one tool or the spoken reply")
    choices = choices or {}
    reserved = reserved or {}
    spans = bool(words) and len(words) <= MAX_SPAN_WORDS
    rules: dict[str, Node] = {}
    span_names: dict[frozenset[int], str] = {}
    options: list[Node] = []
    for tool in tools:
        string: Node | None = None
        if spans and words:
            kept = frozenset(reserved.get(tool.name, ()))
            if kept not in span_names:
                span_names[kept] = "span" if not kept else f"span-r{len(span_names)}"
                rules.update(_span_rules(words, span_names[kept], kept))
            name = span_names[kept]
            # "" stays possible: a required place or name the user did not say
            string = seq(Lit('"'), optional(Ref(name)), Lit('"')) if name in rules else Lit('""')
        rules[rule_name(tool.name)] = call_node(tool, choices.get(tool.name), string)
        options.append(Ref(rule_name(tool.name)))
    shared = dict(static_rules())
    if reply:
        options.append(Ref("say-call"))
        # the request's own words may be said back even when they are not Vietnamese ("wifi")
        foreign = [w for w in dict.fromkeys(words or ()) if not vietnamese_syllable(w)
                   and any(ch.isalpha() for ch in w)]
        if foreign:
            said = dict.fromkeys(v for w in foreign for v in (w, w[:1].upper() + w[1:]))
            shared["reply-word"] = alt(shared["reply-word"], *(Lit(w) for w in said))
    root: dict[str, Node] = {"root": alt(*options)}
    return Grammar({**root, **rules, **shared})
