"""What edgevox says about the speech it generates: the file mark, and the spoken disclosure.

A WAV file that edgevox synthesised says so twice, in the mark :func:`speech_mark` decides and
:mod:`edgevox.audio.marking` writes:

* inside the file, in the RIFF ``LIST/INFO`` chunk that ordinary audio tools show: ``ISFT``
  (software) is the generator, ``ICMT`` (comment) says "AI-generated speech" and names the
  models, ``ICRD`` is the creation time, and a custom ``AIGC`` field holds the same facts as
  compact JSON for programs;
* beside the file, in ``<file>.json``: the same facts, the text that was spoken, and the hashes
  that let anyone check the audio and its marking were not changed afterwards.

The policy lives here and the RIFF writing in the audio layer, so the audio layer needs nothing
from this package: whoever creates a :class:`~edgevox.audio.sink.WavFileSink` hands it
:func:`speech_marker`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgevox import __version__
from edgevox.audio.marking import Marker, WavMark, read_marked_wav

# Spoken at the start of a conversation so the listener knows they are talking to an AI system.
# "AI" is explained in words too, in case a voice reads the letters oddly.
DISCLOSURE_VI = ("Tôi là trợ lý AI, một chương trình trí tuệ nhân tạo chạy ngay trên thiết bị "
                 "này, không phải người thật.")

MARK_SCHEMA = "edgevox-mark.v1"
COMMENT_PREFIX = "AI-generated speech (edgevox)"
AIGC_FIELD = "AIGC"
GENERATOR = f"edgevox {__version__}"


def speech_mark(model_ids: Mapping[str, str], text: str | None = None, *,
                generator: str = GENERATOR) -> WavMark:
    """The mark of speech generated now by ``model_ids`` (task -> catalogue id of the models
    that produced it, at least the voice). ``text`` is what was spoken; it goes into the sidecar
    only, because INFO fields are shown by every audio player."""
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    models = dict(model_ids)
    facts = {"ai_generated": True, "generator": generator, "models": models, "created": created}
    models_text = ", ".join(f"{task}={model}" for task, model in models.items()) or "none named"
    info = {
        "ISFT": generator,
        "ICMT": f"{COMMENT_PREFIX}; models: {models_text}",
        "ICRD": created,
        AIGC_FIELD: json.dumps(facts, ensure_ascii=False, separators=(",", ":")),
    }
    sidecar: dict[str, Any] = {"schema": MARK_SCHEMA, **facts}
    if text is not None:
        sidecar["text"] = text
    return WavMark(info, sidecar)


def speech_marker(model_ids: Mapping[str, str], *, generator: str = GENERATOR) -> Marker:
    """A :data:`~edgevox.audio.marking.Marker` for a sink: :func:`speech_mark` of these models,
    built when the file is written (so its time and text are those of the audio)."""
    return functools.partial(speech_mark, dict(model_ids), generator=generator)


def read_mark(path: Path | str) -> dict[str, Any]:
    """Read a WAV file's AI-content marking and check it against its sidecar.

    Returns ``info`` (every INFO field), ``ai_generated`` (the in-file mark says so),
    ``mark`` (the parsed ``AIGC`` field, or None), ``sidecar`` (or None), the computed
    ``sha256`` of the audio data and the file, ``verified`` (a sidecar exists, marks the audio as
    AI-generated and both hashes match) and ``problems`` (why not, one sentence each).
    """
    reading = read_marked_wav(path)
    info = reading.info
    try:
        mark = json.loads(info[AIGC_FIELD]) if AIGC_FIELD in info else None
    except ValueError:
        mark = None
    problems = list(reading.problems)
    if reading.sidecar is not None and reading.sidecar.get("ai_generated") is not True:
        problems.append("the sidecar does not mark the audio as AI-generated")
    ai_generated = bool(mark and mark.get("ai_generated") is True) \
        or info.get("ICMT", "").startswith(COMMENT_PREFIX)
    return {"info": info, "ai_generated": ai_generated, "mark": mark, "sidecar": reading.sidecar,
            "sha256": reading.sha256, "verified": not problems, "problems": problems}
