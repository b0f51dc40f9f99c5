"""Shared fixtures: real models from the catalogue and the shared evaluation corpora.

Tests never ship or fake models: they ask the catalogue for the real files (pulling them into the
model store on first use) and skip with the reason when a model cannot be had.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edgevox.catalog import ensure_model
from edgevox.errors import ModelError

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def model_dir():
    """Return a function ``get(model_id) -> Path`` of the directory holding that model's files."""

    def get(model_id: str) -> Path:
        try:
            return ensure_model(model_id)
        except ModelError as exc:
            pytest.skip(f"model {model_id} unavailable: {exc}")

    return get


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    """The shared evaluation corpora (``EDGEVOX_EVAL_DIR`` or ``../shared/eval``)."""
    path = Path(os.environ.get("EDGEVOX_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval"))
    if not (path / "README.md").is_file():
        pytest.skip(f"evaluation data not found at {path}; set EDGEVOX_EVAL_DIR")
    return path


@pytest.fixture(scope="session")
def clip(eval_dir):
    """One Common Voice clip, (16 kHz float32 audio, its transcript): "Anh nấy cũng khoe rằng
    ảnh của mình hơn", 4 s with a word break in the middle."""
    from edgevox.audio.source import read_wav

    corpus = eval_dir / "asr-cv-vi-dev"
    name = "common_voice_vi_23801915.wav"
    manifest = {json.loads(line)["audio"]: json.loads(line)["text"]
                for line in (corpus / "manifest.jsonl").read_text().splitlines()}
    audio, _ = read_wav(corpus / name)
    return audio, manifest[name]
