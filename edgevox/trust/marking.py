"""Machine-readable marking of AI-generated speech, and the spoken disclosure.

A WAV file that edgevox synthesised says so twice:

* inside the file, in a RIFF ``LIST/INFO`` chunk that ordinary audio tools show: ``ISFT``
  (software) is the generator, ``ICMT`` (comment) says "AI-generated speech" and names the
  models, ``ICRD`` is the creation time, and a custom ``AIGC`` field holds the same facts as
  compact JSON for programs. The chunk follows the ``data`` chunk, so the file stays a plain PCM
  WAV for every reader, including ones that assume a 44-byte header;
* beside the file, in ``<file>.json``, with the sha256 of the PCM samples and of the whole file,
  so anyone can check that neither the audio nor its marking was changed afterwards.

Both files are written to a temporary name and moved into place, never left half-written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgevox import __version__
from edgevox.errors import AudioError
from edgevox.trust import atomic_write

log = logging.getLogger(__name__)

# Spoken at the start of a conversation so the listener knows they are talking to an AI system.
# "AI" is explained in words too, in case a voice reads the letters oddly.
DISCLOSURE_VI = ("Tôi là trợ lý AI, một chương trình trí tuệ nhân tạo chạy ngay trên thiết bị "
                 "này, không phải người thật.")

MARK_SCHEMA = "edgevox-mark.v1"
COMMENT_PREFIX = "AI-generated speech (edgevox)"
SIDECAR_SUFFIX = ".json"
AIGC_FIELD = "AIGC"
_INT16_MAX = 32767


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


def write_marked_wav(path: Path | str, samples: np.ndarray, sample_rate_hz: int, *,
                     generator: str = f"edgevox {__version__}",
                     model_ids: Mapping[str, str], text: str | None = None) -> dict[str, Any]:
    """Write float32 mono ``samples`` as a marked 16-bit PCM WAV plus its JSON sidecar.

    ``model_ids`` maps task -> catalogue id of the models that produced the audio (at least the
    voice). ``text`` is what was spoken; it goes into the sidecar only. Returns the sidecar.
    """
    path = Path(path)
    if sample_rate_hz <= 0:
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
    pcm = _pcm16(samples)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    models = dict(model_ids)
    mark = {"ai_generated": True, "generator": generator, "models": models, "created": created}
    models_text = ", ".join(f"{task}={model}" for task, model in models.items()) or "none named"
    info = {
        "ISFT": generator,
        "ICMT": f"{COMMENT_PREFIX}; models: {models_text}",
        "ICRD": created,
        AIGC_FIELD: json.dumps(mark, ensure_ascii=False, separators=(",", ":")),
    }
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate_hz, sample_rate_hz * 2, 2, 16)
    body = b"WAVE" + _chunk(b"fmt ", fmt) + _chunk(b"data", pcm) + _info_chunk(info)
    blob = b"RIFF" + struct.pack("<I", len(body)) + body
    sidecar = {
        "schema": MARK_SCHEMA, **mark,
        "audio": {"format": "pcm_s16le", "channels": 1, "sample_rate_hz": sample_rate_hz,
                  "frames": len(pcm) // 2, "duration_s": round(len(pcm) / 2 / sample_rate_hz, 3)},
        "sha256": {"audio": hashlib.sha256(pcm).hexdigest(),
                   "file": hashlib.sha256(blob).hexdigest()},
    }
    if text is not None:
        sidecar["text"] = text
    try:
        atomic_write(path, blob)
        atomic_write(sidecar_path(path),
                     (json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        raise AudioError(f"cannot write {path}: {exc.strerror or exc}; "
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


def read_mark(path: Path | str) -> dict[str, Any]:
    """Read a WAV file's AI-content marking and check it against its sidecar.

    Returns ``info`` (every INFO field), ``ai_generated`` (the in-file mark says so),
    ``mark`` (the parsed ``AIGC`` field, or None), ``sidecar`` (or None), the computed
    ``sha256`` of the audio data and the file, ``verified`` (a sidecar exists, marks the audio as
    AI-generated and both hashes match) and ``problems`` (why not, one sentence each).
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
    try:
        mark = json.loads(info[AIGC_FIELD]) if AIGC_FIELD in info else None
    except ValueError:
        mark = None
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
        if sidecar.get("ai_generated") is not True:
            problems.append("the sidecar does not mark the audio as AI-generated")
    ai_generated = bool(mark and mark.get("ai_generated") is True) \
        or info.get("ICMT", "").startswith(COMMENT_PREFIX)
    return {"info": info, "ai_generated": ai_generated, "mark": mark, "sidecar": sidecar,
            "sha256": sha256, "verified": not problems, "problems": problems}
