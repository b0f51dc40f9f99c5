"""Playback sinks: bounded queue, stop within one block, heard-text ledger, WAV output."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from edgevox.audio.sink import MemorySink, SoundDeviceSink, WavFileSink
from edgevox.errors import AudioError, ConfigError
from edgevox.trust.marking import read_mark, speech_marker

RATE_HZ = 16_000
BLOCK_MS = 20
BLOCK_SAMPLES = RATE_HZ * BLOCK_MS // 1000


def tone(seconds: float, freq_hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    return (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.fixture
def sink():
    sink = MemorySink(RATE_HZ, block_ms=BLOCK_MS, max_queued_ms=400)
    yield sink
    sink.close()


def test_stop_mid_utterance_ends_within_one_block_and_reports_heard_words(sink) -> None:
    first = "xin chào bạn"
    second = "một hai ba bốn năm sáu bảy tám chín mười"
    results: list[bool] = []
    producer = threading.Thread(
        target=lambda: results.extend([sink.play(tone(0.3), first), sink.play(tone(1.0), second)])
    )
    start = time.monotonic()
    producer.start()
    time.sleep(0.6)
    sink.stop()
    elapsed_s = time.monotonic() - start
    played_at_stop = sink.played_audio().size
    producer.join(timeout=2)
    assert not producer.is_alive(), "play() stayed blocked after stop()"
    time.sleep(0.2)

    # Paced like a speaker: never ahead of the clock by more than the block being played.
    assert played_at_stop <= elapsed_s * RATE_HZ + BLOCK_SAMPLES
    assert played_at_stop >= 0.35 * RATE_HZ
    # Nothing after the stop but the block already handed to the output.
    assert sink.played_audio().size - played_at_stop <= BLOCK_SAMPLES
    # The first clause was queued whole; the second was cut off while waiting for room.
    assert results == [True, False]

    report = sink.report()
    assert report.interrupted
    assert report.played_s == pytest.approx(sink.played_audio().size / RATE_HZ)
    # The second clause counts with the played share of its words, rounded down.
    heard = int(10 * (report.played_s - 0.3) / 1.0)
    assert 0 < heard < 10
    assert report.spoken_text == " ".join([first, *second.split()[:heard]])
    assert sink.spoken_text() == report.spoken_text


def test_hold_pauses_within_one_block_and_release_goes_on_where_it_paused(sink) -> None:
    audio = tone(0.6)
    assert sink.play(audio, "một hai ba")
    time.sleep(0.2)
    sink.hold()
    at_hold = sink.played_audio().size
    time.sleep(0.3)
    assert sink.played_audio().size - at_hold <= BLOCK_SAMPLES, "nothing plays while held"
    assert not sink.wait(timeout_s=0.1), "a held reply has not played out"
    sink.release()
    assert sink.wait(timeout_s=2)
    played = sink.played_audio()
    assert np.array_equal(played, audio), "not a sample lost or repeated"
    assert not sink.report().interrupted


def test_a_stop_ends_a_hold_and_the_next_utterance_plays(sink) -> None:
    sink.play(tone(0.4), "một")
    time.sleep(0.1)
    sink.hold()
    sink.stop()
    assert sink.wait(timeout_s=0.5) and sink.report().interrupted
    sink.begin_utterance()
    assert not sink.held
    assert sink.play(tone(0.1), "hai") and sink.wait(timeout_s=2)


def test_stopped_sink_ignores_audio_until_next_utterance(sink) -> None:
    sink.stop()
    assert sink.play(tone(0.1), "bỏ qua") is False
    sink.begin_utterance()
    assert sink.play(tone(0.1), "xin chào") is True
    assert sink.wait(timeout_s=2)
    assert sink.report().spoken_text == "xin chào"
    assert not sink.report().interrupted


def test_play_blocked_before_a_stop_does_not_leak_into_the_next_utterance(sink) -> None:
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(sink.play(tone(2.0), "cũ")))
    producer.start()
    time.sleep(0.1)  # the producer is now blocked on the full queue
    with sink._cond:  # stop and restart at once, before the producer can wake
        sink.stop()
        sink.begin_utterance()
    producer.join(timeout=2)
    assert results == [False]
    assert sink.queued_blocks == 0
    assert sink.play(tone(0.1), "mới")
    assert sink.wait(timeout_s=2)
    assert sink.report().spoken_text == "mới"


def test_queue_bound_holds_and_play_blocks_while_full(sink) -> None:
    max_seen = 0
    done = threading.Event()

    def produce() -> None:
        sink.play(tone(1.2), "một câu dài")
        done.set()

    start = time.monotonic()
    threading.Thread(target=produce).start()
    while not done.is_set():
        max_seen = max(max_seen, sink.queued_blocks)
        time.sleep(0.002)
    blocked_s = time.monotonic() - start
    assert sink.max_queued_blocks == 400 // BLOCK_MS
    assert 0 < max_seen <= sink.max_queued_blocks
    # Only 0.4 s fits in the queue, so queueing 1.2 s must wait for about 0.8 s of playback.
    assert blocked_s >= 0.6
    assert sink.wait(timeout_s=3)
    assert sink.played_audio().size == tone(1.2).size


def test_wait_returns_after_audio_has_played(sink) -> None:
    audio = tone(0.3)
    start = time.monotonic()
    sink.play(audio, "ba trăm mili giây")
    assert sink.wait(timeout_s=3)
    assert time.monotonic() - start >= 0.3 - BLOCK_MS / 1000
    np.testing.assert_array_equal(sink.played_audio(), audio)
    assert sink.report().spoken_text == "ba trăm mili giây"


def test_wav_file_sink_writes_a_readable_wav(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    first, second = tone(0.25), tone(0.5, freq_hz=440.0)
    with WavFileSink(path, RATE_HZ, mark=speech_marker({"tts": "test-voice"})) as sink:
        assert sink.play(first, "xin chào")
        assert sink.play(second, "tạm biệt")
        assert sink.wait(timeout_s=5)
        assert sink.spoken_text() == "xin chào tạm biệt"
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE_HZ)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    expected = np.concatenate([first, second])
    assert pcm.size == expected.size
    assert np.max(np.abs(pcm / 32767.0 - expected)) < 1e-4
    mark = read_mark(path)
    assert mark["ai_generated"] and mark["verified"], mark["problems"]
    assert mark["sidecar"]["text"] == "xin chào tạm biệt"  # the mark is made at close


def test_wav_file_sink_without_a_mark_claims_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    with WavFileSink(path, RATE_HZ) as sink:
        assert sink.play(tone(0.1), "xin chào")
        assert sink.wait(timeout_s=5)
    mark = read_mark(path)
    assert mark["info"] == {} and not mark["ai_generated"]
    assert mark["problems"] == ["the sidecar does not mark the audio as AI-generated"]


def test_wav_file_sink_unwritable_path_is_an_audio_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="cannot write WAV file"):
        WavFileSink(tmp_path / "missing-dir" / "out.wav", RATE_HZ)


def test_sound_device_sink_without_a_device_is_an_audio_error() -> None:
    try:
        sink = SoundDeviceSink(RATE_HZ)
    except AudioError as exc:
        assert "sounddevice" in str(exc) or "PortAudio" in str(exc) or "device" in str(exc)
    else:
        sink.close()
        pytest.skip("this machine has a working audio output device")


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="20-50 ms"):
        MemorySink(RATE_HZ, block_ms=5)
    with pytest.raises(ConfigError, match="at least one block"):
        MemorySink(RATE_HZ, block_ms=40, max_queued_ms=20)


def test_play_rejects_multichannel_audio(sink) -> None:
    with pytest.raises(ValueError, match="mono"):
        sink.play(np.zeros((100, 2), dtype=np.float32), "stereo")
