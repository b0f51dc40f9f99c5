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


def test_barge_in_needs_a_real_word_or_speech_that_goes_on_after_the_pause(speaking_floor):
    floor = speaking_floor
    assert floor.interrupts("tắt đèn"), "a word that is no backchannel takes it at once"
    assert not floor.interrupts("ừ"), "a backchannel lets the agent go on"
    assert not floor.interrupts(""), "sound while the reply plays may be its own echo"
    assert not floor.interrupts("hôm nay ở hà nội"), "its own echo never does"


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


def test_speech_over_the_reply_pauses_it_and_nothing_that_becomes_no_turn_resumes_it():
    with MemorySink(16_000, realtime=True) as sink:
        floor = Floor(sink, half_duplex=False, pause_after_ms=120, resume_after_ms=300)
        sink.begin_utterance()
        sink.play(np.full(16_000, 0.1, dtype=np.float32), text=REPLY[0])
        time.sleep(0.1)
        now = time.monotonic()
        assert floor.watch(90, in_turn=False, t=now) is None, "too short to pause for"
        paused = floor.watch(120, in_turn=False, t=now + 0.03)
        assert paused is not None and paused.TYPE == "paused" and sink.held and floor.paused
        assert floor.sounding(now + 5), "a paused reply is still the agent's turn to talk"
        assert not floor.interrupts(""), "the speech has not yet outlasted the pause"
        assert floor.watch(0, in_turn=True, t=now + 1.0) is None, "a turn is open: it decides"
        assert floor.watch(0, in_turn=False, t=now + 0.2) is None, "not yet quiet for long"
        resumed = floor.watch(0, in_turn=False, t=now + 0.4)
        assert resumed is not None and resumed.TYPE == "resumed"
        assert resumed.paused_s == pytest.approx(0.37, abs=0.01)
        assert not sink.held and sink.wait(timeout_s=3) and not sink.report().interrupted


def test_speech_that_goes_on_after_the_pause_takes_the_floor_words_or_not():
    with MemorySink(16_000, realtime=True) as sink:
        floor = Floor(sink, half_duplex=False, pause_after_ms=120, min_speech_ms=400,
                      echo_tail_ms=300)
        sink.begin_utterance()
        floor.played(REPLY[0])
        sink.play(np.full(16_000, 0.1, dtype=np.float32), text=REPLY[0])
        time.sleep(0.1)
        now = time.monotonic()
        assert floor.watch(600, in_turn=False, t=now) is not None, "paused"
        assert not floor.interrupts(""), "speech before the pause may be the echo: not counted"
        floor.watch(700, in_turn=True, t=now + 0.3)
        assert not floor.interrupts(""), "inside the pause's echo tail: maybe the room ringing"
        floor.watch(800, in_turn=True, t=now + 0.6)
        assert not floor.interrupts("ừ"), "0.3 s beyond the tail is not yet enough"
        floor.watch(900, in_turn=True, t=now + 0.72)
        assert floor.interrupts(""), "still speaking 0.4 s beyond the tail: a person"
        assert floor.interrupts("ừ ừ ừ"), "a backchannel that goes on is more than agreement"
        assert not floor.interrupts("hôm nay ở hà nội"), "its own echo never does"


def test_the_vads_hangover_over_silenced_audio_is_no_voice():
    with MemorySink(16_000, realtime=True) as sink:
        floor = Floor(sink, half_duplex=False, pause_after_ms=120, min_speech_ms=400,
                      echo_tail_ms=0)
        sink.begin_utterance()
        sink.play(np.full(16_000, 0.1, dtype=np.float32), text=REPLY[0])
        time.sleep(0.1)
        now = time.monotonic()
        voice = np.full(320, 0.05, dtype=np.float32)
        residue = np.full(320, 0.0005, dtype=np.float32)  # -66 dBFS: silenced
        assert floor.watch(150, in_turn=False, t=now) is not None, "paused"
        assert not floor.admit(residue, now + 0.45).any()
        floor.watch(600, in_turn=True, t=now + 0.45)  # the VAD still says voiced
        assert not floor.interrupts(""), "what the floor silenced did not go on speaking"
        floor.admit(voice, now + 0.5)
        floor.watch(650, in_turn=True, t=now + 0.5)
        assert floor.interrupts(""), "a person still speaking half a second after the pause"


def test_a_barge_in_turn_ends_a_pause_through_the_agent_not_the_floor():
    with MemorySink(16_000, realtime=True) as sink:
        floor = Floor(sink, half_duplex=False, pause_after_ms=120)
        off = Floor(sink, half_duplex=True, barge_in=False)
        sink.begin_utterance()
        sink.play(np.full(16_000, 0.1, dtype=np.float32), text=REPLY[0])
        time.sleep(0.1)
        now = time.monotonic()
        assert off.watch(500, in_turn=False, t=now) is None, "no barge-in: never paused"
        assert floor.watch(150, in_turn=False, t=now) is not None
        sink.stop()  # the barge-in
        assert not floor.paused
        assert floor.resume(now + 1) is None, "nothing to resume after a stop"
        assert floor.watch(150, in_turn=False, t=now + 1) is None, "nothing sounds any more"


def test_a_text_only_agent_makes_no_echo():
    floor = Floor(TranscriptSink(), half_duplex=True)
    block = np.full(320, 0.0005, dtype=np.float32)
    assert not floor.audible(time.monotonic())
    assert floor.admit(block, time.monotonic()) is block
