"""Configuration layers and the messages bad configuration gets."""

from __future__ import annotations

import pytest

from edgevox.config import available_profiles, load_config
from edgevox.errors import ConfigError


def test_profiles_exist_and_load():
    assert set(available_profiles()) >= {"x86", "pi5", "orin-nano"}
    for name in ("x86", "pi5", "orin-nano"):
        config = load_config(profile=name, environ={})
        assert config.profile == name
        assert config.tts.voice == "piper-vi_VN-vais1000-medium"
    assert load_config(profile="pi5", environ={}).llm.n_threads == 4


def test_layers_file_over_profile_env_over_file_flags_over_env(tmp_path):
    path = tmp_path / "edgevox.toml"
    path.write_text('profile = "pi5"\n[asr]\nnum_threads = 3\nchunk_ms = 200\n')
    config = load_config(path, environ={})
    assert (config.profile, config.asr.num_threads, config.llm.n_threads) == ("pi5", 3, 4)
    env = {"EDGEVOX_ASR__NUM_THREADS": "5", "EDGEVOX_VAD__BACKEND": "webrtc"}
    config = load_config(path, environ=env)
    assert (config.asr.num_threads, config.asr.chunk_ms, config.vad.backend) == (5, 200, "webrtc")
    config = load_config(path, environ=env, overrides={"asr": {"num_threads": 1}})
    assert config.asr.num_threads == 1


def test_config_path_from_environment(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text("commercial = true\n")
    assert load_config(environ={"EDGEVOX_CONFIG": str(path)}).commercial is True


@pytest.mark.parametrize("text, message", [
    ("[asr]\nnum_thread = 2\n", "unknown setting 'asr.num_thread'"),
    ("[asr]\nnum_threads = 0\n", "asr.num_threads"),
    ("[vad]\nbackend = 'magic'\n", "vad.backend"),
    ("[turn]\nmin_silence_ms = 3000\nhangover_ms = 800\n", "min_silence_ms <= hangover_ms"),
    ("[asr\nnum_threads = 2\n", "not valid TOML"),
    ("profile = 'toaster'\n", "unknown profile 'toaster'"),
])
def test_bad_config_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "edgevox.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(path, environ={})
    assert "\n" not in str(err.value)


def test_bad_environment_override_names_the_setting():
    with pytest.raises(ConfigError, match=r"llm\.n_ctx"):
        load_config(environ={"EDGEVOX_LLM__N_CTX": "lots"})


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", environ={})
