"""Read numbers, durations and clock times out of spoken Vietnamese (ASR output).

The ASR stage writes what it hears as lower-case words without punctuation: "hẹn giờ mười lăm
phút", "báo thức lúc bảy giờ kém mười lăm", "hẹn giờ một tiếng rưỡi". A small LLM often gets the
arithmetic in such phrases wrong, so this module reads them deterministically and the LLM stage
uses the results to fill or check integer and ``HH:MM`` tool arguments. It is the inverse of the
TTS normaliser (written text -> spoken words) and shares nothing with it.

How Vietnamese says numbers (the rules the tables and the small parser below encode):

* Digits: không 0, một 1, hai 2, ba 3, bốn 4, năm 5, sáu 6, bảy 7, tám 8, chín 9.
* Tens: "mười" is 10; "hai mươi" 20 ... "chín mươi" 90. After a tens word the units digit 1 is
  said "mốt" (hai mươi mốt 21), 4 is often "tư" (hai mươi tư 24) and 5 is "lăm" or "nhăm" (mười
  lăm 15, hai mươi lăm 25), because "năm" after a number means "year": "hai mươi năm" is twenty
  years, so "năm" there is read as 5 only when a counted unit follows ("hai mươi năm phút") or
  the number sits where only a number fits (after "giờ", "kém", "mức", ...).
* Colloquial tens drop "mươi": "hai lăm" 25, "ba mốt" 31, "hai tư" 24; "hăm" is hai mươi and
  "băm" ba mươi ("hăm mốt" 21). "chục" is ten ("một chục" 10, "hai chục" 20).
* Hundreds and larger: "trăm" 100, "nghìn"/"ngàn" 1000, "triệu" 10^6, "tỷ"/"tỉ" 10^9, in
  decreasing groups ("hai triệu ba trăm nghìn" 2,300,000). A zero tens digit is "linh" or "lẻ"
  ("một trăm linh năm" 105, "hai nghìn không trăm mười bảy" 2017, "hai nghìn lẻ tám" 2008).
  A lone digit after a scale word is short for the next-lower place: "một trăm hai" 120, "hai
  trăm mốt" 210, "hai nghìn ba" 2300; "rưỡi" after a scale word is half of it ("trăm rưỡi" 150).
* Time: "giờ" is both "o'clock" and "hour"; "tiếng" is only "hour"; "rưỡi" after a unit is half
  of it ("một tiếng rưỡi" 90 min, "bảy giờ rưỡi" 07:30); "kém" means "to" ("bảy giờ kém mười
  lăm" 06:45); sáng/trưa/chiều/tối/đêm after (or shortly before) a clock time place it in the day.

Some digit words are ordinary words too: "không" (not, a question particle), "năm" (year), "một"
in idioms ("một mình", "một chút", "một số"), "ba" (dad), "tư" (private, "tư vấn"), "chín"
(ripe). A lone one of these is read as a number only where the neighbouring words say so; see
:data:`_WORD_RULES`.

Input may be NFC or NFD; it is normalised to NFC first, and all character offsets refer to the
NFC text (identical to the input for the usual NFC input).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "NumberSpan",
    "TimeSpan",
    "find_clock_times",
    "find_durations",
    "find_numbers",
    "find_times",
    "parse_number",
    "to_digits",
]

# --- word tables -------------------------------------------------------------------------------


def _words(spaced: str) -> frozenset[str]:
    """A word set written as one space-separated string, to keep long tables short."""
    return frozenset(spaced.split())


# Spelling variants folded onto one form before parsing (the original text is kept for output).
_ALIASES: dict[str, str] = {
    "ngàn": "nghìn",
    "tỉ": "tỷ",
    "lẻ": "linh",
    "nhăm": "lăm",
    "rưởi": "rưỡi",  # common misspelling of rưỡi
    "bẩy": "bảy",  # northern spelling
    "mồng": "mùng",
    "h": "giờ",  # "7 h" as typed text
}

_DIGITS: dict[str, int] = {
    "không": 0,
    "một": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "năm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
}
# Spellings of a units digit used after a tens word or a digit ("hai mươi mốt", "ba mốt").
# "tư" also stands alone as an ordinal or month ("thứ tư", "tháng tư").
_UNIT_SPELLINGS: dict[str, int] = {"mốt": 1, "tư": 4, "lăm": 5}
_TEN_WORDS = frozenset({"mười", "mươi"})  # ASR confuses the two; both are accepted in both places
_SHORT_TENS: dict[str, int] = {"hăm": 20, "băm": 30}  # colloquial hai mươi / ba mươi
_SCALES: dict[str, int] = {"nghìn": 1000, "triệu": 10**6, "tỷ": 10**9}
_BARE_SCALES = frozenset({"chục", "trăm", *_SCALES})
_NUMBER_WORDS = frozenset({*_DIGITS, *_UNIT_SPELLINGS, *_TEN_WORDS, *_SHORT_TENS, *_BARE_SCALES})

# Nouns counted by a number: a number right before one of these is a quantity.
_MEASURE_WORDS = _words(
    "giây phút giờ tiếng ngày tuần tháng năm độ phần lần người cái chiếc con quả bài trang "
    "cuốn ly cốc chai bát tô đĩa lượt km mét cân ký kg đồng tuổi điểm"
)
# Words after which only a number fits ("lúc năm", "thứ năm", "mức năm", "kém năm").
_NUMBER_CUES_BEFORE = frozenset(
    {"thứ", "tháng", "ngày", "mùng", "lúc", "số", "mức", "kém", "giờ", "lên", "xuống"}
)


@dataclass(frozen=True)
class _WordRule:
    """When a lone ambiguous word counts as a number.

    Checked in order: a following word in ``block_next`` (an idiom) makes it a word; a previous
    word in ``numeric_prev`` or a following one in ``numeric_next`` makes it a number; a
    previous word in ``block_prev`` makes it a word; otherwise ``default`` decides.
    """

    default: bool = True
    numeric_prev: frozenset[str] = _NUMBER_CUES_BEFORE
    numeric_next: frozenset[str] = _MEASURE_WORDS
    block_prev: frozenset[str] = frozenset()
    block_next: frozenset[str] = frozenset()


_SCALE_RULE = _WordRule(
    # "hàng trăm người" (hundreds of people), "vài nghìn", "mấy chục", "phần trăm" (percent)
    numeric_prev=frozenset(),
    numeric_next=frozenset(),
    block_prev=frozenset({"hàng", "vài", "mấy", "dăm", "nhiều", "bao", "phần", "các"}),
)
_WORD_RULES: dict[str, _WordRule] = {
    # "không" is mostly "not" or a question particle ("có mưa không"): a number only when asked
    # for ("mức không") or before a time or degree unit ("không độ").
    "không": _WordRule(
        default=False,
        numeric_prev=frozenset({"số", "mức"}),
        numeric_next=frozenset({"giờ", "phút", "giây", "độ"}),
    ),
    # "tư" alone is "private"/"fourth": a number only as an ordinal, month or number ("số tư").
    "tư": _WordRule(
        default=False,
        numeric_prev=frozenset({"thứ", "tháng", "số", "mùng", "hạng"}),
        numeric_next=frozenset(),
    ),
    # "một" is also the article "a"; that stays a number ("một báo thức" -> "1 báo thức"), but
    # the fixed phrases "một mình" (alone), "một chút" (a bit), "một số" (some) ... are words.
    "một": _WordRule(
        block_next=_words(
            "mình chút chốc lát ít số cách vài khi mạch lúc hồi thời nửa tí xíu loạt"
        ),
    ),
    # "ba" is also "dad" ("gọi cho ba", "ba mẹ", "ba ơi").
    "ba": _WordRule(
        block_prev=frozenset({"gọi", "cho", "với", "của", "nhắn", "bảo", "hỏi"}),
        block_next=frozenset({"mẹ", "má", "ơi", "tôi", "mình", "nó", "ấy"}),
    ),
    # "năm" is also "year": "năm nay", "năm ngoái", "hàng năm", "mỗi năm", "chúc mừng năm mới".
    "năm": _WordRule(
        block_prev=_words("hàng hằng mỗi các những cả nhiều vài mấy cuối đầu giữa quanh sang"),
        block_next=_words("nay ngoái sau tới trước mới qua kia ấy đó này học nhuận rồi âm dương"),
    ),
    # "chín" is also "ripe"/"cooked" ("nấu chín", "chín chắn" mature).
    "chín": _WordRule(
        block_prev=frozenset({"nấu", "chưa", "đã", "rất", "quá"}),
        block_next=frozenset({"chắn", "muồi"}),
    ),
    **{word: _SCALE_RULE for word in _BARE_SCALES},
}

# Units of a duration, in seconds. Months and years are left out: their length varies.
_DURATION_UNITS_S: dict[str, int] = {
    "giây": 1,
    "phút": 60,
    "giờ": 3600,
    "tiếng": 3600,
    "ngày": 86400,
    "tuần": 7 * 86400,
}
_MINUTES_PER_DAY = 24 * 60

# Words shortly before an "N giờ" phrase that say which reading is meant. The nearest one wins.
_CLOCK_CUES = frozenset({"lúc", "vào", "đến", "tới", "đúng", "thức", "dậy"})
_DURATION_CUES = frozenset(
    {"trong", "sau", "thêm", "mất", "vòng", "trước", "hoãn", "lùi", "ngược", "hẹn giờ", "bấm giờ"}
)
_CUE_WINDOW_TOKENS = 4
# A number after these names a day, month or rank ("thứ ba tuần tới" is Tuesday next week,
# not three weeks), so it never starts a duration or a clock time.
_ORDINAL_BEFORE = frozenset({"thứ", "tháng", "mùng"})
# Words right after "N giờ" that make it a duration: "hai giờ nữa", "hai giờ kể từ bây giờ".
_DURATION_AFTER = frozenset({"nữa", "kể", "trước", "sau"})
# Clock times said without a number.
_FIXED_CLOCKS: dict[tuple[str, str], str] = {
    ("nửa", "đêm"): "00:00",
    ("giữa", "đêm"): "00:00",
    ("giữa", "trưa"): "12:00",
}


@dataclass(frozen=True)
class _Period:
    """A part of the day and how it maps a said hour (1-12) onto the 24-hour clock."""

    afternoon_hours: range  # said hours that gain 12
    twelve_is_midnight: bool  # "mười hai giờ đêm" is 00:00, "mười hai giờ trưa" 12:00


_PERIODS: dict[str, _Period] = {
    "sáng": _Period(range(0), twelve_is_midnight=False),  # 3 giờ sáng 03:00; mornings end at noon
    "trưa": _Period(range(1, 6), twelve_is_midnight=False),  # 1 giờ trưa 13:00
    "chiều": _Period(range(1, 12), twelve_is_midnight=False),
    "tối": _Period(range(1, 12), twelve_is_midnight=True),
    "đêm": _Period(range(6, 12), twelve_is_midnight=True),  # 2 giờ đêm 02:00, 11 giờ đêm 23:00
    "khuya": _Period(range(6, 12), twelve_is_midnight=True),
}
_PERIOD_WINDOW_TOKENS = 5  # "sáng thứ bảy lúc tám giờ": a period said before the time

# --- tokens ------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?P<hour>\d{1,2})(?P<sep>[:hg])(?P<minute>\d{2})(?!\d)"  # 7:15, 19h30, 7g30
    r"|(?P<hour_only>\d{1,2})(?P<h>h)(?![^\W\d_])"  # 19h
    r"|(?P<num>\d{1,3}(?:\.\d{3})+(?!\d)|\d+)"  # 1.000 (Vietnamese thousands dot), 90
    r"|(?P<word>[^\W\d_]+)"
)


@dataclass(frozen=True)
class _Token:
    """One word or digit group of the input, with its character span."""

    word: str  # lower-case, alias-folded; the digits themselves for a digit token
    start: int
    end: int
    value: int | None = None  # set for digit tokens


def _tokenize(text: str) -> list[_Token]:
    """Split NFC text into word and digit tokens; "19h30" and "7:15" become 19, giờ, 30."""
    tokens: list[_Token] = []
    for m in _TOKEN_RE.finditer(text):
        if m["hour"] is not None:
            tokens.append(_Token(m["hour"], *m.span("hour"), int(m["hour"])))
            tokens.append(_Token("giờ", *m.span("sep")))
            tokens.append(_Token(m["minute"], *m.span("minute"), int(m["minute"])))
        elif m["hour_only"] is not None:
            tokens.append(_Token(m["hour_only"], *m.span("hour_only"), int(m["hour_only"])))
            tokens.append(_Token("giờ", *m.span("h")))
        elif m["num"] is not None:
            tokens.append(_Token(m["num"], *m.span(), int(m["num"].replace(".", ""))))
        else:
            word = m["word"].lower()
            tokens.append(_Token(_ALIASES.get(word, word), *m.span()))
    return tokens


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --- parser ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TimeExpr:
    """A duration or a clock time found in the text (exactly one of the two is set)."""

    end: int  # token index just past the expression
    seconds: int | None = None
    clock: str | None = None


class _Reader:
    """A recursive-descent reader over one text's tokens.

    ``whole`` says the caller knows the words are a number (``parse_number``), which settles the
    "năm" (5 or year) question in favour of 5.
    """

    def __init__(self, tokens: list[_Token], *, whole: bool = False) -> None:
        self.tokens = tokens
        self.whole = whole

    def word(self, k: int) -> str:
        return self.tokens[k].word if 0 <= k < len(self.tokens) else ""

    def digit(self, k: int) -> int | None:
        return _DIGITS.get(self.word(k))

    # numbers

    def number_at(self, i: int) -> tuple[int, int] | None:
        """Parse the longest number starting at token ``i``: (value, index past it) or None.

        number := group (SCALE [rưỡi | abbreviated digit])* with scales decreasing, where a
        group is the part below one thousand.
        """
        total, k, last_scale = 0, i, 0
        while True:
            group = self._group(k, i, after_scale=last_scale > 0)
            if group is None and not last_scale and self.word(k) in _SCALES:
                group = (1, k, False)  # "nghìn rưỡi", a bare "nghìn"
            if group is None:
                break
            value, end, lone = group
            scale = _SCALES.get(self.word(end), 0)
            if scale and (not last_scale or scale < last_scale):
                total, k, last_scale = total + value * scale, end + 1, scale
                if self.word(k) == "rưỡi":
                    total, k = total + scale // 2, k + 1
                    break
                continue
            if last_scale and lone:  # "hai nghìn ba" is 2300
                if not self._nam_is_digit(end - 1, i):
                    break
                value *= last_scale // 10
            total, k = total + value, end
            break
        return (total, k) if k > i else None

    def _group(self, k: int, start: int, *, after_scale: bool) -> tuple[int, int, bool] | None:
        """Parse a number below 1000: (value, end, lone) where ``lone`` marks a single digit."""
        value = self.tokens[k].value if k < len(self.tokens) else None
        if value is not None and self.word(k + 1) != "trăm":
            return value, k + 1, False  # digits: "15", "90"
        if self.word(k) == "trăm":
            hundreds, after = 1, k + 1
        elif (d := self.digit(k) if value is None else value) is not None and (
            self.word(k + 1) == "trăm"
        ):
            hundreds, after = d, k + 2
        elif after_scale and self.word(k) == "linh" and (unit := self.digit(k + 1)) is not None:
            return unit, k + 2, False  # "một nghìn linh năm" 1005
        else:
            return self._tens(k, start, lone_unit_ok=after_scale)
        base = hundreds * 100
        if self.word(after) == "rưỡi":
            return base + 50, after + 1, False
        if self.word(after) == "linh" and (unit := self.digit(after + 1)) is not None:
            return base + unit, after + 2, False
        tens = self._tens(after, start, lone_unit_ok=True)
        if tens is None:
            return base, after, False
        value, end, lone = tens
        if lone and self.word(end) not in _SCALES:  # "một trăm hai" is 120
            if not self._nam_is_digit(after, start):
                return base, after, False
            value *= 10
        return base + value, end, False

    def _tens(self, k: int, start: int, *, lone_unit_ok: bool) -> tuple[int, int, bool] | None:
        """Parse 0-99 spoken as words: (value, end, lone)."""
        w, nxt = self.word(k), self.word(k + 1)
        if w in _TEN_WORDS:
            unit = self._unit_after_tens(k + 1, start)
            return (10 + unit, k + 2, False) if unit is not None else (10, k + 1, False)
        if w in _SHORT_TENS:
            unit = self._unit_after_tens(k + 1, start)
            return (_SHORT_TENS[w] + unit, k + 2, False) if unit is not None else None
        if w == "chục":
            return 10, k + 1, False
        if w in _UNIT_SPELLINGS:
            return (_UNIT_SPELLINGS[w], k + 1, True) if lone_unit_ok or w == "tư" else None
        d = self.digit(k)
        if d is None:
            return None
        if d >= 2 and nxt in _TEN_WORDS:
            unit = self._unit_after_tens(k + 2, start)
            return (d * 10 + unit, k + 3, False) if unit is not None else (d * 10, k + 2, False)
        if d >= 2 and nxt in _UNIT_SPELLINGS:  # "hai lăm" 25, "ba mốt" 31
            return d * 10 + _UNIT_SPELLINGS[nxt], k + 2, False
        if d >= 1 and nxt == "chục":
            return d * 10, k + 2, False
        return d, k + 1, True

    def _unit_after_tens(self, k: int, start: int) -> int | None:
        w = self.word(k)
        if w in _UNIT_SPELLINGS:
            return _UNIT_SPELLINGS[w]
        if w == "năm":
            return 5 if self._nam_is_digit(k, start) else None
        return self.digit(k) or None  # "không" does not follow a tens word

    def _nam_is_digit(self, k: int, start: int) -> bool:
        """Whether "năm" at ``k`` inside a number starting at ``start`` is 5 rather than "year"."""
        if self.word(k) != "năm" or self.whole:
            return True
        return self.word(k + 1) in _MEASURE_WORDS or self.word(start - 1) in _NUMBER_CUES_BEFORE

    def is_numeric_here(self, i: int, end: int) -> bool:
        """Whether the number at tokens [i, end) is meant as one, judged by its neighbours."""
        first = self.word(i)
        if self.tokens[i].value is not None:
            return True
        if end - i > 1 and first not in _BARE_SCALES:
            return True  # several number words together are a number
        rule = _WORD_RULES.get(first)
        if rule is None:
            return True
        prev, nxt = self.word(i - 1), self.word(end)
        if nxt in rule.block_next:
            return False
        if prev in rule.numeric_prev or nxt in rule.numeric_next:
            return True
        if prev in rule.block_prev:
            return False
        if first == "năm" and (self._is_number_token(i - 1) or self._is_year_at(end)):
            return False  # "hai năm" two years, "năm hai nghìn" the year 2000
        return rule.default

    def _is_number_token(self, k: int) -> bool:
        return 0 <= k < len(self.tokens) and (
            self.tokens[k].value is not None or self.tokens[k].word in _NUMBER_WORDS
        )

    def _is_year_at(self, k: int) -> bool:
        parsed = self.number_at(k) if k < len(self.tokens) else None
        return parsed is not None and parsed[0] >= 1000

    # durations and clock times

    def times(self) -> list[tuple[int, _TimeExpr]]:
        """All durations and clock times with the token each starts at, left to right, each
        token used at most once."""
        found: list[tuple[int, _TimeExpr]] = []
        k = 0
        while k < len(self.tokens):
            expr = self._time_at(k)
            if expr is not None:
                found.append((k, expr))
                k = expr.end
            else:  # step over a whole number, never into its middle ("hai mươi" -> "mươi")
                parsed = self.number_at(k)
                k = parsed[1] if parsed is not None else k + 1
        return found

    def _time_at(self, k: int) -> _TimeExpr | None:
        fixed = _FIXED_CLOCKS.get((self.word(k), self.word(k + 1)))
        if fixed is not None:
            return _TimeExpr(k + 2, clock=fixed)
        if self.word(k) == "nửa" or self._is_bare_unit_and_half(k):
            return self._duration_at(k)
        parsed = self.number_at(k)
        if parsed is None or self.word(k - 1) in _ORDINAL_BEFORE:
            return None
        value, end = parsed
        if self.word(end) == "giờ":
            return self._hour_phrase(k, value, end)
        if self.word(end) in _DURATION_UNITS_S:
            return self._duration_at(k)
        return self._clock_without_gio(k, value, end)

    def _is_bare_unit_and_half(self, k: int) -> bool:
        """ "tiếng rưỡi" (an hour and a half) has no number; "giờ" is excluded ("hẹn giờ")."""
        w = self.word(k)
        return w in _DURATION_UNITS_S and w != "giờ" and self.word(k + 1) == "rưỡi"

    def _duration_at(self, k: int) -> _TimeExpr | None:
        """Parse (N | nửa) UNIT [rưỡi] parts with decreasing units, summed in seconds.

        A bare number after an hour or minute part counts the next smaller unit: "một tiếng mười
        lăm" is 1 h 15 min, "hai phút ba mươi" 2 min 30 s.
        """
        total_s, j, last_unit_s = 0, k, 0
        while True:
            half = self.word(j) == "nửa"
            if half:
                halves, q_end = 1, j + 1
            elif not last_unit_s and self._is_bare_unit_and_half(j):
                halves, q_end = 2, j
            elif (parsed := self.number_at(j)) is not None:
                halves, q_end = 2 * parsed[0], parsed[1]
            else:
                break
            unit_s = _DURATION_UNITS_S.get(self.word(q_end), 0)
            if not unit_s or (last_unit_s and unit_s >= last_unit_s):
                count = halves // 2
                if (
                    not unit_s
                    and not half
                    and last_unit_s in (_DURATION_UNITS_S["giờ"], _DURATION_UNITS_S["phút"])
                    and count < 60
                    and self.word(q_end) not in _MEASURE_WORDS
                ):
                    total_s, j = total_s + count * last_unit_s // 60, q_end
                break
            k2 = q_end + 1
            if self.word(k2) == "đồng" and self.word(k2 + 1) == "hồ":  # "hai tiếng đồng hồ"
                k2 += 2
            and_half = not half and self.word(k2) == "rưỡi"
            if and_half:
                halves, k2 = halves + 1, k2 + 1
            total_s, j, last_unit_s = total_s + halves * unit_s // 2, k2, unit_s
            if and_half:
                break
        return _TimeExpr(j, seconds=total_s) if last_unit_s else None

    def _hour_phrase(self, k: int, hour: int, gio: int) -> _TimeExpr | None:
        """Read "N giờ [M [phút] | rưỡi | kém M [phút] | đúng] [period]" as a clock or a duration.

        It is a clock time when it has "kém" or a period word; otherwise the nearest cue before
        it decides ("lúc", "vào" -> clock; "trong", "sau", "hẹn giờ" -> duration), then a word
        after it ("nữa", "kể từ bây giờ" -> duration); with no cue it is a clock time.
        """
        j, minute, kem = gio + 1, 0, False
        if self.word(j) == "đồng" and self.word(j + 1) == "hồ":
            return self._duration_at(k)
        if self.word(j) == "rưỡi":
            minute, j = 30, j + 1
        elif self.word(j) == "kém" and (m := self._minutes_at(j + 1)) is not None:
            minute, j, kem = -m[0], m[1], True
        elif self.word(j) == "đúng":
            j += 1
        elif (m := self._minutes_at(j + (self.word(j) in ("linh", "không")))) is not None:
            minute, j = m
        period, j = self._period_at(j)
        cue = self._cue_before(k)
        if kem or period is not None:
            is_clock = hour <= 24
        elif cue is not None:
            is_clock = cue in _CLOCK_CUES and hour <= 24
        else:
            is_clock = hour < 24 and self.word(j) not in _DURATION_AFTER
        if not is_clock:
            return self._duration_at(k)
        return _TimeExpr(j, clock=self._clock(k, hour, minute, period))

    def _clock_without_gio(self, k: int, hour: int, end: int) -> _TimeExpr | None:
        """Clock times said without "giờ": "lúc bảy", "bảy rưỡi sáng", "lúc mười hai rưỡi"."""
        if hour > 24:
            return None
        cue = self._cue_before(k)
        j, minute = end, 0
        if self.word(j) == "rưỡi":
            minute, j = 30, j + 1
        elif self.word(j) == "kém" and (m := self._minutes_at(j + 1)) is not None:
            minute, j = -m[0], m[1]
        elif self.word(k - 1) != "lúc" or self.word(j) in _MEASURE_WORDS:
            return None  # a bare number is a clock time only right after "lúc"
        period, j = self._period_at(j)
        if period is None and cue not in _CLOCK_CUES:
            return None
        return _TimeExpr(j, clock=self._clock(k, hour, minute, period))

    def _minutes_at(self, j: int) -> tuple[int, int] | None:
        """Minutes after "giờ" or "kém": a number 1-59, optionally followed by "phút"."""
        parsed = self.number_at(j)
        if parsed is None:
            return None
        minute, end = parsed
        if not 0 < minute < 60:
            return None
        if self.word(end) == "phút":
            return minute, end + 1
        return None if self.word(end) in _MEASURE_WORDS else (minute, end)

    def _period_at(self, j: int) -> tuple[str | None, int]:
        k = j + (self.word(j) == "buổi")
        return (self.word(k), k + 1) if self.word(k) in _PERIODS else (None, j)

    def _cue_before(self, k: int) -> str | None:
        """The nearest clock or duration cue among the few tokens before ``k``."""
        for m in range(k - 1, max(-1, k - 1 - _CUE_WINDOW_TOKENS), -1):
            w = self.word(m)
            if w in _CLOCK_CUES or w in _DURATION_CUES:
                return w
            if f"{self.word(m - 1)} {w}" in _DURATION_CUES:
                return f"{self.word(m - 1)} {w}"
        return None

    def _clock(self, k: int, hour: int, minute: int, period: str | None) -> str:
        """Format as 24-hour HH:MM, using a period said after or shortly before the time."""
        if period is None:
            for m in range(k - 1, max(-1, k - 1 - _PERIOD_WINDOW_TOKENS), -1):
                if self.word(m) == "giờ":  # another time expression: its period is not ours
                    break
                if self.word(m) in _PERIODS:
                    period = self.word(m)
                    break
        rule = _PERIODS.get(period) if period else None
        if rule is not None and hour in rule.afternoon_hours:
            hour += 12
        elif rule is not None and hour == 12 and rule.twelve_is_midnight:
            hour = 0
        total = (hour * 60 + minute) % _MINUTES_PER_DAY
        return f"{total // 60:02d}:{total % 60:02d}"


# --- public API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberSpan:
    """A number found in a text: its value and where it is (offsets into the NFC text)."""

    value: int
    start: int
    end: int
    text: str


def parse_number(words: str) -> int | None:
    """Read a whole spoken number ("hai mươi mốt" -> 21, "15" -> 15); None if it is not one."""
    tokens = _tokenize(_nfc(words))
    if not tokens:
        return None
    parsed = _Reader(tokens, whole=True).number_at(0)
    return parsed[0] if parsed is not None and parsed[1] == len(tokens) else None


def find_numbers(text: str) -> list[NumberSpan]:
    """Every number in ``text``, spoken or in digits, skipping number-like words used as words."""
    text = _nfc(text)
    reader = _Reader(_tokenize(text))
    spans: list[NumberSpan] = []
    k = 0
    while k < len(reader.tokens):
        parsed = reader.number_at(k)
        if parsed is None:
            k += 1
            continue
        value, end = parsed
        if reader.is_numeric_here(k, end):
            start, stop = reader.tokens[k].start, reader.tokens[end - 1].end
            spans.append(NumberSpan(value, start, stop, text[start:stop]))
        k = end
    return spans


def to_digits(text: str) -> str:
    """``text`` (NFC) with each spoken number written in digits: "mười lăm phút" -> "15 phút"."""
    text = _nfc(text)
    pieces: list[str] = []
    last = 0
    for span in find_numbers(text):
        if any(ch.isalpha() for ch in span.text):
            pieces += [text[last : span.start], str(span.value)]
            last = span.end
    return "".join(pieces) + text[last:]


@dataclass(frozen=True)
class TimeSpan:
    """A duration or a clock time found in a text (exactly one of the two is set) and where it
    is (offsets into the NFC text)."""

    seconds: int | None
    clock: str | None
    start: int
    end: int


def find_times(text: str) -> list[TimeSpan]:
    """Every duration and clock time, left to right, each word read at most once."""
    reader = _Reader(_tokenize(_nfc(text)))
    return [TimeSpan(t.seconds, t.clock, reader.tokens[k].start, reader.tokens[t.end - 1].end)
            for k, t in reader.times()]


def find_durations(text: str) -> list[int]:
    """Durations in seconds, in order: "một tiếng rưỡi" -> 5400, "sau hai giờ" -> 7200."""
    return [t.seconds for t in find_times(text) if t.seconds is not None]


def find_clock_times(text: str) -> list[str]:
    """Clock times as 24-hour "HH:MM", in order: "bảy giờ kém mười lăm tối" -> "18:45"."""
    return [t.clock for t in find_times(text) if t.clock is not None]
