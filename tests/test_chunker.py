"""Clause chunking of streamed Vietnamese text."""

from __future__ import annotations

import random

import pytest

from edgevox.tts.chunker import ClauseChunker, split_clauses

ANSWER = (
    "Dạ, hôm nay ở TP.HCM trời nắng, nhiệt độ khoảng 32,5 độ C. "
    "Giá vé là 1.250.000 đồng, tàu chạy lúc 7:30 sáng ngày 2.9.2025 từ ga Sài Gòn. "
    "Bạn nhớ mang theo nước, kem chống nắng, mũ v.v. để đi chơi thoải mái nhé! "
    "Ông Nguyễn Văn A. Trần sẽ đón bạn ở Q. 1 — gần chợ Bến Thành."
)


def stream(text: str, seed: int, max_len: int = 6) -> list[str]:
    """Cut ``text`` into random tokens that often end in the middle of a word."""
    rng = random.Random(seed)
    tokens, i = [], 0
    while i < len(text):
        step = rng.randint(1, max_len)
        tokens.append(text[i : i + step])
        i += step
    return tokens


def feed_all(chunker: ClauseChunker, tokens: list[str]) -> list[str]:
    clauses = []
    for token in tokens:
        clauses.extend(chunker.feed(token))
    return clauses + chunker.flush()


def words_of(clauses: list[str]) -> list[str]:
    return " ".join(clauses).split()


@pytest.mark.parametrize("seed", range(20))
def test_token_stream_never_breaks_a_word(seed: int) -> None:
    clauses = feed_all(ClauseChunker(), stream(ANSWER, seed))
    assert words_of(clauses) == ANSWER.split()
    assert clauses == split_clauses(ANSWER)


def test_word_split_across_tokens_is_held_back() -> None:
    chunker = ClauseChunker(max_chars=12, min_chars=0, first_min_chars=0)
    # "xin chào các bạn" over the limit: the cut may only happen at a space seen so far.
    assert chunker.feed("xin ch") == []
    out = chunker.feed("ào các b")
    assert out == ["xin chào các"]
    assert chunker.feed("ạn") == []
    assert chunker.flush() == ["bạn"]


@pytest.mark.parametrize(
    "kept",
    ["1.250.000", "32,5", "7:30", "2.9.2025", "TP.HCM", "v.v.", "A. Trần", "Q. 1"],
)
def test_numbers_and_abbreviations_stay_inside_a_clause(kept: str) -> None:
    clauses = split_clauses(ANSWER, min_chars=0, first_min_chars=0)
    assert any(kept in clause for clause in clauses), clauses


def test_splits_at_sentence_and_clause_punctuation() -> None:
    clauses = split_clauses(ANSWER)
    assert all(len(clause) <= 120 for clause in clauses)
    assert len(clauses) >= 5
    # Every clause but possibly the last ends at punctuation, not mid-phrase.
    assert all(clause[-1] in ".!?…,;:—" for clause in clauses[:-1]), clauses
    assert "Giá vé là 1.250.000 đồng," in clauses


def test_pieces_shorter_than_min_chars_are_joined() -> None:
    clauses = split_clauses("Vâng. Tôi đã bật đèn, tắt quạt, mở rèm và khoá cửa chính rồi nhé.")
    assert clauses[0] == "Vâng. Tôi đã bật đèn,"
    assert clauses[1:] == ["tắt quạt, mở rèm và khoá cửa chính rồi nhé."]


def test_first_clause_is_short_but_never_one_word() -> None:
    text = "Dạ, vâng, tôi đã hiểu yêu cầu của bạn và sẽ bật đèn phòng khách ngay bây giờ nhé."
    chunker = ClauseChunker()
    emitted_after: list[tuple[str, list[str]]] = []
    for token in stream(text, seed=3, max_len=3):
        out = chunker.feed(token)
        if out:
            emitted_after.append((token, out))
    first = emitted_after[0][1][0]
    assert first == "Dạ, vâng,"
    # It came out while most of the sentence was still to arrive.
    assert len(first) < len(text) // 4


def test_long_first_sentence_is_cut_early_at_a_natural_boundary() -> None:
    text = "Chuyến tàu SE1 khởi hành lúc 19:30 từ ga Hà Nội và dự kiến đến ga Sài Gòn lúc 04:15."
    clauses = split_clauses(text)
    # Cut before the preposition "từ", not in the middle of "lúc 19:30".
    assert clauses == [
        "Chuyến tàu SE1 khởi hành lúc 19:30",
        "từ ga Hà Nội và dự kiến đến ga Sài Gòn lúc 04:15.",
    ]


def test_limits_count_the_characters_the_voice_will_speak() -> None:
    from edgevox.text import normalize_vi

    def spoken_length(text: str) -> int:
        return len(normalize_vi(text))

    text = "Theo số liệu năm 2024, dân số TP.HCM vào khoảng 9,5 triệu người, diện tích 2.095 km²."
    # Written, "Theo số liệu năm 2024," is short enough for a first clause; spoken it is "Theo số
    # liệu năm hai nghìn không trăm hai mươi tư," (51 characters), too long to start quickly.
    assert split_clauses(text, first_max_chars=36)[0] == "Theo số liệu năm 2024,"
    clauses = split_clauses(text, first_max_chars=36, spoken_length=spoken_length)
    # Cut before the year's word, not between "năm" and its number.
    assert clauses[0] == "Theo số liệu"
    assert clauses[1].startswith("năm 2024,")
    assert words_of(clauses) == text.split()
    assert all(spoken_length(clause) <= 120 for clause in clauses)


def test_long_unpunctuated_text_is_cut_at_word_boundaries() -> None:
    words = (
        "hôm nay trời đẹp và chúng ta sẽ đi dạo quanh hồ Gươm rồi ăn kem Tràng Tiền " * 40
    ).split()
    text = " ".join(words)
    clauses = split_clauses(text, max_chars=80)
    assert len(clauses) > 1
    assert all(len(clause) <= 80 for clause in clauses)
    assert words_of(clauses) == words
    # Cuts prefer to fall before a conjunction when one is in reach.
    assert sum(clause.split()[0] in {"và", "rồi"} for clause in clauses[1:]) > len(clauses) // 2


def test_word_longer_than_max_chars_is_kept_whole() -> None:
    word = "x" * 50
    assert split_clauses(f"một {word} hai", max_chars=20) == ["một", word, "hai"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_input_gives_no_clauses(text: str) -> None:
    chunker = ClauseChunker()
    assert chunker.feed(text) == []
    assert chunker.flush() == []
    assert split_clauses(text) == []


def test_flush_resets_for_the_next_utterance() -> None:
    chunker = ClauseChunker()
    feed_all(chunker, ["Xin chào bạn, tôi là trợ lý ảo."])
    # A new utterance gets the short first-clause threshold again.
    assert chunker.feed("Dạ có, ") == ["Dạ có,"]


def test_line_breaks_end_clauses() -> None:
    text = "Danh sách việc cần làm\nmua rau muống\ngọi điện cho mẹ"
    assert split_clauses(text, min_chars=0) == [
        "Danh sách việc cần làm",
        "mua rau muống",
        "gọi điện cho mẹ",
    ]


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        ClauseChunker(max_chars=50, min_chars=80)
