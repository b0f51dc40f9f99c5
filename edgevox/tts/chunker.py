"""Cut a stream of LLM tokens into clauses that can be spoken one at a time.

Speech can start as soon as the first clause is complete, so the chunker emits clauses the moment
their end is certain rather than waiting for the whole answer. A clause ends at sentence
punctuation (``. ! ? …``), clause punctuation (``, ; : — –``) or a line break, but only when the
mark is followed by white space: that one rule keeps numbers (``1.250.000``, ``3,5``, ``7:30``)
and dotted names (``TP.HCM``) whole. A period after a known abbreviation (``v.v.``, ``TP.``,
``ThS.``) or a single capital initial is not a sentence end. Text that runs past ``max_chars``
without punctuation is cut at a word boundary. Tokens may end in the middle of a word
(``"xin ch"`` + ``"ào"``); a clause only ever ends where white space has been seen, so a word is
never broken.

Short clauses cost prosody and a model call each, so a clause is emitted only once it has at least
two words and ``min_chars`` characters. The first clause of an utterance is different: the
listener is waiting for it, and Piper's time to first audio grows with the clause (about 40 ms
plus 3 ms per spoken character on two x86 cores), so it may be as short as ``first_min_chars``
and is cut at ``first_max_chars``.

Lengths are measured by ``spoken_length``: given the voice's normaliser, "năm 2024" counts as the
36 characters of "năm hai nghìn không trăm hai mươi tư" it will be read as, not as 8.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# A run of punctuation, then any closing quotes or brackets, then (not consumed) white space;
# or the position of a line break.
_BREAK_RE = re.compile(r"(?P<punct>[.!?…,;:—–]+)[\"'”’)\]}»]*(?=\s)|(?=\n)")
_WHITESPACE_RE = re.compile(r"\s")
_NEXT_WORD_RE = re.compile(r"\s+(\S+)(?=\s)")

# Lower-cased, without the final period: a period after these does not end a sentence.
_ABBREVIATIONS = frozenset(
    {
        "v.v",  # vân vân (etc.)
        "vv",
        "tp",  # thành phố
        "q",  # quận
        "p",  # phường
        "tr",  # trang
        "đ",  # đường
        "ts",  # tiến sĩ
        "ths",  # thạc sĩ
        "pgs",  # phó giáo sư
        "gs",  # giáo sư
        "bs",  # bác sĩ
        "ks",  # kỹ sư
        "cn",  # cử nhân
        "pgs.ts",
        "gs.ts",
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "vs",
        "e.g",
        "i.e",
    }
)

# When text must be cut without punctuation, cutting before one of these conjunctions or
# prepositions keeps the two halves sounding natural.
_CUT_BEFORE_WORDS = frozenset(
    {"và", "nhưng", "nên", "vì", "mà", "thì", "để", "hoặc", "nếu", "khi", "rồi", "do", "bởi"}
    | {"ở", "tại", "từ", "lúc", "với", "trong"}
)


class ClauseChunker:
    """Accumulate streamed text and hand out complete clauses.

    ``feed`` returns the clauses that became complete with this token; ``flush`` returns what is
    left at the end of the stream and makes the chunker ready for the next utterance. Not
    thread-safe: one chunker belongs to one producer.
    """

    def __init__(
        self,
        max_chars: int = 120,
        min_chars: int = 20,
        first_min_chars: int = 6,
        first_max_chars: int = 36,
        spoken_length: Callable[[str], int] = len,
    ):
        """Configure clause lengths.

        Args:
            max_chars: a clause never exceeds this unless a single word does; longer runs
                without punctuation are cut at a word boundary.
            min_chars: punctuation ends a clause only once the clause is at least this long;
                shorter pieces are joined to the next one.
            first_min_chars: ``min_chars`` for the first clause of an utterance.
            first_max_chars: ``max_chars`` for the first clause (capped at ``max_chars``).
            spoken_length: the length of a piece of text as it will be spoken (all limits are in
                these units); the default counts written characters. It is assumed never to be
                shorter than the written text by much, so only a short head of the buffer is
                ever measured.
        """
        if max_chars < 2:
            raise ValueError(f"max_chars must be at least 2, got {max_chars}")
        if not 0 <= first_min_chars <= max_chars or not 0 <= min_chars <= max_chars:
            raise ValueError(
                f"min_chars ({min_chars}) and first_min_chars ({first_min_chars}) must lie "
                f"between 0 and max_chars ({max_chars})"
            )
        self._max_chars = max_chars
        self._min_chars = min_chars
        self._first_min_chars = first_min_chars
        self._first_max_chars = min(first_max_chars, max_chars)
        self._length = spoken_length
        self._buf = ""
        self._emitted = False

    def feed(self, token: str) -> list[str]:
        """Add streamed text; return the clauses completed by it (often none)."""
        self._buf += token
        return self._take_ready()

    def flush(self) -> list[str]:
        """End the stream: return the remaining clauses and reset for the next utterance."""
        # A trailing space lets punctuation at the very end count as a clause end.
        self._buf += " "
        clauses = self._take_ready()
        rest = self._buf.strip()
        if rest:
            clauses.append(rest)
        self._buf = ""
        self._emitted = False
        return clauses

    def _take_ready(self) -> list[str]:
        clauses = []
        while True:
            self._buf = self._buf.lstrip()
            cut = self._next_cut()
            if cut is None:
                return clauses
            clause = self._buf[:cut].strip()
            self._buf = self._buf[cut:]
            if clause:
                clauses.append(clause)
                self._emitted = True

    def _next_cut(self) -> int | None:
        """Where the clause at the head of the buffer ends, or None if it is not complete yet."""
        if self._emitted:
            min_chars, max_chars = self._min_chars, self._max_chars
        else:
            min_chars, max_chars = self._first_min_chars, self._first_max_chars
        window = self._window(max_chars)
        for end in _break_ends(window):
            clause = window[:end].strip()
            if self._length(clause) >= min_chars and len(clause.split()) >= 2:
                return end
        if len(self._buf) > max_chars or self._length(self._buf.strip()) > max_chars:
            return self._forced_cut(window)
        return None

    def _window(self, max_chars: int) -> str:
        """The head of the buffer a clause may span: ``max_chars`` spoken characters and the
        character after them, shortened word by word while its spoken form is longer."""
        window = self._buf[: max_chars + 1]
        while self._length(window.strip()) > max_chars:
            space = window.rstrip().rfind(" ")
            if space <= 0:
                break
            window = window[: space + 1]
        return window

    def _forced_cut(self, window: str) -> int | None:
        """Cut an over-long clause: at punctuation, else before a conjunction or preposition, else
        at a space.

        Cuts in the first half of the window are avoided so that the clause is not left tiny.
        """
        half = len(window) // 2
        ends = [end for end in _break_ends(window) if end >= half]
        if ends:
            return ends[-1]
        spaces = [m.start() for m in _WHITESPACE_RE.finditer(window) if m.start() > 0]
        before_word = [
            pos for pos in spaces if pos >= half and self._word_after(pos) in _CUT_BEFORE_WORDS
        ]
        if before_word:
            return before_word[-1]
        # "năm | 2024" reads worse than "số liệu | năm 2024": keep a number with the word before.
        before_text = [pos for pos in spaces if pos >= half and not self._digit_after(pos)]
        if before_text:
            return before_text[-1]
        if spaces:
            return spaces[-1]
        # One word longer than max_chars: end it at the first space that follows, if any yet.
        match = _WHITESPACE_RE.search(self._buf)
        return match.start() if match else None

    def _digit_after(self, pos: int) -> bool:
        """Whether the text after the white space at ``pos`` starts with a digit."""
        rest = self._buf[pos:].lstrip()
        return rest[:1].isdigit()

    def _word_after(self, pos: int) -> str | None:
        """The complete, lower-cased word that follows the white space at ``pos``, if known yet."""
        match = _NEXT_WORD_RE.match(self._buf, pos)
        return match.group(1).lower() if match else None


def _break_ends(text: str) -> list[int]:
    """Positions just after each punctuation mark (or at each line break) that can end a clause."""
    ends = []
    for match in _BREAK_RE.finditer(text):
        punct = match.group("punct")
        if punct == "." and _is_abbreviation(text[: match.start()]):
            continue
        if match.end() > 0:
            ends.append(match.end())
    return ends


def _is_abbreviation(before: str) -> bool:
    """Whether the word ending right before a period is an abbreviation or an initial.

    A single capital is an initial only inside a name ("Nguyễn Văn A. Trần"), not after a
    common word ("32 độ C. Giá", "phương án B. Sau đó").
    """
    words = before.split()
    if not words:
        return False
    word = words[-1].lstrip("\"'“‘([{«")
    if word.lower() in _ABBREVIATIONS:
        return True
    is_capital = len(word) == 1 and word.isascii() and word.isupper()
    return is_capital and len(words) > 1 and words[-2][:1].isupper()


def split_clauses(text: str, **limits: Any) -> list[str]:
    """Split a whole text into clauses exactly as a token stream of it would be split.

    ``limits`` are :class:`ClauseChunker`'s arguments.
    """
    chunker = ClauseChunker(**limits)
    return chunker.feed(text) + chunker.flush()


def split_long(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_chars`` (unless one word is longer).

    Only the length is bounded: a piece ends at punctuation, a conjunction or a space near the
    limit, never earlier for prosody.
    """
    return split_clauses(
        text,
        max_chars=max_chars,
        min_chars=max_chars,
        first_min_chars=max_chars,
        first_max_chars=max_chars,
    )
