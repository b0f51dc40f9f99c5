"""Tests for edgevox.text.spoken: spoken Vietnamese numbers, durations and clock times.

Every table row is a literal expectation. The rows marked "commands.dev" restate the number and
time cases of the shared command set (eval/commands/commands.dev.jsonl) by hand; the rest are
general Vietnamese, including the decisions about words that only look like numbers.
"""

from __future__ import annotations

import unicodedata

import pytest

from edgevox.text.spoken import (
    NumberSpan,
    find_clock_times,
    find_durations,
    find_numbers,
    find_times,
    parse_number,
    to_digits,
)

PARSE_NUMBER_CASES: list[tuple[str, int | None]] = [
    ("không", 0),
    ("một", 1),
    ("năm", 5),
    ("mười", 10),
    ("mười một", 11),
    ("mười lăm", 15),
    ("mười nhăm", 15),
    ("mười bốn", 14),
    ("mười tư", 14),
    ("hai mươi", 20),
    ("hai mươi mốt", 21),
    ("hai mươi một", 21),
    ("hai mươi tư", 24),
    ("hai mươi bốn", 24),
    ("hai mươi lăm", 25),
    ("hai mươi năm", 25),  # the caller says it is a number, so "năm" is 5, not "year"
    ("năm mươi", 50),
    ("chín mươi chín", 99),
    ("hai lăm", 25),
    ("ba mốt", 31),
    ("bảy lăm", 75),
    ("hai tư", 24),
    ("hăm mốt", 21),
    ("băm sáu", 36),
    ("chục", 10),
    ("một chục", 10),
    ("hai chục", 20),
    ("mươi lăm", 15),  # ASR writes "mươi" for "mười"
    ("hai mười lăm", 25),  # and "mười" for "mươi"
    ("một trăm", 100),
    ("trăm", 100),
    ("một trăm linh năm", 105),
    ("một trăm lẻ năm", 105),
    ("một trăm hai mươi", 120),
    ("một trăm hai", 120),
    ("hai trăm mốt", 210),
    ("trăm rưỡi", 150),
    ("chín trăm chín mươi chín", 999),
    ("ba nghìn", 3000),
    ("ba ngàn", 3000),
    ("nghìn rưỡi", 1500),
    ("hai nghìn ba", 2300),
    ("một nghìn không trăm linh năm", 1005),
    ("hai nghìn lẻ tám", 2008),
    ("hai nghìn không trăm mười bảy", 2017),
    ("hai nghìn không trăm hai mươi tư", 2024),
    ("mười hai nghìn năm trăm", 12500),
    ("một trăm nghìn", 100_000),
    ("hai triệu", 2_000_000),
    ("hai triệu rưỡi", 2_500_000),
    ("hai triệu ba trăm nghìn", 2_300_000),
    ("một tỷ", 1_000_000_000),
    ("năm tỉ", 5_000_000_000),
    ("15", 15),
    ("1.000", 1000),
    ("5 triệu", 5_000_000),
    ("Hai Mươi Mốt", 21),
    ("tư", 4),
    ("", None),
    ("xin chào", None),
    ("mốt", None),  # "ngày mốt" is the day after tomorrow, not a number on its own
    ("lăm", None),
    ("mười lăm phút", None),
    ("hai ba", None),  # two numbers ("two or three"), not one
    ("rưỡi", None),
]


@pytest.mark.parametrize(("words", "expected"), PARSE_NUMBER_CASES)
def test_parse_number(words: str, expected: int | None) -> None:
    assert parse_number(words) == expected


