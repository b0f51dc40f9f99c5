"""Audio sources: every WAV a user might hand us, and the clear errors for the ones we refuse."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import wave

import numpy as np
import pytest

from edgevox.audio.source import PcmStreamSource, WavFileSource, read_wav
from edgevox.errors import AudioError


def tone(rate: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


def write_pcm_wav(path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2):
    frames = np.repeat(samples[:, None], channels, axis=1)
    if width == 2:
        data = (frames * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = (frames * (2**23 - 1)).astype("<i4")
        data = b"".join(int(v).to_bytes(4, "little", signed=True)[:3] for v in ints.ravel())
    else:
        data = (frames * (2**31 - 1)).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(data)


def write_float_wav(path, samples: np.ndarray, rate: int) -> None:
    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + \
        struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.mark.parametrize("rate, channels, width", [
    (16000, 1, 2), (44100, 2, 2), (8000, 1, 2), (48000, 1, 3), (22050, 2, 4),
])
def test_pcm_wavs_become_16k_mono(tmp_path, rate, channels, width):
    path = tmp_path / "in.wav"
    write_pcm_wav(path, tone(rate), rate, channels, width)
    samples, duration_s = read_wav(path)
    assert samples.dtype == np.float32
    assert duration_s == pytest.approx(0.5, abs=1e-3)
    assert len(samples) == pytest.approx(8000, abs=2)
    assert 0.45 < np.abs(samples).max() < 0.55  # level survives downmix and resampling


def test_float_wav(tmp_path):
    path = tmp_path / "f.wav"
    write_float_wav(path, tone(24000).astype(np.float32), 24000)
    samples, _ = read_wav(path)
    assert len(samples) == pytest.approx(8000, abs=2)


def test_real_recording_reads(eval_dir):
    clip = next((eval_dir / "asr-cv-vi-dev").glob("*.wav"))
    samples, duration_s = read_wav(clip)
    assert len(samples) == pytest.approx(duration_s * 16000, abs=2)


@pytest.mark.parametrize("content, message", [
    (b"", "not a WAV file"),
    (b"this is not audio at all, just text", "not a WAV file"),
    (b"RIFF\x24\x00\x00\x00WAVEjunk", "no valid 'fmt ' chunk"),
])
def test_corrupt_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message) as err:
        read_wav(path)
    assert str(path) in str(err.value)


def test_empty_wav_has_no_audio(tmp_path):
    path = tmp_path / "empty.wav"
    write_pcm_wav(path, np.zeros(0), 16000)
    with pytest.raises(AudioError, match="holds no audio"):
        read_wav(path)


def test_unsupported_encoding(tmp_path):
    path = tmp_path / "alaw.wav"
    fmt = struct.pack("<HHIIHH", 6, 1, 8000, 8000, 1, 8)  # A-law
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 4) + \
        b"\x01\x02\x03\x04"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(AudioError, match="unsupported WAV encoding"):
        read_wav(path)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        WavFileSource(tmp_path / "nope.wav")


def test_realtime_source_is_paced(tmp_path):
    import time

    path = tmp_path / "in.wav"
    write_pcm_wav(path, tone(16000, 0.6), 16000)
    started = time.monotonic()
    blocks = list(WavFileSource(path, block_ms=100, realtime=True).blocks())
    assert len(blocks) == 6
    assert time.monotonic() - started >= 0.45


def test_pcm_stream_handles_odd_reads():
    pcm = (tone(16000, 0.25) * 32767).astype("<i2").tobytes()
    source = PcmStreamSource(io.BytesIO(pcm[:-1]), block_ms=30)
    total = sum(b.size for b in source.blocks())
    assert total == len(pcm) // 2 - 1


def test_transcribe_cli_reports_bad_files_without_traceback(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEnope")
    result = subprocess.run([sys.executable, "-m", "edgevox", "transcribe", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr
