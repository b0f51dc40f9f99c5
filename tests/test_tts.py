"""Piper synthesis with a real voice, and the speak_text loop into real sinks."""

from __future__ import annotations

import json
import shutil
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from edgevox.audio.sink import MemorySink, WavFileSink
from edgevox.errors import AudioError, ConfigError, ModelError
from edgevox.tts import PiperSynthesizer, speak_text, split_clauses

VOICE_ID = "piper-en_US-joe-medium"
VOICE_NAME = "en_US-joe-medium"


@pytest.fixture(scope="module")
def voice_dir(model_dir) -> Path:
    return model_dir(VOICE_ID)


@pytest.fixture(scope="module")
def synth(voice_dir: Path) -> PiperSynthesizer:
    synth = PiperSynthesizer.from_dir(voice_dir, num_threads=2)
    synth.warm_up()
    return synth


def voice_copy(voice_dir: Path, tmp_path: Path, config: str | None = None) -> Path:
    """A voice in ``tmp_path``: the model linked, the config copied or replaced by ``config``."""
    model = tmp_path / f"{VOICE_NAME}.onnx"
    model.symlink_to(voice_dir / f"{VOICE_NAME}.onnx")
    config_path = tmp_path / f"{VOICE_NAME}.onnx.json"
    if config is None:
        shutil.copy(voice_dir / f"{VOICE_NAME}.onnx.json", config_path)
    else:
        config_path.write_text(config, encoding="utf-8")
    return model


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def test_synthesis_streams_non_silent_float32_at_the_voice_rate(synth, voice_dir) -> None:
    config = json.loads((voice_dir / f"{VOICE_NAME}.onnx.json").read_text(encoding="utf-8"))
    assert synth.sample_rate_hz == config["audio"]["sample_rate"] == 22050
    assert synth.language == "en"

    blocks = list(synth.synthesize("Hello there. The kitchen light is now on."))
    assert len(blocks) == 2  # one block per sentence, as Piper produces them
    for block in blocks:
        assert block.dtype == np.float32
        assert block.ndim == 1
        assert np.all(np.abs(block) <= 1.0)
        assert rms(block) > 0.02
    seconds = sum(block.size for block in blocks) / synth.sample_rate_hz
    assert 1.0 < seconds < 8.0


@pytest.mark.parametrize("text", ["", "   ", "\n\t  "])
def test_blank_text_produces_no_audio(synth, text: str) -> None:
    assert list(synth.synthesize(text)) == []


def test_normaliser_sees_the_text_before_synthesis(voice_dir) -> None:
    seen: list[str] = []

    def normalise(text: str) -> str:
        seen.append(text)
        return "twelve"

    synth = PiperSynthesizer.from_dir(voice_dir, num_threads=1, normalize=normalise)
    blocks = list(synth.synthesize("12"))
    assert seen == ["12"]
    assert len(blocks) == 1 and rms(blocks[0]) > 0.02


def test_vietnamese_voice_uses_the_vietnamese_normaliser(voice_dir, tmp_path: Path) -> None:
    text_module = pytest.importorskip("edgevox.text")
    if not hasattr(text_module, "normalize_vi"):
        pytest.skip("edgevox.text.normalize_vi is not available yet")
    # The English model dressed as a Vietnamese voice: exercises the vi code path end to end.
    config = json.loads((voice_dir / f"{VOICE_NAME}.onnx.json").read_text(encoding="utf-8"))
    config["language"] = {"code": "vi_VN", "family": "vi"}
    config["espeak"] = {"voice": "vi"}
    synth = PiperSynthesizer(voice_copy(voice_dir, tmp_path, json.dumps(config)), num_threads=1)
    assert synth.language == "vi"
    blocks = list(synth.synthesize("Giá vé là 1.250.000 đồng."))
    assert blocks and rms(np.concatenate(blocks)) > 0.02


def test_missing_voice_file_is_a_model_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "vi_VN-vais1000-medium.onnx"
    with pytest.raises(ModelError, match=r"vi_VN-vais1000-medium\.onnx"):
        PiperSynthesizer(missing)


def test_missing_config_is_a_model_error_naming_it(voice_dir, tmp_path: Path) -> None:
    model = voice_copy(voice_dir, tmp_path)
    model.with_name(model.name + ".json").unlink()
    with pytest.raises(ModelError, match=r"config not found: .*\.onnx\.json"):
        PiperSynthesizer(model)


