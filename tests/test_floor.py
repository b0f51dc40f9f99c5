"""The floor policy: speech heard while the agent is audible is echo, backchannel or a request.

Uses a real in-memory sink as the agent's speaker; what it "played" dates the echo window.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from edgevox.audio.sink import MemorySink, TranscriptSink
from edgevox.runtime.floor import Floor, Heard

REPLY = ["Hôm nay ở Hà Nội trời nhiều mây,", "nhiệt độ từ hai mươi bốn đến ba mươi mốt độ."]


@pytest.fixture
def speaking_floor():
    with MemorySink(16_000, realtime=False) as sink:
        floor = Floor(sink, half_duplex=False, echo_tail_ms=300, min_speech_ms=400)
        sink.begin_utterance()
        for clause in REPLY:
            floor.played(clause)
            sink.play(np.full(1600, 0.1, dtype=np.float32), text=clause)
        assert sink.wait(timeout_s=5)
        yield floor


@pytest.mark.parametrize("heard", [
    "hôm nay ở hà nội trời nhiều mây",  # the reply, word for word
    "hôm nay hà nội trời nhiều",  # missing words
    "hom nay o ha noi troi nhieu may",  # tones lost in the room
    "nhiệt độ từ hai mươi bốn",
])
def test_the_agents_own_words_are_echo(speaking_floor, heard):
    assert speaking_floor.classify(heard) is Heard.ECHO


@pytest.mark.parametrize("heard", ["ừ", "dạ vâng", "ừ ừ", "đúng rồi", "ừm"])
def test_agreement_is_a_backchannel(speaking_floor, heard):
    assert speaking_floor.classify(heard) is Heard.BACKCHANNEL


@pytest.mark.parametrize("heard", [
    "tắt đèn phòng khách đi",
    "thôi dừng lại",
    "ngày mai ở đà nẵng thì sao",
    "mây ở hà nội hôm nay có mưa không",  # shares words with the reply, not their order
])
def test_a_request_over_the_reply_is_the_persons_own(speaking_floor, heard):
    assert speaking_floor.classify(heard) is Heard.REQUEST


def test_barge_in_needs_a_real_word_or_enough_speech(speaking_floor):
    floor = speaking_floor
    assert not floor.interrupts("", 2000), "nothing recognised yet: no decision"
    assert not floor.interrupts("ừ", 200), "a short backchannel lets the agent go on"
    assert floor.interrupts("ừ", 450), "speech that lasts min_speech_ms takes the floor"
    assert floor.interrupts("tắt đèn", 150), "a word that is no backchannel takes it at once"
    assert not floor.interrupts("hôm nay ở hà nội", 2000), "its own echo never does"


def test_half_duplex_hears_nothing_while_audible_and_for_the_echo_tail(speaking_floor):
    half = Floor(speaking_floor.sink, half_duplex=True, echo_tail_ms=300)
    last = speaking_floor.sink.last_sound_t
    assert last is not None
    voice = np.full(320, 0.05, dtype=np.float32)  # -26 dBFS: a person near the device
    assert not half.admit(voice, last).any(), "while the agent sounds"
    assert not half.admit(voice, last + 0.25).any(), "inside the echo tail"
    assert half.admit(voice, last + 0.35).any(), "after the tail the person is heard again"
    assert speaking_floor.admit(voice, last).any(), "full duplex hears a person over the reply"
    residue = np.full(320, 0.0005, dtype=np.float32)  # -66 dBFS: what a canceller leaves
    assert not speaking_floor.admit(residue, last).any()
    assert speaking_floor.admit(residue, last + 0.35).any(), "quiet speech, once it is quiet"


def test_a_text_only_agent_makes_no_echo():
    floor = Floor(TranscriptSink(), half_duplex=True)
    block = np.full(320, 0.0005, dtype=np.float32)
    assert not floor.audible(time.monotonic())
    assert floor.admit(block, time.monotonic()) is block
