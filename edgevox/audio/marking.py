"""WAV files that carry a mark about themselves: a RIFF ``LIST/INFO`` chunk and a JSON sidecar.

This is the mechanism only. What a mark says (which INFO fields, the JSON facts, the spoken
disclosure) is policy and lives in :mod:`edgevox.trust.marking`, which builds a :class:`WavMark`;
the audio layer never imports it, so writing a file needs nothing above this package.

* The ``LIST/INFO`` chunk follows the ``data`` chunk, so the file stays a plain PCM WAV for every
  reader, including ones that assume a 44-byte header.
* The sidecar ``<file>.json`` holds the mark's facts plus the sha256 of the PCM samples and of the
  whole file, so anyone can check that neither the audio nor its marking changed afterwards.

Both files are written to a temporary name and moved into place, never left half-written.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgevox.errors import AudioError
from edgevox.files import atomic_write

SIDECAR_SUFFIX = ".json"
_INT16_MAX = 32767


@dataclass(frozen=True)
class WavMark:
    """What one WAV file says about itself.

    ``info`` maps four-letter ASCII INFO ids (``ISFT``, ``ICMT``, ...) to text; ``sidecar`` is the
    JSON object written beside the file, to which the writer adds ``audio`` (format, rate,
    length) and ``sha256`` (of the samples and of the file).
    """

    info: Mapping[str, str]
    sidecar: Mapping[str, Any] = field(default_factory=dict)


Marker = Callable[[str | None], WavMark]
"""Builds the mark when a file is written, from the text that was spoken (None when unknown), so
the mark can carry the time of writing and the words of the audio it describes."""


@dataclass(frozen=True)
class WavReading:
    """A WAV file's INFO fields and sidecar, checked against the file's own bytes."""

    info: dict[str, str]
    sidecar: dict[str, Any] | None
    sha256: dict[str, str]  # "audio" (the data chunk) and "file"
    problems: list[str]  # sidecar missing or unreadable, hashes that do not match


def sidecar_path(path: Path) -> Path:
    """``speech.wav`` -> ``speech.wav.json``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    """One RIFF chunk: id, little-endian size, body, and a pad byte when the size is odd."""
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _info_chunk(fields: Mapping[str, str]) -> bytes:
    """A ``LIST/INFO`` chunk of NUL-terminated UTF-8 strings."""
    body = b"INFO" + b"".join(_chunk(key.encode("ascii"), value.encode("utf-8") + b"\0")
                              for key, value in fields.items())
    return _chunk(b"LIST", body)


def _pcm16(samples: np.ndarray) -> bytes:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (1-D), got shape {samples.shape}")
    return np.clip(np.round(samples * _INT16_MAX), -_INT16_MAX, _INT16_MAX).astype("<i2").tobytes()


def write_marked_wav(path: Path | str, samples: np.ndarray, sample_rate_hz: int,
                     mark: WavMark) -> dict[str, Any]:
    """Write float32 mono ``samples`` as 16-bit PCM WAV carrying ``mark``, plus its sidecar.

    Returns the sidecar as written; :class:`AudioError` (one sentence) if either file cannot be
    written.
    """
    path = Path(path)
    if sample_rate_hz <= 0:
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
    pcm = _pcm16(samples)
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate_hz, sample_rate_hz * 2, 2, 16)
    body = b"WAVE" + _chunk(b"fmt ", fmt) + _chunk(b"data", pcm) \
        + (_info_chunk(mark.info) if mark.info else b"")
    blob = b"RIFF" + struct.pack("<I", len(body)) + body
    sidecar = {
        **mark.sidecar,
        "audio": {"format": "pcm_s16le", "channels": 1, "sample_rate_hz": sample_rate_hz,
                  "frames": len(pcm) // 2, "duration_s": round(len(pcm) / 2 / sample_rate_hz, 3)},
        "sha256": {"audio": hashlib.sha256(pcm).hexdigest(),
                   "file": hashlib.sha256(blob).hexdigest()},
    }
    try:
        atomic_write(path, blob)
        atomic_write(sidecar_path(path),
                     (json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        raise AudioError(f"cannot write WAV file {path}: {exc.strerror or exc}; "
                         "choose a writable path") from None
    return sidecar


def _chunks(blob: bytes, start: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    """(id, body) of each RIFF chunk between ``start`` and ``end``; a truncated last chunk
    yields what is there."""
    pos = start
    while pos + 8 <= end:
        chunk_id, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        yield chunk_id, blob[pos + 8:min(pos + 8 + size, end)]
        pos += 8 + size + (size & 1)


def _info_fields(body: bytes) -> dict[str, str]:
    return {key.decode("ascii", "replace"): value.split(b"\0", 1)[0].decode("utf-8", "replace")
            for key, value in _chunks(body, 4, len(body))}


def read_marked_wav(path: Path | str) -> WavReading:
    """Read a WAV file's INFO fields and sidecar and check the sidecar's hashes.

    :class:`AudioError` if the file cannot be read or is not a WAV; a missing or unreadable
    sidecar and hash mismatches are ``problems``, one sentence each.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise AudioError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    info: dict[str, str] = {}
    data: bytes | None = None
    for chunk_id, body in _chunks(blob, 12, len(blob)):
        if chunk_id == b"data" and data is None:
            data = body
        elif chunk_id == b"LIST" and body[:4] == b"INFO":
            info.update(_info_fields(body))
    if data is None:
        raise AudioError(f"{path}: corrupt WAV file (no 'data' chunk)")
    sha256 = {"audio": hashlib.sha256(data).hexdigest(), "file": hashlib.sha256(blob).hexdigest()}
    problems = []
    sidecar = None
    try:
        sidecar = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"no sidecar {sidecar_path(path).name}")
    except (OSError, ValueError) as exc:
        problems.append(f"sidecar {sidecar_path(path).name} unreadable: {exc}")
    if sidecar is not None:
        recorded = sidecar.get("sha256") or {}
        for what in ("audio", "file"):
            if recorded.get(what) != sha256[what]:
                problems.append(f"{what} sha256 mismatch: the sidecar records "
                                f"{recorded.get(what)}, the file has {sha256[what]}")
    return WavReading(info, sidecar, sha256, problems)
