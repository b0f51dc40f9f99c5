"""Commercial mode: the runtime refuses to load a model not cleared for commercial use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgevox.catalog import ModelStore
from edgevox.config import load_config
from edgevox.errors import LicenceError
from edgevox.runtime.build import build_recognizer, build_synthesizer, build_vad


def commercial(**sections):
    return load_config(environ={}, overrides={"commercial": True, **sections})


def test_gate_refuses_the_default_asr_naming_model_and_licence():
    with pytest.raises(LicenceError) as err:
        build_recognizer(commercial(), ModelStore())
    message = str(err.value)
    assert "vietasr-streaming-ctc" in message and "licence unknown" in message


def test_gate_names_a_cleared_alternative_when_there_is_one():
    with pytest.raises(LicenceError, match="cleared alternative: piper-vi_VN-vais1000-medium"):
        build_synthesizer(commercial(tts={"voice": "piper-vi_VN-vivos-x_low"}), ModelStore())


@pytest.mark.models
def test_gate_lets_cleared_models_load(model_dir):
    model_dir("silero-vad")
    assert build_vad(commercial(), ModelStore()).frame_samples == 512


def test_commercial_flag_on_the_command_line(eval_dir):
    clip = next((eval_dir / "asr-cv-vi-dev").glob("*.wav"))
    result = subprocess.run([sys.executable, "-m", "edgevox", "transcribe", "--commercial",
                             str(clip)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "commercial mode refuses to load vietasr-streaming-ctc" in result.stderr
