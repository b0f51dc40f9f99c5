"""Written Vietnamese -> the words a TTS voice should say (numbers, dates, money, units, ...).

Why: Piper's Vietnamese voices read digits, symbols and abbreviations badly or not at all, and
an LLM reply is full of "25/12", "50k", "TP.HCM" and "30°C". The rules below run in a fixed
order: the specific ones (emails, phones, dates, times, money, units) first, while the digits
and symbols that identify them are still there, then the generic number reader, then symbols
and clean-up. Each rule is one regex and one small function, so a wrong reading is fixed in one
place. Unknown words (English, names) pass through untouched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from edgevox.text.numbers import (
    DIGIT_WORDS,
    NUMBER_PATTERN,
    digits_to_words,
    fraction_to_words,
    month_to_words,
    number_to_words,
    ordinal_to_words,
    roman_to_int,
    written_number_to_words,
    written_number_value,
)

__all__ = ["ABBREVIATIONS", "UNITS", "normalize_vi"]


class _Rule(NamedTuple):
    name: str
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]
    # A cheap necessary condition: most text matches no rule, and skipping a rule on a quick
    # search is several times faster than scanning with its full pattern. Triggers start with
    # one character class or literal so the engine can jump to candidate positions.
    trigger: re.Pattern[str] | None


def _pad(words: str) -> str:
    """Surround a replacement with spaces so it never glues to its neighbours (collapsed later)."""
    return f" {words} "


def _fixed(words: str) -> Callable[[re.Match[str]], str]:
    """A rule whose replacement does not depend on the match."""
    return lambda _m: _pad(words)


_NUM = NUMBER_PATTERN

# --- tables -------------------------------------------------------------------------------------

# Case-sensitive; a key ending in "." needs no right boundary ("PGS.TS." chains).
ABBREVIATIONS: dict[str, str] = {
    "TPHCM": "thành phố Hồ Chí Minh",
    "HCM": "Hồ Chí Minh",
    "TP.": "thành phố",
    "Tp.": "thành phố",
    "TP": "thành phố",
    "TX.": "thị xã",
    "HN": "Hà Nội",
    "VN": "Việt Nam",
    "UBND": "ủy ban nhân dân",
    "HĐND": "hội đồng nhân dân",
    "MTTQ": "mặt trận tổ quốc",
    "CHXHCN": "cộng hòa xã hội chủ nghĩa",
    "THPT": "trung học phổ thông",
    "THCS": "trung học cơ sở",
    "ĐHQG": "đại học quốc gia",
    "ĐH": "đại học",
    "CĐ": "cao đẳng",
    "ThS.": "thạc sĩ",
    "ThS": "thạc sĩ",
    "NSND": "nghệ sĩ nhân dân",
    "NSƯT": "nghệ sĩ ưu tú",
    "ĐBQH": "đại biểu quốc hội",
    "QH": "quốc hội",
    "TƯ": "trung ương",
    "TW": "trung ương",
    "BCH": "ban chấp hành",
    "LHQ": "Liên Hợp Quốc",
    "ĐBSCL": "đồng bằng sông Cửu Long",
    "CSGT": "cảnh sát giao thông",
    "CAND": "công an nhân dân",
    "QĐND": "quân đội nhân dân",
    "TAND": "tòa án nhân dân",
    "VKSND": "viện kiểm sát nhân dân",
    "BHYT": "bảo hiểm y tế",
    "BHXH": "bảo hiểm xã hội",
    "CNTT": "công nghệ thông tin",
    "GD&ĐT": "giáo dục và đào tạo",
    "GDĐT": "giáo dục và đào tạo",
    "KH&CN": "khoa học và công nghệ",
    "KHCN": "khoa học và công nghệ",
    "GTVT": "giao thông vận tải",
    "PCCC": "phòng cháy chữa cháy",
    "ATGT": "an toàn giao thông",
    "HTX": "hợp tác xã",
    "DN": "doanh nghiệp",
    "NXB": "nhà xuất bản",
    "SĐT": "số điện thoại",
    "CTCP": "công ty cổ phần",
    "TNHH": "trách nhiệm hữu hạn",
    "Cty": "công ty",
    "cty": "công ty",
    "v.v.": "vân vân",
    "v.v": "vân vân",
    "v/v": "về việc",
    "USD": "đô la",
    "VNĐ": "đồng",
    "VND": "đồng",
    "EUR": "ơ rô",
    "km/h": "ki lô mét trên giờ",
    "độ C": "độ xê",
    "độ F": "độ ép",
}

# Short academic titles: with a dot always, without one only before a capitalised name.
# ("KS" is left out: in ads it is "khách sạn" as often as "kỹ sư".)
_TITLES = {"PGS": "phó giáo sư", "GS": "giáo sư", "TS": "tiến sĩ", "BS": "bác sĩ"}

# Units read after a number; longest spelling wins ("m2" before "m").
UNITS: dict[str, str] = {
    "km/h": "ki lô mét trên giờ",
    "m/s": "mét trên giây",
    "km²": "ki lô mét vuông",
    "km2": "ki lô mét vuông",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "cm²": "xăng ti mét vuông",
    "cm2": "xăng ti mét vuông",
    "m³": "mét khối",
    "m3": "mét khối",
    "cm³": "xăng ti mét khối",
    "cm3": "xăng ti mét khối",
    "km": "ki lô mét",
    "m": "mét",
    "cm": "xăng ti mét",
    "mm": "mi li mét",
    "kg": "ki lô gam",
    "g": "gam",
    "mg": "mi li gam",
    "l": "lít",
    "L": "lít",
    "ml": "mi li lít",
    "mL": "mi li lít",
    "ha": "héc ta",
    "°C": "độ xê",
    "oC": "độ xê",
    "°F": "độ ép",
    "°": "độ",
    "kWh": "ki lô oát giờ",
    "kW": "ki lô oát",
    "MW": "mê ga oát",
    "W": "oát",
    "kV": "ki lô vôn",
    "V": "vôn",
    "mAh": "mi li am pe giờ",
    "KB": "ki lô bai",
    "MB": "mê ga bai",
    "GB": "gi ga bai",
    "TB": "tê ra bai",
    "Hz": "héc",
    "kHz": "ki lô héc",
    "MHz": "mê ga héc",
    "GHz": "gi ga héc",
    "cc": "phân khối",
    "h": "giờ",
    "min": "phút",
    "ms": "mi li giây",
    "s": "giây",
}

_CURRENCIES = {
    "đồng": "đồng",
    "đ": "đồng",
    "₫": "đồng",
    "vnđ": "đồng",
    "vnd": "đồng",
    "đô la": "đô la",
    "usd": "đô la",
    "$": "đô la",
    "us$": "đô la",
    "€": "ơ rô",
    "eur": "ơ rô",
    "euro": "ơ rô",
}
_MULTIPLIERS = {
    "k": ("nghìn", 1000),
    "K": ("nghìn", 1000),
    "nghìn": ("nghìn", 1000),
    "ngàn": ("ngàn", 1000),
    "tr": ("triệu", 10**6),
    "triệu": ("triệu", 10**6),
    "tỷ": ("tỷ", 10**9),
    "tỉ": ("tỉ", 10**9),
}

# Ordinal words that differ from the cardinal, per keyword ("giải nhì", "thứ hai").
_ORDINAL_OVERRIDES = {"thứ": {}, "hạng": {2: "nhì"}, "giải": {2: "nhì"}}

# Keywords after which a Roman numeral is a number ("thế kỷ XXI", "Chương IV").
_ROMAN_KEYWORDS = (
    r"thế\s+k[ỷỉ]|chương|phần|mục|khóa|khoá|đại\s+hội|quý|tập|quyển|kỳ|kì|hội\s+nghị"
    r"|giai\s+đoạn|thế\s+chiến|cấp|đợt|bài|vùng|khu\s+vực|quân\s+khu|nhóm"
)
# The word before a bare "d/m" that makes it a date rather than a fraction.
_DATE_CONTEXT = frozenset(
    {
        "ngày",
        "mồng",
        "mùng",
        "hôm",
        "sáng",
        "trưa",
        "chiều",
        "tối",
        "đêm",
        "khuya",
        "vào",
        "từ",
        "đến",
        "tới",
        "trước",
        "sau",
        "hạn",
        "dịp",
        "lễ",
        "khánh",
        "niệm",
        "tết",
    }
)
_PER_WORDS = (
    "ngày|đêm|tuần|tháng|quý|năm|giờ|phút|giây|người|lượt|lần|suất|chiếc|cái|con|hộp|gói"
    "|chai|bộ|phòng|kg|kí|ký|lít|m2|m²|chỉ|lượng"
)
_SPELLED_SYMBOLS = {
    ".": "chấm",
    "@": "a còng",
    "_": "gạch dưới",
    "-": "gạch ngang",
    "+": "cộng",
    "/": "gạch chéo",
}
_SYMBOLS = {
    ">=": "lớn hơn hoặc bằng",
    "<=": "nhỏ hơn hoặc bằng",
    "≥": "lớn hơn hoặc bằng",
    "≤": "nhỏ hơn hoặc bằng",
    ">": "lớn hơn",
    "<": "nhỏ hơn",
    "≈": "xấp xỉ",
    "&": "và",
    "+": "cộng",
    "=": "bằng",
    "@": "a còng",
    "%": "phần trăm",
    "×": "nhân",
    "^": "mũ",
    "°": "độ",
    "$": "đô la",
    "€": "ơ rô",
    "₫": "đồng",
}
# Markdown and decoration an LLM emits that a voice should not pronounce.
_SILENT_SYMBOLS = "*_`#~|\\•/"
_COLLOQUIAL = {"ko": "không", "Ko": "Không", "KO": "không", "k": "không", "đc": "được"}

# --- rule helpers ------------------------------------------------------------------------------


def _alternation(keys: list[str] | dict[str, str]) -> str:
    return "|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True))


def _previous_word(m: re.Match[str]) -> str:
    """The word just before the match, lower-cased (a short window keeps this O(1))."""
    before = m.string[max(0, m.start() - 24) : m.start()]
    found = re.search(r"(\w+)\W*$", before)
    return found.group(1).lower() if found else ""


def _spell(text: str) -> str:
    """Spell an email or web address: letters as they are, digits and symbols as words."""
    words = []
    for token in re.findall(r"[^\W\d_]+|\d|[^\w\s]|_", text):
        if token.isdecimal():
            words.append(DIGIT_WORDS[int(token)])
        else:
            words.append(_SPELLED_SYMBOLS.get(token, token))
    return _pad(" ".join(words))


def _url(m: re.Match[str]) -> str:
    return _spell(re.sub(r"(?i)^https?://", "", m.group(0)))


def _phone(m: re.Match[str]) -> str:
    number = m.group(0)
    plus = "cộng " if number.startswith("+") else ""
    return _pad(plus + digits_to_words(number))


def _abbreviation(m: re.Match[str]) -> str:
    words = ABBREVIATIONS[m.group(0)]
    # "v.v." at the very end swallowed the sentence's full stop: give it back.
    return _pad(words) + ("." if m.group(0).endswith(".") and m.end() == len(m.string) else "")


def _title(m: re.Match[str]) -> str:
    if m.group("dot") or (m.group("next") and m.group("next").isupper()):
        return _pad(_TITLES[m.group("title")])
    return m.group(0)


def _district(m: re.Match[str]) -> str:
    name = "quận" if m.group("kind") == "Q" else "phường"
    if m.group("n"):
        return _pad(f"{name} {number_to_words(int(m.group('n')))}")
    if m.group("next").isupper():
        return _pad(name)
    return m.group(0)


def _weekday(m: re.Match[str]) -> str:
    """Schedules write weekdays as T2..T7 ("T2-T6", "T2-CN")."""
    words = "thứ " + number_to_words(int(m.group("n")))
    if m.group("to"):
        words += " đến thứ " + number_to_words(int(m.group("to")))
    elif m.group("sunday"):
        words += " đến chủ nhật"
    return _pad(words)


def _quarter(m: re.Match[str]) -> str:
    n = m.group("n")
    value = int(n) if n.isdecimal() else roman_to_int(n)
    keyword = "Quý" if m.group("kw") == "Quý" else "quý"
    year = number_to_words(int(m.group("y")))
    return _pad(f"{keyword} {number_to_words(value or 0)} năm {year}")


def _address_slash(m: re.Match[str]) -> str:
    parts = " trên ".join(number_to_words(int(p)) for p in m.group("nums").split("/"))
    return _pad(f"{m.group('kw')} {parts}")


def _day_words(prefix: str, day: int) -> str:
    """ "ngày mồng hai": days 1-10 take "mồng" unless the text already wrote "mồng"/"mùng"."""
    prefix = prefix.strip()
    has_mong = re.search(r"(?i)m[ồù]ng$", prefix) is not None
    prefix = prefix or "ngày"
    if 1 <= day <= 10 and not has_mong:
        prefix += " mồng"
    return f"{prefix} {number_to_words(day)}"


def _date_words(prefix: str, day: int, month: int) -> str:
    return f"{_day_words(prefix, day)} tháng {month_to_words(month)}"


def _valid_day_month(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _full_date(m: re.Match[str]) -> str:
    day, month, year = int(m.group("d")), int(m.group("m")), int(m.group("y"))
    if not _valid_day_month(day, month):
        return m.group(0)
    date = _date_words(m.groupdict().get("pre") or "", day, month)
    return _pad(f"{date} năm {number_to_words(year)}")


def _month_year(m: re.Match[str]) -> str:
    month = int(m.group("m"))
    if not 1 <= month <= 12:
        return m.group(0)
    keyword = m.group("kw") or "tháng"
    return _pad(f"{keyword} {month_to_words(month)} năm {number_to_words(int(m.group('y')))}")


def _day_month(m: re.Match[str]) -> str:
    day, month = int(m.group("d")), int(m.group("m"))
    prefix = m.group("pre")
    looks_like_date = (
        bool(prefix)
        or _previous_word(m) in _DATE_CONTEXT
        or day > 12
        or m.group("d").startswith("0")
        or m.group("m").startswith("0")
    )
    if not (_valid_day_month(day, month) and looks_like_date):
        return m.group(0)
    return _pad(_date_words(prefix, day, month))


def _day_before_month(m: re.Match[str]) -> str:
    return _pad(_day_words(m.group("kw"), int(m.group("n"))))


def _range(m: re.Match[str]) -> str:
    a, suffix, b = m.group("a"), m.group("suffix") or "", m.group("b")
    if re.match(r"\s*=", m.string[m.end() : m.end() + 8]):
        word = "trừ"
    elif suffix or ":" in a or written_number_value(a) < written_number_value(b):
        word = "đến"
    else:  # "thắng 3-1": a score, read the two numbers
        word = ""
    return f"{a}{suffix} {word} {b}"


def _clock_words(hours: int, minutes: int, seconds: int | None = None) -> str:
    words = f"{number_to_words(hours)} giờ"
    if minutes or seconds:
        words += f" {number_to_words(minutes)} phút"
    if seconds:
        words += f" {number_to_words(seconds)} giây"
    return words


def _clock(m: re.Match[str]) -> str:
    hours, minutes = int(m.group("h")), int(m.group("m"))
    seconds = int(m.group("s")) if m.group("s") else None
    if hours > 24 or minutes > 59 or (seconds is not None and seconds > 59):
        return m.group(0)
    return _pad(_clock_words(hours, minutes, seconds))


def _hour_mark(m: re.Match[str]) -> str:
    minutes = int(m.group("m")) if m.group("m") else 0
    if minutes > 59:
        return m.group(0)
    return _pad(_clock_words(int(m.group("h")), minutes))


def _ordinal(m: re.Match[str]) -> str:
    keyword, raw = m.group("kw"), m.group("n")
    value = int(raw) if raw.isdecimal() else roman_to_int(raw)
    if not value:
        return m.group(0)
    words = _ORDINAL_OVERRIDES[keyword.lower()].get(value) or ordinal_to_words(value)
    return _pad(f"{keyword} {words}")


def _roman(m: re.Match[str]) -> str:
    value = roman_to_int(m.group("n"))
    if value is None:
        return m.group(0)
    return _pad(f"{m.group('kw')} {number_to_words(value)}")


def _month(m: re.Match[str]) -> str:
    month = int(m.group("n"))
    if not 1 <= month <= 12:
        return m.group(0)
    return _pad(f"{m.group('kw')} {month_to_words(month)}")


def _inside_number(m: re.Match[str]) -> bool:
    """True when a number-led match starts in the middle of a longer number ("1.5" of "21.5")."""
    return m.start() > 0 and m.string[m.start() - 1] in "0123456789.,/"


def _money(m: re.Match[str]) -> str:
    groups = m.groupdict()
    prefix, number, mult, tail, suffix = (
        groups.get(k) for k in ("pre", "num", "mult", "tail", "cur")
    )
    if not (prefix or mult or suffix) or (not prefix and _inside_number(m)):
        return m.group(0)
    currency = _CURRENCIES[(suffix or prefix).lower()] if (suffix or prefix) else ""
    if mult and tail and re.fullmatch(r"\d+", number):  # "1tr5" = 1 500 000
        scale = _MULTIPLIERS[mult][1]
        value = int(number) * scale + int(tail.ljust(3, "0")) * scale // 1000
        words = number_to_words(value)
    else:
        words = written_number_to_words(number)
        if mult:
            words += " " + _MULTIPLIERS[mult][0]
    return _pad(f"{words} {currency}")


def _percent(m: re.Match[str]) -> str:
    if _inside_number(m):
        return m.group(0)
    return _pad(written_number_to_words(m.group("num")) + " phần trăm")


def _quantity_words(text: str) -> str:
    """A number before a unit, possibly a fraction ("1/2 kg")."""
    numerator, _, denominator = text.partition("/")
    if not denominator:
        return written_number_to_words(text)
    if numerator.isdecimal():
        return fraction_to_words(int(numerator), int(denominator))
    return f"{written_number_to_words(numerator)} trên {number_to_words(int(denominator))}"


def _unit(m: re.Match[str]) -> str:
    if _inside_number(m):
        return m.group(0)
    words = f"{_quantity_words(m.group('num'))} {UNITS[m.group('unit')]}"
    if m.group("per"):
        words += f" trên {UNITS[m.group('per')]}"
    return _pad(words)


def _slash(m: re.Match[str]) -> str:
    a, b = int(m.group("a")), int(m.group("b"))
    if re.match(r"\s*=", m.string[m.end() : m.end() + 8]):
        return _pad(f"{number_to_words(a)} chia {number_to_words(b)}")
    return _pad(fraction_to_words(a, b))


def _colon(m: re.Match[str]) -> str:
    joiner = " trên " if _previous_word(m) == "lệ" else " "
    return _pad(number_to_words(int(m.group("a"))) + joiner + number_to_words(int(m.group("b"))))


def _per_word(m: re.Match[str]) -> str:
    word = m.group("w")
    return _pad("một " + UNITS.get(word, word))


def _number(m: re.Match[str]) -> str:
    return _pad(written_number_to_words(m.group(0)))


def _symbol(m: re.Match[str]) -> str:
    return _pad(_SYMBOLS[m.group(0)])


def _colloquial(m: re.Match[str]) -> str:
    word = m.group(0)
    # A lone "k" is "không" only between words ("tôi k biết"), never after a number.
    if word == "k" and not re.search(r"[^\W\d_] $", m.string[max(0, m.start() - 2) : m.start()]):
        return word
    return _pad(_COLLOQUIAL[word])


# --- the ordered rules -------------------------------------------------------------------------

_UNIT_ALT = _alternation(UNITS)
_MULT_ALT = _alternation(_MULTIPLIERS)
_ABBREVIATION_ALT = "|".join(
    re.escape(key) + ("" if key.endswith(".") else r"(?!\w)")
    for key in sorted(ABBREVIATIONS, key=len, reverse=True)
)


def _rule(
    name: str,
    pattern: str,
    replace: str | Callable[[re.Match[str]], str],
    trigger: str | None = r"\d",
) -> _Rule:
    """Build a rule; a string ``replace`` is fixed words, ``trigger=None`` runs it always."""
    return _Rule(
        name,
        re.compile(pattern),
        _fixed(replace) if isinstance(replace, str) else replace,
        re.compile(trigger) if trigger else None,
    )


_RULES: tuple[_Rule, ...] = (
    _rule("email", r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", lambda m: _spell(m[0]), "@"),
    _rule(
        "url",
        r"(?i)(?<![\w.@])(?:https?://)?(?:[a-z0-9-]+\.)+"
        r"(?:com|net|org|vn|edu|gov|info|io|ai|biz)(?![\w.]\w)(?:/[\w\-./?=&%]*[\w/])?",
        _url,
        r"(?i)\.(?:com|net|org|vn|edu|gov|info|io|ai|biz)\b",
    ),
    _rule(
        "phone",
        r"(?<![\w.,+])(?:\+84(?:[ .-]?\d){9}|\(?0(?:\)?[ .-]?\d){9,10})(?!\d|[.,]\d)",
        _phone,
        r"(?:\+84|0)\)?[ .-]?\d\d",
    ),
    _rule("hotline", r"(?<![\w.,])1[89]00(?:[ .-]?\d){4,6}(?!\d|[.,]\d)", _phone, r"1[89]00"),
    _rule("24/7", r"(?<![\d/])24/7(?![\d/])", "hai tư trên bảy", "24/7"),
    _rule("about", r"~\s?(?=\d)", "khoảng", "~"),
    _rule("number-sign", r"#(?=\d)", "số", "#"),
    _rule(
        "quarter",
        r"(?<!\w)(?P<kw>[Qq]uý|Q)\s?(?P<n>[1-4]|IV|I{1,3})(?:\s?/\s?|\s+năm\s+|\s+)"
        r"(?P<y>[12]\d{3})(?!\d)",
        _quarter,
        r"[Qq](?:uý)?\s?[1-4IV]",
    ),
    _rule("abbreviation", rf"(?<!\w)(?:{_ABBREVIATION_ALT})", _abbreviation, None),
    _rule(
        "title",
        rf"(?<!\w)(?P<title>{_alternation(_TITLES)})(?:(?P<dot>\.)|(?=\s+(?P<next>[^\W\d_])))",
        _title,
        r"[GTB]S",
    ),
    _rule(
        "district",
        r"(?<!\w)(?P<kind>[QP])(?:(?:\.\s?|(?=\d))(?P<n>\d{1,2})(?![\d/]|[.,]\d)"
        r"|\.\s?(?=(?P<next>[^\W\d_])))",
        _district,
        r"[QP][.\d]",
    ),
    _rule(
        "weekday",
        r"(?<!\w)T(?P<n>[2-7])(?:\s?-\s?(?:T(?P<to>[2-7])|(?P<sunday>CN)))?(?!\w)",
        _weekday,
        r"T[2-7]",
    ),
    _rule(
        "address",
        r"(?<!\w)(?P<kw>(?i:số|hẻm|ngõ|ngách|kiệt))\s+(?P<nums>\d+(?:/\d+)+)(?!\w)",
        _address_slash,
        r"\d/\d",
    ),
    _rule(
        "date",
        r"(?<![\w.,/-])(?P<pre>(?:[Nn]gày\s+)?(?:[Mm][ồù]ng\s+)?)"
        r"(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})(?!\w|[/.-]\d)",
        _full_date,
        r"\d[/.-]\d\d?[/.-]\d{4}",
    ),
    _rule(
        "iso-date",
        r"(?<![\w.,/-])(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\w|[/.-]\d)",
        _full_date,
        r"\d\d\d\d-\d\d-\d",
    ),
    _rule(
        "month-year",
        r"(?<![\w.,/-])(?:(?P<kw>[Tt]háng)\s+)?(?P<m>\d{1,2})/(?P<y>[12]\d{3})(?!\w|[/.-]\d)",
        _month_year,
        r"\d/\d{4}",
    ),
    _rule(
        "day-month",
        r"(?<![\w.,/-])(?P<pre>(?:[Nn]gày\s+)?(?:[Mm][ồù]ng\s+)?)"
        r"(?P<d>\d{1,2})/(?P<m>\d{1,2})(?!\w|[/.,]\d)",
        _day_month,
        r"\d/\d",
    ),
    _rule(
        "day-before-month",
        r"(?<!\w)(?P<kw>[Nn]gày)\s+(?P<n>\d{1,2})(?=\s+tháng)",
        _day_before_month,
        r"[Nn]gày\s+\d",
    ),
    _rule(
        "range",
        r"(?<![\w.,:/-])(?P<a>\d+(?:[.,:]\d+)*)(?P<suffix>[^\W\d_]{1,3}|%|°C?)?\s?-\s?"
        r"(?P<b>\d+(?:[.,:]\d+)*)(?!\d|[.,:/-]\d)",
        _range,
        r"-\s?\d",
    ),
    _rule("word-hyphen-number", r"(?<=[^\W\d_])-(?=\d)", "", r"-\d"),
    _rule("negative", r"(?<![\w.,])-(?=\d)", "âm", r"-\d"),
    _rule(
        "clock",
        r"(?<![\d.,:])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?!\d|[.,:]\d)",
        _clock,
        r"\d:\d\d",
    ),
    _rule(
        "hour-mark",
        r"(?<![\w.,])(?P<h>\d{1,2})\s?[hH](?:(?P<m>\d{1,2})\s?(?:'|phút|ph|p)?)?(?![^\W\d_])",
        _hour_mark,
        r"\d\s?[hH]",
    ),
    _rule(
        "minutes-mark",
        r"(?<![\w.,'])(?P<n>\d{1,3})'(?![\w'])",
        lambda m: _pad(f"{number_to_words(int(m['n']))} phút"),
        r"\d'",
    ),
    _rule("times", r"(?<=\d)\s?[x×*]\s?(?=\d)", "nhân", r"\d\s?[x×*]\s?\d"),
    # Division only when spaced or with ÷: "8/2" is a date, "2 : 1" a score.
    _rule("divide", r"(?<=\d)(?:\s/\s|\s?÷\s?)(?=\d)", " chia ", r"\d\s?[/÷]"),
    _rule(
        "ordinal",
        r"(?<!\w)(?P<kw>[Tt]hứ|[Hh]ạng|[Gg]iải)\s+(?P<n>\d{1,3}|[IVXL]+)(?!\w|[.,]\d)",
        _ordinal,
        r"[TtHhGg](?:hứ|ạng|iải)\s+[\dIVXL]",
    ),
    _rule(
        "roman",
        rf"(?<!\w)(?P<kw>(?i:{_ROMAN_KEYWORDS}))\s+(?P<n>[IVXL]+)(?!\w)",
        _roman,
        r"[IVXL][IVXL]*(?!\w)",
    ),
    _rule(
        "month",
        r"(?<!\w)(?P<kw>[Tt]háng)\s+(?P<n>\d{1,2})(?!\w|[.,/]\d)",
        _month,
        r"[Tt]háng\s+\d",
    ),
    _rule(
        "money-symbol",
        rf"(?P<pre>US\$|\$|€)\s?(?P<num>{_NUM})(?:\s?(?P<mult>{_MULT_ALT})(?![^\W\d_]))?",
        _money,
        r"[$€]",
    ),
    _rule(
        "money",
        rf"(?P<num>{_NUM})(?:\s?(?P<mult>{_MULT_ALT})(?P<tail>\d{{1,3}})?(?![^\W\d_]))?"
        r"(?:\s?(?P<cur>(?i:đồng|đ|₫|vnđ|vnd|usd|đô la|\$|€|eur|euro)))?(?![^\W\d_])",
        _money,
        # Only abbreviations and symbols need this rule; "5 triệu đồng" reads the same without.
        r"\d\s?(?:[kK]|tr|đ|₫|\$|€|(?i:vn|usd|eur))",
    ),
    _rule("percent", rf"(?P<num>{_NUM})\s?%", _percent, "%"),
    _rule(
        "height",
        r"(?<![\d.,])(?P<m>\d)m(?P<cm>\d{2})(?!\w)",
        lambda m: _pad(f"{number_to_words(int(m['m']))} mét {number_to_words(int(m['cm']))}"),
        r"\dm\d",
    ),
    _rule(
        "unit",
        rf"(?P<num>{_NUM}(?:/\d+)?)\s?(?P<unit>{_UNIT_ALT})"
        rf"(?:\s?/\s?(?P<per>{_UNIT_ALT}))?(?!\w)",
        _unit,
        rf"\d\s?(?:{_UNIT_ALT})(?!\w)",
    ),
    _rule("slash", r"(?<![\w.,/])(?P<a>\d+)/(?P<b>\d+)(?!\w|[.,/]\d)", _slash, r"\d/\d"),
    _rule("colon", r"(?<![\w.,:])(?P<a>\d+):(?P<b>\d+)(?!\w|[.,:]\d)", _colon, r"\d:\d"),
    _rule("per", rf"(?<=[^\W\d_])\s?/\s?(?P<w>{_PER_WORDS})(?!\w)", _per_word, "/"),
    _rule("number", _NUM, _number),
    _rule("symbol", _alternation(_SYMBOLS), _symbol, None),
    _rule("silent", f"[{re.escape(_SILENT_SYMBOLS)}]+", "", None),
    _rule(
        "colloquial",
        rf"(?<![\w'.-])(?:{_alternation(_COLLOQUIAL)})(?![\w'-])",
        _colloquial,
        r"[kKđ][oOc]?\b",
    ),
)

# --- preparation and clean-up ------------------------------------------------------------------

_CHAR_MAP = str.maketrans(
    {"℃": "°C", "℉": "°F", "º": "°", "–": "-", "−": "-", "\u00a0": " ", "\u202f": " "}
)
# Emoji, pictographs, variation selectors, zero-width and keycap marks: never spoken.
_INVISIBLE = re.compile(
    "[\U0001f000-\U0001faff\U0001fc00-\U0001ffff\u2600-\u27bf\u2b00-\u2bff\ufe0e\ufe0f"
    "\u200b-\u200d\u2060\ufeff\u20e3\U000e0000-\U000e007f]+"
)
# Typeset numbers group thousands with a no-break or thin space ("10 000"); a plain space is
# left alone, because "5 100 học sinh" is two numbers.
_GROUPING_SPACE = re.compile(r"(?<=\d)[\u00a0\u202f\u2009](?=\d{3}(?!\d))")
_BULLET = re.compile(r"(?m)^\s*[-•*]\s+")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?…)\]}])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[{])\s+")


def normalize_vi(text: str) -> str:
    """Rewrite written Vietnamese as the words a TTS voice should read, in NFC.

    "Giá 50k, giao lúc 19h15 ngày 2/9" -> "Giá năm mươi nghìn, giao lúc mười chín giờ mười lăm
    phút ngày mồng hai tháng chín". Never raises on text; empty or blank input gives "".
    """
    text = _GROUPING_SPACE.sub(".", unicodedata.normalize("NFC", text)).translate(_CHAR_MAP)
    text = _INVISIBLE.sub("", text)
    text = _BULLET.sub(" ", text)
    for rule in _RULES:
        if rule.trigger is None or rule.trigger.search(text):
            text = rule.pattern.sub(rule.replace, text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    return unicodedata.normalize("NFC", text.strip())
