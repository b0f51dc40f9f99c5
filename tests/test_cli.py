"""The `edgevox` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgevox.catalog import ModelStore, edgevox_home
from edgevox.config import available_profiles


def run(*args: str, home, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "EDGEVOX_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "edgevox", *args], env=full_env,
                          capture_output=True, text=True, timeout=kwargs.pop("timeout", 120),
                          **kwargs)


def test_importing_edgevox_loads_no_native_engine():
    code = ("import sys, edgevox, edgevox.cli, edgevox.config, edgevox.catalog, edgevox.events;"
            "heavy = {'sherpa_onnx', 'llama_cpp', 'onnxruntime', 'piper', 'numpy', 'livekit'} & "
            "set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_commands(tmp_path):
    result = run("--help", home=tmp_path)
    assert result.returncode == 0
    for command in ("models", "doctor", "transcribe"):
        assert command in result.stdout


@pytest.mark.parametrize("command", [("run",), ("serve",), ("bench",), ("dossier",)])
def test_profile_help_lists_every_shipped_profile(tmp_path, command):
    result = run(*command, "--help", home=tmp_path)
    assert result.returncode == 0
    listed = " ".join(result.stdout.split()).split("device profile: ")[1]
    for name in available_profiles():
        assert name in listed, (command, name)


def test_bad_config_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "edgevox.toml"
    bad.write_text("[asr]\nnum_threads = -1\n")
    result = run("models", "licenses", "--config", str(bad), home=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("edgevox: error: invalid configuration")
    assert "asr.num_threads" in result.stderr


def test_licenses_commercial_fails_on_unknown_default_asr(tmp_path):
    result = run("models", "licenses", "--commercial", home=tmp_path)
    assert result.returncode == 1
    assert "vietasr-streaming-ctc" in result.stderr
    assert "licence is not known" in result.stderr


def test_licenses_commercial_passes_for_cleared_models(tmp_path):
    result = run("models", "licenses", "--commercial", "silero-vad", "smart-turn-v3.2",
                 home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cleared for commercial use" in result.stdout


def test_missing_model_names_the_pull_command(tmp_path):
    result = run("models", "path", "silero-vad", home=tmp_path)
    assert result.returncode == 1
    assert "edgevox models pull silero-vad" in result.stderr


def test_verify_before_any_pull_says_what_to_do(tmp_path):
    result = run("models", "verify", home=tmp_path)
    assert result.returncode == 1 and "edgevox models pull --default" in result.stderr


@pytest.mark.parametrize("args", [["models", "pull"], ["models", "pull", "no-such-model"]])
def test_pull_usage_errors(tmp_path, args):
    result = run(*args, home=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_doctor_reports_versions_hardware_audio_and_models(tmp_path):
    result = run("doctor", home=tmp_path)
    assert result.returncode == 0, result.stderr
    for needle in ("sherpa-onnx:", "llama-cpp-python:", "cores:", "audio devices:",
                   "vietasr-streaming-ctc: not installed"):
        assert needle in result.stdout


def test_public_api_names_resolve_lazily():
    code = ("import sys, edgevox; assert 'edgevox.runtime.session' not in sys.modules;"
            "assert callable(edgevox.open_agent) and edgevox.load_config().profile == 'x86';"
            "assert 'llama_cpp' not in sys.modules and 'sherpa_onnx' not in sys.modules;"
            "print(sorted(edgevox.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "open_agent" in out.stdout


@pytest.mark.models
@pytest.mark.slow
def test_demo_without_a_voice_reports_no_audio_latency(model_dir, tmp_path):
    for model_id in ("vietasr-streaming-ctc", "silero-vad", "smart-turn-v3.2",
                     "qwen2.5-coder-1.5b-q4km", "sample-vi-speech"):
        model_dir(model_id)
    voice = "piper-vi_VN-vivos-x_low"  # upstream only: not installed where the suite runs
    home = edgevox_home()
    if voice in {e.id for e in ModelStore().catalog if ModelStore().is_ready(e)}:
        pytest.skip(f"{voice} is installed here, so the demo would speak")
    result = run("demo", "--out", str(tmp_path / "reply.wav"), home=home, timeout=600,
                 env={"EDGEVOX_TTS__VOICE": voice, "EDGEVOX_LOG__DIR": str(tmp_path / "log")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("to first reply text (speech output off)") == 2, result.stdout
    assert "TTS first audio" not in result.stdout and "reply audio:" not in result.stdout
    assert "first reply audio" not in result.stdout
    assert "set_timer" in result.stdout
    assert "llama" not in result.stderr and "control-looking" not in result.stderr, result.stderr
