"""Vietnamese number reading in the standard Northern (Hanoi newsreader) style.

Why hand-written: the words for a digit change with its position ("một"/"mốt", "năm"/"lăm",
"bốn"/"tư", "mười"/"mươi"), an empty tens digit after hundreds is read "linh", and an inner
group keeps its "không trăm" (1005 = "một nghìn không trăm linh năm"). A generic number speller
gets these wrong, and a TTS voice reads exactly what it is given.
"""

from __future__ import annotations

import re

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# Units digit after "hai mươi" .. "chín mươi": 21 "mốt", 24 "tư", 25 "lăm".
_UNIT_AFTER_TENS = {1: "mốt", 4: "tư", 5: "lăm"}
_BILLION = 10**9
_GROUPS_BELOW_BILLION = ((10**6, "triệu"), (10**3, "nghìn"), (1, ""))
# Longer digit runs are codes (IDs, account numbers), not quantities: read digit by digit.
MAX_QUANTITY_DIGITS = 15
# Fraction digits read as one number up to this length ("3,25" = "ba phẩy hai mươi lăm").
_MAX_FRACTION_AS_NUMBER = 3

# A written number as Vietnamese text writes it: "." groups thousands and "," marks decimals
# (1.250.000,5); English "1,250,000" (two or more comma groups) is accepted; a dotted run that
# is not thousands ("1.2.3") is a version or a code; "3.5" is a decimal read with "chấm".
# It starts with a bare ``\d`` on purpose: a pattern that begins with one character class lets
# the regex engine skip straight to the next digit instead of trying every position.
NUMBER_PATTERN = (
    r"\d(?:(?<=[1-9])\d{0,2}(?:\.\d{3})+(?!\d)(?:,\d+)?"
    r"|(?<=[1-9])\d{0,2}(?:,\d{3}){2,}(?!\d)"
    r"|\d*(?:\.\d+){2,}"
    r"|\d*(?:[.,]\d+)?)"
)
_THOUSANDS_DOT = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?")
_THOUSANDS_COMMA = re.compile(r"[1-9]\d{0,2}(?:,\d{3}){2,}")

_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_ROMAN_STRICT = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")


def _below_thousand(n: int, full: bool) -> str:
    """Read 1..999; ``full`` keeps "không trăm" for an inner group (the 005 of 1005)."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [DIGIT_WORDS[hundreds], "trăm"]
    if tens == 0:
        if units:
            words += ["linh", DIGIT_WORDS[units]] if words else [DIGIT_WORDS[units]]
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGIT_WORDS[units])
    else:
        words += [DIGIT_WORDS[tens], "mươi"]
        if units:
            words.append(_UNIT_AFTER_TENS.get(units, DIGIT_WORDS[units]))
    return " ".join(words)


def _below_billion(n: int, full: bool) -> str:
    """Read 1..999 999 999 group by group; empty groups are skipped, not read."""
    words: list[str] = []
    for scale, name in _GROUPS_BELOW_BILLION:
        group = n // scale % 1000
        if group == 0:
            continue
        words.append(_below_thousand(group, full=full or bool(words)))
        if name:
            words.append(name)
    return " ".join(words)


def _positive_words(n: int, full: bool) -> str:
    """Read n > 0; above a billion the count of "tỷ" is itself a number (10^12 "nghìn tỷ")."""
    if n < _BILLION:
        return _below_billion(n, full)
    billions, rest = divmod(n, _BILLION)
    words = _positive_words(billions, full) + " tỷ"
    if rest:
        words += " " + _below_billion(rest, full=True)
    return words


def number_to_words(n: int) -> str:
    """Read an integer: 21 "hai mươi mốt", 1005 "một nghìn không trăm linh năm", -3 "âm ba"."""
    if n == 0:
        return DIGIT_WORDS[0]
    if n < 0:
        return "âm " + _positive_words(-n, full=False)
    return _positive_words(n, full=False)


def digits_to_words(digits: str) -> str:
    """Read each digit on its own (phone numbers, codes); other characters are skipped."""
    return " ".join(DIGIT_WORDS[int(ch)] for ch in digits if ch.isdecimal())


def integer_string_to_words(digits: str) -> str:
    """Read a digit string: a leading zero or a very long run is a code, read digit by digit."""
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > MAX_QUANTITY_DIGITS:
        return digits_to_words(digits)
    return number_to_words(int(digits))


def fraction_digits_to_words(digits: str) -> str:
    """Read the digits after a decimal mark: leading zeros one by one, then a short number.

    "5" -> "năm", "25" -> "hai mươi lăm", "05" -> "không năm", "14159" -> digit by digit.
    """
    rest = digits.lstrip("0")
    zeros = [DIGIT_WORDS[0]] * (len(digits) - len(rest))
    if not rest:
        return " ".join(zeros)
    if len(rest) > _MAX_FRACTION_AS_NUMBER:
        return " ".join([*zeros, digits_to_words(rest)])
    return " ".join([*zeros, number_to_words(int(rest))])


def _split_written(body: str) -> tuple[str, str, str]:
    """Split an unsigned written number into (integer digits, decimal word, fraction digits)."""
    if _THOUSANDS_DOT.fullmatch(body):
        whole, _, fraction = body.partition(",")
        return whole.replace(".", ""), "phẩy", fraction
    if _THOUSANDS_COMMA.fullmatch(body):
        return body.replace(",", ""), "", ""
    for mark, word in ((",", "phẩy"), (".", "chấm")):
        if mark in body:
            whole, _, fraction = body.partition(mark)
            return whole, word, fraction
    return body, "", ""


def written_number_to_words(token: str) -> str:
    """Read a number as written in text: "1.250.000", "3,5", "-2", "007", "1.2.3"."""
    sign = "âm " if token.startswith("-") else ""
    body = token.lstrip("-")
    if body.count(".") >= 2 and not _THOUSANDS_DOT.fullmatch(body):
        return sign + " chấm ".join(integer_string_to_words(part) for part in body.split("."))
    whole, mark, fraction = _split_written(body)
    words = integer_string_to_words(whole)
    if fraction:
        words += f" {mark} {fraction_digits_to_words(fraction)}"
    return sign + words


def written_number_value(token: str) -> float:
    """Value of a written number (for comparisons such as "is 5-10 a range")."""
    sign = -1.0 if token.startswith("-") else 1.0
    body = token.lstrip("-")
    if body.count(".") >= 2 and not _THOUSANDS_DOT.fullmatch(body):
        return sign * float(body.split(".")[0])
    whole, _, fraction = _split_written(body)
    return sign * float(f"{whole}.{fraction or 0}")


def ordinal_to_words(n: int) -> str:
    """Ordinal after "thứ": 1 "nhất", 4 "tư", otherwise the cardinal ("thứ hai", "thứ năm")."""
    return {1: "nhất", 4: "tư"}.get(n) or number_to_words(n)


def month_to_words(month: int) -> str:
    """Month name after "tháng": 4 is "tư" ("tháng tư"), the others are cardinals."""
    return _four_as_tu(month)


def _four_as_tu(n: int) -> str:
    """A lone 4 naming a position (month, "phần tư") is "tư"; other numbers are cardinals."""
    return "tư" if n == 4 else number_to_words(n)


def fraction_to_words(numerator: int, denominator: int) -> str:
    """Read a/b: a small proper fraction is "phần" (3/4 "ba phần tư"), anything else "trên"."""
    if 0 < numerator < denominator <= 10:
        return f"{number_to_words(numerator)} phần {_four_as_tu(denominator)}"
    return f"{number_to_words(numerator)} trên {number_to_words(denominator)}"


def roman_to_int(text: str) -> int | None:
    """Value of a well-formed Roman numeral ("XXI" -> 21), or None for anything else."""
    if not text or not _ROMAN_STRICT.fullmatch(text):
        return None
    total = 0
    for ch, nxt in zip(text, [*text[1:], ""], strict=True):
        value = _ROMAN_VALUES[ch]
        total += -value if nxt and _ROMAN_VALUES[nxt] > value else value
    return total
