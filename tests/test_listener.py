"""Listening end to end on real recordings: VAD -> streaming ASR -> end of turn, real models."""

from __future__ import annotations

import numpy as np
import pytest

from edgevox.asr.sherpa import load_recognizer
from edgevox.runtime.listener import Listener, transcribe
from edgevox.turn import EndOfTurnDetector
from edgevox.turn.smart_turn import SmartTurn
from edgevox.vad import SileroVad, WebRtcVad

pytestmark = pytest.mark.models
SR = 16_000
# A pause inserted at a word break inside the sentence ("... khoe rằng | ảnh của mình hơn").
PAUSE_WINDOW_S = (2.2, 2.6)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(SR * seconds), dtype=np.float32)


def blocks(audio: np.ndarray, block_ms: int = 100):
    step = SR * block_ms // 1000
    for start in range(0, len(audio), step):
        yield audio[start:start + step]


def words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()


@pytest.fixture(scope="module")
def recognizer(model_dir):
    return load_recognizer("wenet_ctc", model_dir("vietasr-streaming-ctc"), num_threads=2)


@pytest.fixture(scope="module")
def smart_turn(model_dir):
    return SmartTurn(model_dir("smart-turn-v3.2") / "smart-turn-v3.2-cpu.onnx")


@pytest.fixture(scope="module")
def silero_path(model_dir):
    return model_dir("silero-vad") / "silero_vad.onnx"


def split_mid_sentence(audio: np.ndarray) -> int:
    """The quietest 20 ms inside PAUSE_WINDOW_S: a word break in the middle of the sentence."""
    frame = SR // 50
    lo, hi = (int(s * SR) for s in PAUSE_WINDOW_S)
    energies = [(float(np.square(audio[i:i + frame]).mean()), i)
                for i in range(lo, hi, frame // 2)]
    return min(energies)[1] + frame // 2


def listener(recognizer, silero_path, smart_turn=None, **turn) -> Listener:
    return Listener(recognizer, SileroVad(silero_path), EndOfTurnDetector(smart_turn, **turn))


def run(lst: Listener, audio: np.ndarray) -> list:
    events = []
    for block in blocks(audio):
        events += lst.feed(block)
    return events + lst.flush()


def test_mid_sentence_pause_and_trailing_silence_make_one_turn(recognizer, silero_path,
                                                              smart_turn, clip):
    audio, reference = clip
    cut = split_mid_sentence(audio)
    padded = np.concatenate([silence(0.5), audio[:cut], silence(0.7), audio[cut:], silence(3.0)])
    events = run(listener(recognizer, silero_path, smart_turn), padded)
    types = [e.type for e in events]
    finals = [e for e in events if e.type == "final_transcript"]
    assert len(finals) == 1, [(e.type, e.data) for e in events]
    assert types.count("speech_started") == 1 and types.count("end_of_turn") == 1, types
    eot = next(e for e in events if e.type == "end_of_turn")
    assert eot.data["reason"] in ("smart_turn", "hangover", "max_silence")  # ended by silence
    assert 0 < eot.data["eot_delay_ms"] <= 1600 + 64  # the longest wait, to within 2 frames
    final = next(e for e in events if e.type == "final_transcript")
    ref, hyp = words(reference), words(final.data["text"])
    assert len(set(ref) & set(hyp)) >= 0.7 * len(set(ref)), (ref, hyp)
    assert types.index("partial_transcript") < types.index("end_of_turn")


def test_smart_turn_ends_a_finished_sentence_before_the_plain_hangover(recognizer, silero_path,
                                                                      smart_turn, clip):
    audio, _ = clip
    padded = np.concatenate([silence(0.3), audio, silence(3.0)])
    with_model = run(listener(recognizer, silero_path, smart_turn), padded)
    plain = run(listener(recognizer, silero_path, None, hangover_ms=800), padded)
    delay = next(e for e in with_model if e.type == "end_of_turn").data
    plain_delay = next(e for e in plain if e.type == "end_of_turn").data
    assert plain_delay["reason"] == "hangover" and plain_delay["eot_delay_ms"] >= 800
    assert delay["probability_complete"] is not None
    if delay["reason"] == "smart_turn":
        assert delay["eot_delay_ms"] < plain_delay["eot_delay_ms"]


def test_two_utterances_apart_are_two_turns(recognizer, silero_path, clip):
    audio, _ = clip
    padded = np.concatenate([audio, silence(1.5), audio, silence(1.5)])
    result = transcribe(listener(recognizer, silero_path, None, hangover_ms=800),
                        blocks(padded))
    assert len(result.turns) == 2
    assert all(t["eot_delay_ms"] >= 800 for t in result.turns)
    assert 0 < result.rtf < 1


def test_webrtc_backend_segments_the_same_speech(recognizer, clip):
    audio, reference = clip
    lst = Listener(recognizer, WebRtcVad(2, 30), EndOfTurnDetector(None, hangover_ms=800))
    result = transcribe(lst, blocks(np.concatenate([silence(0.5), audio, silence(1.5)])))
    assert len(result.turns) == 1
    assert len(set(words(result.text)) & set(words(reference))) >= 0.7 * len(set(words(reference)))


def test_voiced_ms_rises_with_speech_before_a_turn_opens_and_falls_to_zero_in_silence(
        recognizer, silero_path, clip):
    audio, _ = clip
    lst = listener(recognizer, silero_path, None, hangover_ms=800)
    for block in blocks(silence(0.5), block_ms=20):
        lst.feed(block)
    assert lst.voiced_ms == 0
    seen = []
    for block in blocks(audio, block_ms=20):
        lst.feed(block)
        seen.append((lst.voiced_ms, lst.in_turn))
    first_voiced = next(i for i, (ms, _) in enumerate(seen) if ms > 0)
    first_turn = next(i for i, (_, in_turn) in enumerate(seen) if in_turn)
    assert first_voiced < first_turn, "speech is seen before the 250 ms that open a turn"
    assert max(ms for ms, _ in seen) >= 200
    for block in blocks(silence(0.2), block_ms=20):
        lst.feed(block)
    assert lst.voiced_ms == 0, "two unvoiced frames end the run"
