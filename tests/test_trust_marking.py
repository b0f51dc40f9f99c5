"""AI-content marking of WAV files: still a plain WAV, marked inside, hash-checked beside."""

from __future__ import annotations

import json
import wave
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from edgevox import __version__
from edgevox.audio.marking import sidecar_path, write_marked_wav
from edgevox.audio.source import read_wav
from edgevox.errors import AudioError
from edgevox.text.normalize import normalize_vi
from edgevox.trust.marking import DISCLOSURE_VI, read_mark, speech_mark

RATE_HZ = 22_050
MODELS = {"tts": "piper-vi_VN-vais1000-medium", "llm": "qwen2.5-coder-1.5b-q4km"}


def tone(seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE_HZ * seconds)) / RATE_HZ
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.fixture
def marked(tmp_path) -> Path:
    path = tmp_path / "reply.wav"
    write_marked_wav(path, tone(), RATE_HZ, speech_mark(MODELS, text="Xin chào"))
    return path


def test_marked_wav_is_a_plain_pcm_wav(marked):
    samples = tone()
    with wave.open(str(marked), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE_HZ)
        assert wav.getnframes() == len(samples)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_allclose(pcm / 32767, samples, atol=1 / 32767)
    assert marked.read_bytes()[36:40] == b"data"  # 44-byte-header readers keep working
    audio, duration_s = read_wav(marked)  # the project's own reader skips the INFO chunk too
    assert duration_s == pytest.approx(0.5, abs=1e-3) and len(audio) == 8000


def test_read_mark_returns_the_fields(marked):
    mark = read_mark(marked)
    assert mark["verified"] is True and mark["problems"] == []
    assert mark["ai_generated"] is True
    info = mark["info"]
    assert info["ISFT"] == f"edgevox {__version__}"
    assert info["ICMT"].startswith("AI-generated speech (edgevox)")
    assert "tts=piper-vi_VN-vais1000-medium" in info["ICMT"]
    assert datetime.fromisoformat(info["ICRD"]).tzinfo is not None
    assert mark["mark"] == {"ai_generated": True, "generator": f"edgevox {__version__}",
                            "models": MODELS, "created": info["ICRD"]}
    sidecar = json.loads(sidecar_path(marked).read_text(encoding="utf-8"))
    assert mark["sidecar"] == sidecar
    assert sidecar["ai_generated"] is True and sidecar["models"] == MODELS
    assert sidecar["text"] == "Xin chào"
    assert sidecar["audio"]["frames"] == len(tone())
    assert sidecar["sha256"] == mark["sha256"]
    assert {p.name for p in marked.parent.iterdir()} == {"reply.wav", "reply.wav.json"}


def test_tampered_audio_fails_the_hash_check(marked):
    blob = bytearray(marked.read_bytes())
    blob[44 + 1000] ^= 0x40  # one sample inside the data chunk
    marked.write_bytes(bytes(blob))
    mark = read_mark(marked)
    assert mark["verified"] is False
    assert any(p.startswith("audio sha256 mismatch") for p in mark["problems"])
    assert mark["ai_generated"] is True  # the in-file mark survives


def test_edited_marking_fails_the_file_hash_only(marked):
    blob = marked.read_bytes().replace(b"AI-generated speech", b"Human-recorded voice")
    marked.write_bytes(blob)
    mark = read_mark(marked)
    assert [p.split(":")[0] for p in mark["problems"]] == ["file sha256 mismatch"]


def test_missing_sidecar_is_reported(marked):
    sidecar_path(marked).unlink()
    mark = read_mark(marked)
    assert mark["verified"] is False and mark["sidecar"] is None
    assert mark["problems"] == ["no sidecar reply.wav.json"]


def test_not_a_wav_is_an_audio_error(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(b"ID3 not audio at all")
    with pytest.raises(AudioError, match="not a WAV"):
        read_mark(path)


def test_odd_length_info_values_keep_the_riff_valid(tmp_path):
    path = tmp_path / "odd.wav"
    write_marked_wav(path, tone(0.1), 16_000, speech_mark({"tts": "ab"}, generator="edgevox-xy"))
    blob = path.read_bytes()
    assert int.from_bytes(blob[4:8], "little") == len(blob) - 8
    assert read_mark(path)["info"]["ISFT"] == "edgevox-xy"


def test_disclosure_is_one_spoken_vietnamese_sentence():
    assert DISCLOSURE_VI.startswith("Tôi là trợ lý AI")
    assert "thiết bị" in DISCLOSURE_VI
    assert DISCLOSURE_VI.count(".") == 1 and DISCLOSURE_VI.endswith(".")
    assert normalize_vi(DISCLOSURE_VI) == DISCLOSURE_VI  # nothing the TTS must rewrite
