"""Where speech comes from: microphone, WAV file, or raw PCM on stdin.

Every source yields the same thing, blocks of 16 kHz mono float32 samples in [-1, 1], so the
stages after it never care where audio came from. Files of any sample rate and channel count are
downmixed and resampled (soxr) on the way in.
"""

from __future__ import annotations

import logging
import queue
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.errors import AudioError
from edgevox.queues import put_dropping_oldest

log = logging.getLogger(__name__)

DEFAULT_BLOCK_MS = 20
_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_IEEE_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


class AudioSource(Protocol):
    """A stream of 16 kHz mono float32 blocks; iteration ends when the source does."""

    sample_rate_hz: int

    def blocks(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


def to_mono_16k(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Downmix ``samples`` (frames x channels, or frames) and resample to 16 kHz float32."""
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    samples = samples.astype(np.float32, copy=False)
    if sample_rate_hz != SAMPLE_RATE_HZ and samples.size:
        import soxr

        samples = soxr.resample(samples, sample_rate_hz, SAMPLE_RATE_HZ, quality="HQ")
    return np.ascontiguousarray(samples, dtype=np.float32)


def _decode_pcm(data: bytes, fmt: int, bits: int, channels: int) -> np.ndarray:
    width = bits // 8
    usable = len(data) - len(data) % (width * channels)
    data = data[:usable]
    if fmt == _WAVE_FORMAT_IEEE_FLOAT and bits in (32, 64):
        samples = np.frombuffer(data, dtype="<f4" if bits == 32 else "<f8").astype(np.float32)
    elif fmt == _WAVE_FORMAT_PCM and bits == 8:
        samples = (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt == _WAVE_FORMAT_PCM and bits in (16, 32):
        dtype = "<i2" if bits == 16 else "<i4"
        samples = np.frombuffer(data, dtype=dtype).astype(np.float32) / float(2 ** (bits - 1))
    elif fmt == _WAVE_FORMAT_PCM and bits == 24:
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        ints = (raw[:, 0].astype(np.int32) | (raw[:, 1].astype(np.int32) << 8)
                | (raw[:, 2].astype(np.int8).astype(np.int32) << 16))
        samples = ints.astype(np.float32) / float(2 ** 23)
    else:
        kind = {_WAVE_FORMAT_PCM: "PCM", _WAVE_FORMAT_IEEE_FLOAT: "float"}.get(fmt, f"0x{fmt:x}")
        raise ValueError(f"unsupported WAV encoding ({kind}, {bits}-bit)")
    return samples.reshape(-1, channels)


def read_wav(path: Path | str) -> tuple[np.ndarray, float]:
    """Read a WAV file as 16 kHz mono float32; return the samples and the file's duration (s).

    Handles PCM 8/16/24/32-bit, float 32/64-bit and WAVE_FORMAT_EXTENSIBLE, any rate and channel
    count. Anything else raises AudioError naming the file and what is wrong with it.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        fmt, rate, channels, bits, data = _parse_riff(blob)
        frames = _decode_pcm(data, fmt, bits, channels)
    except ValueError as exc:
        raise AudioError(f"{path}: {exc}") from None
    if frames.shape[0] == 0:
        raise AudioError(f"{path}: the WAV file holds no audio")
    return to_mono_16k(frames, rate), frames.shape[0] / rate


def _parse_riff(blob: bytes) -> tuple[int, int, int, int, bytes]:
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise ValueError("not a WAV file (no RIFF/WAVE header)")
    fmt_chunk, data, pos = None, None, 12
    while pos + 8 <= len(blob):
        chunk_id, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        body = blob[pos + 8:pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt_chunk = body
        elif chunk_id == b"data":
            data = body  # a truncated file keeps what it has
        pos += 8 + size + (size & 1)
    if fmt_chunk is None or len(fmt_chunk) < 16:
        raise ValueError("corrupt WAV file (no valid 'fmt ' chunk)")
    if data is None:
        raise ValueError("corrupt WAV file (no 'data' chunk)")
    fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt_chunk[:16])
    if fmt == _WAVE_FORMAT_EXTENSIBLE and len(fmt_chunk) >= 26:
        fmt = struct.unpack("<H", fmt_chunk[24:26])[0]
    if channels == 0 or rate == 0 or bits == 0:
        raise ValueError(f"corrupt WAV header ({channels} channels, {rate} Hz, {bits}-bit)")
    return fmt, rate, channels, bits, data


def _split(samples: np.ndarray, block_ms: int) -> Iterator[np.ndarray]:
    step = SAMPLE_RATE_HZ * block_ms // 1000
    for start in range(0, len(samples), step):
        yield samples[start:start + step]


class WavFileSource:
    """A WAV file as a stream of blocks; ``realtime`` paces it like a microphone."""

    sample_rate_hz = SAMPLE_RATE_HZ

    def __init__(self, path: Path | str, block_ms: int = DEFAULT_BLOCK_MS,
                 realtime: bool = False) -> None:
        self.path = Path(path)
        self.samples, self.duration_s = read_wav(self.path)
        self.block_ms = block_ms
        self.realtime = realtime

    def blocks(self) -> Iterator[np.ndarray]:
        start = time.monotonic()
        for index, block in enumerate(_split(self.samples, self.block_ms)):
            if self.realtime:
                delay = start + index * self.block_ms / 1000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield block

    def close(self) -> None:
        """Nothing to release: the file was read whole."""


class PcmStreamSource:
    """Raw 16-bit little-endian PCM from a byte stream (stdin by default)."""

    sample_rate_hz = SAMPLE_RATE_HZ

    def __init__(self, stream: BinaryIO | None = None, sample_rate_hz: int = SAMPLE_RATE_HZ,
                 channels: int = 1, block_ms: int = DEFAULT_BLOCK_MS) -> None:
        self.stream = stream or sys.stdin.buffer
        self.input_rate_hz = sample_rate_hz
        self.channels = channels
        self.block_bytes = max(2 * channels, sample_rate_hz * block_ms // 1000 * 2 * channels)

    def blocks(self) -> Iterator[np.ndarray]:
        leftover = b""
        while chunk := self.stream.read(self.block_bytes):
            chunk = leftover + chunk
            usable = len(chunk) - len(chunk) % (2 * self.channels)
            chunk, leftover = chunk[:usable], chunk[usable:]
            frames = (np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0)
            yield to_mono_16k(frames.reshape(-1, self.channels), self.input_rate_hz)

    def close(self) -> None:
        """The caller owns the stream."""


class MicrophoneSource:
    """A live microphone through sounddevice (PortAudio).

    The audio callback must never block, so blocks go into a bounded queue that drops the
    oldest block when the consumer falls behind (and logs it): stale audio is worth less than a
    glitch-free capture.
    """

    sample_rate_hz = SAMPLE_RATE_HZ

    def __init__(self, device: str | int | None = None, block_ms: int = DEFAULT_BLOCK_MS,
                 max_queued_blocks: int = 200) -> None:
        try:
            import sounddevice
        except OSError as exc:
            raise AudioError(f"no audio input: PortAudio is missing ({exc}); "
                             "apt-get install libportaudio2") from None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(max_queued_blocks)
        self.dropped_blocks = 0
        try:
            self._stream = sounddevice.InputStream(
                samplerate=SAMPLE_RATE_HZ, channels=1, dtype="float32", device=device,
                blocksize=SAMPLE_RATE_HZ * block_ms // 1000, callback=self._on_audio)
            self._stream.start()
        except Exception as exc:
            raise AudioError(f"cannot open microphone {device if device is not None else ''}"
                             f"({exc}); list devices with `edgevox doctor`") from None

    def _on_audio(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        self.dropped_blocks += put_dropping_oldest(self._queue, indata[:, 0].copy())

    def blocks(self) -> Iterator[np.ndarray]:
        while (block := self._queue.get()) is not None:
            yield block

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
        put_dropping_oldest(self._queue, None)