TO_DIGITS_CASES: list[tuple[str, str]] = [
    ("đặt hẹn giờ mười lăm phút", "đặt hẹn giờ 15 phút"),
    ("chỉnh âm lượng lên năm mươi", "chỉnh âm lượng lên 50"),  # commands.dev
    ("để âm lượng ở mức hai mươi", "để âm lượng ở mức 20"),  # commands.dev
    ("tắt tiếng", "tắt tiếng"),  # commands.dev
    ("báo thức lúc bảy giờ kém mười lăm", "báo thức lúc 7 giờ kém 15"),
    ("hẹn giờ hai lăm phút", "hẹn giờ 25 phút"),
    ("ngày ba mươi mốt tháng ba năm hai nghìn không trăm mười bảy", "ngày 31 tháng 3 năm 2017"),
    ("ngày năm tháng tư", "ngày 5 tháng 4"),
    ("thứ năm tuần sau", "thứ 5 tuần sau"),
    ("thứ tư", "thứ 4"),
    ("tháng mười hai", "tháng 12"),
    ("mùng một tết", "mùng 1 tết"),
    ("tăng âm lượng lên tám mươi phần trăm", "tăng âm lượng lên 80 phần trăm"),
    ("một trăm phần trăm", "100 phần trăm"),
    ("giảm âm lượng xuống mười", "giảm âm lượng xuống 10"),
    ("để âm lượng ở mức không", "để âm lượng ở mức 0"),
    ("lúc không giờ", "lúc 0 giờ"),
    ("đặt bàn cho ba người", "đặt bàn cho 3 người"),
    ("kênh ba", "kênh 3"),
    ("chín giờ rồi", "9 giờ rồi"),
    ("kể cho tôi một câu chuyện cười", "kể cho tôi 1 câu chuyện cười"),  # the article stays 1
    ("hẹn giờ 15 phút", "hẹn giờ 15 phút"),
    ("báo thức lúc 19h30", "báo thức lúc 19h30"),
    # words that only look like numbers stay words
    ("năm nay", "năm nay"),
    ("năm ngoái tôi đi hà nội", "năm ngoái tôi đi hà nội"),
    ("chúc mừng năm mới", "chúc mừng năm mới"),
    ("hàng năm", "hàng năm"),
    ("hai mươi năm trước", "20 năm trước"),  # twenty years, not 25
    ("mười năm nay", "10 năm nay"),
    ("hai trăm năm", "200 năm"),
    ("năm hai nghìn", "năm 2000"),
    ("tôi ở một mình", "tôi ở một mình"),
    ("chờ một chút", "chờ một chút"),
    ("một số bài hát", "một số bài hát"),
    ("một vài người", "một vài người"),
    ("có mưa không", "có mưa không"),
    ("không có gì", "không có gì"),
    ("gọi cho ba", "gọi cho ba"),
    ("gọi cho ba tôi", "gọi cho ba tôi"),
    ("ba mẹ tôi", "ba mẹ tôi"),
    ("tư vấn cho tôi", "tư vấn cho tôi"),
    ("nấu chín chưa", "nấu chín chưa"),
    ("hàng trăm người", "hàng trăm người"),
    ("xin chào", "xin chào"),
]


@pytest.mark.parametrize(("text", "expected"), TO_DIGITS_CASES)
def test_to_digits(text: str, expected: str) -> None:
    assert to_digits(text) == expected


# (text, durations in seconds, clock times)
TIME_CASES: list[tuple[str, list[int], list[str]]] = [
    # commands.dev
    ("đặt hẹn giờ năm phút", [300], []),
    ("hẹn giờ mười phút để luộc trứng", [600], []),
    ("bấm giờ ba mươi giây", [30], []),
    ("hẹn giờ một tiếng", [3600], []),
    ("đặt báo thức sáu giờ sáng mai", [], ["06:00"]),
    ("báo thức lúc bảy giờ rưỡi", [], ["07:30"]),
    ("đặt báo thức chín giờ tối", [], ["21:00"]),
    ("bây giờ là mấy giờ", [], []),
    ("mấy giờ rồi em", [], []),
    ("hôm nay ngày bao nhiêu", [], []),
    ("hẹn giờ hai phút rưỡi", [150], []),
    ("đặt báo thức năm giờ bốn mươi lăm", [], ["05:45"]),
    ("chỉnh âm lượng lên năm mươi", [], []),
    ("kể cho tôi một câu chuyện cười", [], []),
    ("tắt tiếng", [], []),
    # durations
    ("năm phút", [300], []),
    ("một tiếng rưỡi", [5400], []),
    ("hẹn giờ một tiếng rưỡi", [5400], []),
    ("hẹn giờ tiếng rưỡi", [5400], []),
    ("nửa tiếng", [1800], []),
    ("nửa giờ", [1800], []),
    ("nửa phút", [30], []),
    ("hẹn giờ một giờ mười lăm phút", [4500], []),
    ("bấm giờ một giờ rưỡi", [5400], []),
    ("trong một giờ rưỡi nữa", [5400], []),
    ("mười lăm phút nữa", [900], []),
    ("một tiếng hai mươi phút", [4800], []),
    ("hẹn giờ một tiếng mười lăm", [4500], []),
    ("hẹn giờ ba phút ba mươi giây", [210], []),
    ("hẹn giờ ba phút ba mươi", [210], []),
    ("90 giây", [90], []),
    ("hẹn giờ 15 phút", [900], []),
    ("hẹn giờ 1:30", [5400], []),
    ("một ngày", [86400], []),
    ("hai ngày ba tiếng", [183600], []),
    ("hẹn giờ hai mươi lăm phút", [1500], []),
    ("hẹn giờ hai lăm phút", [1500], []),
    ("hẹn giờ hai mươi năm phút", [1500], []),
    ("đếm ngược hai phút", [120], []),
    ("trong vòng ba mươi giây", [30], []),
    ("thêm năm phút nữa", [300], []),
    ("hẹn giờ hai tiếng đồng hồ", [7200], []),
    ("hẹn giờ hai giờ đồng hồ", [7200], []),
    ("hẹn giờ một giờ", [3600], []),
    ("hai giờ nữa", [7200], []),
    ("mở cửa 24 giờ", [86400], []),
    ("hẹn giờ mười lăm giây", [15], []),
    ("đặt hẹn giờ mười lăm phút để nấu mì", [900], []),
    ("hẹn giờ mười phút rồi nhắc tôi sau hai tiếng", [600, 7200], []),
    # relative phrases are durations, not clock times
    ("cài báo thức trong hai giờ kể từ bây giờ", [7200], []),
    ("đặt báo thức trong một giờ kể từ bây giờ", [3600], []),
    ("đặt báo thức cho hai tiếng nữa kể từ bây giờ", [7200], []),
    ("đánh thức tôi sau ba tiếng", [10800], []),
    ("tạo sự kiện với báo thức cho cuộc họp sau hai giờ", [7200], []),
    ("cài báo thức trong thời gian một giờ", [3600], []),
    ("nhắc tôi trước một giờ", [3600], []),
    ("nhắc tôi năm phút trước cuộc họp", [300], []),
    ("nhắc tôi ba ngày trước sinh nhật", [259200], []),
    ("hoãn báo thức của tôi mười lăm phút", [900], []),
    # clock times
    ("sáu giờ sáng", [], ["06:00"]),
    ("bảy giờ rưỡi", [], ["07:30"]),
    ("bảy giờ rưởi tối", [], ["19:30"]),  # misspelt rưỡi
    ("chín giờ tối", [], ["21:00"]),
    ("năm giờ bốn mươi lăm", [], ["05:45"]),
    ("bảy giờ kém mười lăm", [], ["06:45"]),
    ("mười giờ kém năm", [], ["09:55"]),
    ("mười giờ kém mười lăm phút sáng", [], ["09:45"]),
    ("sáu giờ kém năm sáng", [], ["05:55"]),
    ("bảy giờ kém mười lăm tối", [], ["18:45"]),
    ("một giờ kém mười lăm", [], ["00:45"]),
    ("hai giờ chiều", [], ["14:00"]),
    ("mười hai giờ trưa", [], ["12:00"]),
    ("một giờ trưa", [], ["13:00"]),
    ("mười hai giờ đêm", [], ["00:00"]),
    ("mười một giờ đêm", [], ["23:00"]),
    ("hai giờ đêm", [], ["02:00"]),
    ("ba giờ sáng", [], ["03:00"]),
    ("mười hai giờ sáng", [], ["12:00"]),  # mornings end at noon
    ("sáu giờ chiều", [], ["18:00"]),
    ("bảy giờ tối", [], ["19:00"]),
    ("mười hai giờ tối", [], ["00:00"]),
    ("tám giờ buổi sáng", [], ["08:00"]),
    ("4 giờ 30 chiều", [], ["16:30"]),
    ("19h30", [], ["19:30"]),
    ("báo thức lúc 19h", [], ["19:00"]),
    ("7h tối", [], ["19:00"]),
    ("7:15", [], ["07:15"]),
    ("23:45", [], ["23:45"]),
    ("đúng tám giờ", [], ["08:00"]),
    ("mười giờ đúng", [], ["10:00"]),
    ("tám giờ mười", [], ["08:10"]),
    ("tám giờ mười phút", [], ["08:10"]),
    ("tám giờ lẻ năm", [], ["08:05"]),
    ("mười sáu giờ năm mươi", [], ["16:50"]),
    ("bảy giờ hai mươi tối ngày mai", [], ["19:20"]),
    ("tám giờ bốn mươi lăm phút sáng", [], ["08:45"]),
    ("bảy giờ mười lăm phút tối", [], ["19:15"]),
    ("lúc 7 giờ 15 phút tối", [], ["19:15"]),
    ("báo thức lúc không giờ", [], ["00:00"]),
    ("đặt báo thức hai giờ", [], ["02:00"]),
    ("sau năm giờ chiều", [], ["17:00"]),  # a period makes it a clock time even after "sau"
    ("hẹn giờ lúc bảy giờ", [], ["07:00"]),  # the nearest cue wins
    ("tôi cần báo thức nhắc nhở lúc một giờ", [], ["01:00"]),
    ("báo thức lúc bảy", [], ["07:00"]),
    ("gọi tôi dậy lúc bảy rưỡi sáng", [], ["07:30"]),
    ("cài báo thức lúc một rưỡi", [], ["01:30"]),
    ("nhắc tôi lúc mười hai rưỡi", [], ["12:30"]),
    ("báo thức bảy kém mười lăm sáng", [], ["06:45"]),
    ("thức dậy lúc nửa đêm", [], ["00:00"]),
    ("báo thức giữa trưa", [], ["12:00"]),
    ("sáng thứ bảy lúc tám giờ", [], ["08:00"]),  # period said before the time
    ("tối nay lúc tám giờ", [], ["20:00"]),
    ("nhắc tôi lúc mười giờ tối nay", [], ["22:00"]),
    ("ba mươi phút trước cuộc họp lúc ba giờ chiều", [1800], ["15:00"]),
    ("báo thức lúc sáu giờ và hẹn giờ mười phút", [600], ["06:00"]),
    # no time at all
    ("cài báo thức cho cuộc họp thứ ba tuần tới", [], []),  # Tuesday, not three weeks
    ("đặt báo thức vào ngày mười tháng mười một", [], []),
    ("tiếng việt hay quá", [], []),
    ("hai mươi năm trước", [], []),
    ("lúc tôi ba tuổi", [], []),
    ("thời tiết hà nội hôm nay thế nào", [], []),
    ("", [], []),
]


@pytest.mark.parametrize(("text", "durations", "clocks"), TIME_CASES)
def test_durations_and_clock_times(text: str, durations: list[int], clocks: list[str]) -> None:
    assert find_durations(text) == durations
    assert find_clock_times(text) == clocks


def test_find_numbers_gives_spans_into_the_text() -> None:
    text = "hẹn giờ mười lăm phút rồi bật đèn số 3"
    assert find_numbers(text) == [
        NumberSpan(15, 8, 16, "mười lăm"),
        NumberSpan(3, 37, 38, "3"),
    ]
    assert [text[n.start : n.end] for n in find_numbers(text)] == ["mười lăm", "3"]


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("hẹn giờ mười lăm phút để luộc trứng", ["mười lăm phút"]),
        ("báo thức lúc 6 giờ 30 sáng mai", ["6 giờ 30 sáng"]),
        ("nhắc tôi lúc 19h30 rồi hẹn giờ một tiếng rưỡi", ["19h30", "một tiếng rưỡi"]),
        ("bật đèn phòng số 3", []),
    ],
)
def test_find_times_marks_the_words_each_time_was_read_from(text, read) -> None:
    assert [text[t.start : t.end] for t in find_times(text)] == read


def test_find_numbers_reads_clock_digits_separately() -> None:
    assert [(n.value, n.text) for n in find_numbers("lúc 19h30")] == [(19, "19"), (30, "30")]


def test_find_numbers_is_empty_without_numbers() -> None:
    assert find_numbers("bật đèn phòng khách") == []
    assert find_numbers("có mưa không") == []


@pytest.mark.parametrize(
    "text",
    ["báo thức lúc bảy giờ kém mười lăm tối", "hẹn giờ một tiếng rưỡi", "mười lăm"],
)
def test_nfd_input_reads_like_nfc(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert find_durations(nfd) == find_durations(text)
    assert find_clock_times(nfd) == find_clock_times(text)
    assert parse_number(nfd) == parse_number(text)
    assert to_digits(nfd) == to_digits(text)
    assert [n.value for n in find_numbers(nfd)] == [n.value for n in find_numbers(text)]


def test_upper_case_and_punctuation_are_tolerated() -> None:
    assert find_clock_times("Báo thức lúc Bảy Giờ Rưỡi, nhé!") == ["07:30"]
    assert find_durations("Hẹn giờ: mười lăm phút.") == [900]
    assert to_digits("Hẹn giờ Mười Lăm phút.") == "Hẹn giờ 15 phút."