def test_corrupt_model_is_a_model_error(voice_dir, tmp_path: Path) -> None:
    model = tmp_path / "corrupt.onnx"
    model.write_bytes(b"this is not an onnx model\x00" * 1000)
    shutil.copy(voice_dir / f"{VOICE_NAME}.onnx.json", tmp_path / "corrupt.onnx.json")
    with pytest.raises(ModelError, match=r"corrupt\.onnx .*corrupt or incomplete"):
        PiperSynthesizer(model)


@pytest.mark.parametrize("config", ["{not json", "[1, 2]", '{"audio": {"sample_rate": 22050}}'])
def test_bad_config_is_a_model_error_naming_it(voice_dir, tmp_path: Path, config: str) -> None:
    with pytest.raises(ModelError, match=r"\.onnx\.json"):
        PiperSynthesizer(voice_copy(voice_dir, tmp_path, config))


def test_voice_directory_must_hold_exactly_one_voice(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="found none"):
        PiperSynthesizer.from_dir(tmp_path)


@pytest.mark.parametrize("speaker", ["nobody", 3])
def test_unknown_speaker_is_a_config_error(voice_dir, speaker) -> None:
    with pytest.raises(ConfigError, match="speaker"):
        PiperSynthesizer.from_dir(voice_dir, speaker=speaker)


def test_ten_thousand_characters_without_punctuation(synth) -> None:
    phrase = "the weather today is bright and we will walk around the lake then eat ice cream "
    text = (phrase * (10_000 // len(phrase) + 1))[:10_000].rsplit(" ", 1)[0]
    clauses = split_clauses(text)
    assert len(clauses) > 80
    assert all(len(clause) <= 120 for clause in clauses)
    assert " ".join(clauses).split() == text.split()
    for clause in clauses[:2]:
        audio = np.concatenate(list(synth.synthesize(clause)))
        assert rms(audio) > 0.02
    # Given the whole text at once, the synthesizer still streams it in bounded pieces.
    first = next(synth.synthesize(text))
    assert 1.0 < first.size / synth.sample_rate_hz < 30.0


def test_speak_text_into_memory_reports_timings_and_heard_text(synth) -> None:
    text = "Good morning. The living room light is on, and the fan is off."
    with MemorySink(synth.sample_rate_hz, realtime=False) as sink:
        timings = speak_text(text, synth, sink)
        played = sink.played_audio()
        report = sink.report()
    assert timings.clauses == len(split_clauses(text))
    assert timings.first_audio_s is not None and 0 < timings.first_audio_s < timings.synth_s + 1e-9
    assert timings.audio_s == pytest.approx(played.size / synth.sample_rate_hz)
    assert timings.rtf is not None and timings.rtf > 0
    assert not timings.stopped
    assert report.spoken_text == " ".join(split_clauses(text))
    assert not report.interrupted


def test_speak_text_streams_tokens_into_a_wav_file(synth, tmp_path: Path) -> None:
    tokens = ["Hel", "lo the", "re, this is", " a streamed ans", "wer."]
    path = tmp_path / "say.wav"
    with WavFileSink(path, synth.sample_rate_hz) as sink:
        timings = speak_text(tokens, synth, sink)
        assert sink.spoken_text() == "Hello there, this is a streamed answer."
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == synth.sample_rate_hz
        assert wav.getnframes() / synth.sample_rate_hz == pytest.approx(timings.audio_s)


def test_speak_text_refuses_a_sink_at_another_rate(synth) -> None:
    with MemorySink(16_000, realtime=False) as sink, pytest.raises(AudioError, match="Hz"):
        speak_text("Hello there.", synth, sink)


def test_barge_in_stops_speech_and_keeps_only_heard_words(synth) -> None:
    text = "Good morning. The living room light is on, and the fan is off. Have a nice day."
    with MemorySink(synth.sample_rate_hz) as sink:
        timer = threading.Timer(0.8, sink.stop)
        timer.start()
        start = time.monotonic()
        speak_text(text, synth, sink)
        returned_s = time.monotonic() - start
        timer.join()
        report = sink.report()
    assert report.interrupted
    assert returned_s < 2.0  # the utterance is several seconds long
    heard = report.spoken_text.split()
    assert 0 < len(heard) < len(text.split())
    assert heard == text.split()[: len(heard)]
