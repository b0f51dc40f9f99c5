"""The technical dossier, built from the real catalogue and configuration (no models needed)."""

from __future__ import annotations

import argparse
import json
import os
import time

import pytest

from edgevox.catalog import ModelStore
from edgevox.config import load_config
from edgevox.events import Event
from edgevox.trust.commands import add_commands
from edgevox.trust.dossier import (
    NOT_LEGAL_ADVICE,
    NOT_MEASURED,
    build_dossier,
    latest_bench_report,
    loaded_models,
    render_markdown,
    write_dossier,
)
from edgevox.trust.oplog import OperationalLog, record_from_events

DEFAULT_MODELS = {"asr": "vietasr-streaming-ctc", "vad": "silero-vad", "turn": "smart-turn-v3.2",
                  "llm": "qwen2.5-coder-1.5b-q4km", "tts": "piper-vi_VN-vais1000-medium"}
BENCH = {"created": "2026-11-01T10:00:00+00:00", "hardware": {"cores": 2, "ram_mb": 8000},
         "asr": {"wer": 0.078, "rtf": 0.077},
         "tools": {"exact_match": 0.84, "schema_valid": 1.0},
         "latency": {"first_audio": {"p50_ms": 910.0, "p90_ms": 1400.0}}}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEVOX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EDGEVOX_CATALOG", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./edgevox.toml
    return tmp_path / "home"


def config(**overrides):
    return load_config(profile="x86", overrides=overrides, environ={})


def test_dossier_lists_every_loaded_model_with_licences(home, tmp_path):
    store = ModelStore()
    logs = home / "logs"
    with OperationalLog(logs) as oplog:
        t0 = time.monotonic()
        oplog.write(record_from_events([Event("end_of_turn", 1, {"eot_delay_ms": 500}, t0)], {}))
    dossier = build_dossier(config(), store, BENCH, logs, bench_source="bench/results/x.json")
    assert loaded_models(config()) == DEFAULT_MODELS
    assert [m["id"] for m in dossier["models"]] == list(DEFAULT_MODELS.values())
    for model in dossier["models"]:
        entry = store.catalog.get(model["id"])
        assert (model["license"], model["commercial_use"]) == (entry.license,
                                                               entry.commercial_use)
        assert model["status"] == "not installed"
        assert [f["name"] for f in model["files"]] == [f.name for f in entry.files]
    silero = next(m for m in dossier["models"] if m["id"] == "silero-vad")
    assert silero["files"][0]["sha256"] == store.catalog.get("silero-vad").files[0].sha256
    assert silero["files"][0]["sha256_origin"] == "catalogue"
    voice = next(m for m in dossier["models"] if m["id"] == "piper-vi_VN-vais1000-medium")
    assert voice["files"][0]["sha256"] is None  # BLAKE3-pinned: sha256 recorded when pulled
    # the default ASR's licence is unknown: the dossier must say it is not cleared
    assert any(p.startswith("vietasr-streaming-ctc") for p in dossier["licence_problems"])
    assert dossier["logging"]["current"]["records"] == 1
    assert dossier["data_flows"]["daemon"]["reachable_from"] == "this device only (loopback)"
    limits = dossier["known_limits"]
    assert limits["asr_wer"] == [{"metric": "asr.wer", "value": 0.078}]
    assert limits["tool_accuracy"] == [{"metric": "tools.exact_match", "value": 0.84}]
    assert [m["metric"] for m in limits["latency"]] == ["latency.first_audio.p50_ms",
                                                        "latency.first_audio.p90_ms"]
    assert limits["measured_on"] == BENCH["hardware"]
    markdown = render_markdown(dossier)
    assert "| asr.wer | 0.078 |" in markdown and "| tools.exact_match | 0.84 |" in markdown


def test_dossier_files_are_written_with_the_disclaimer(home, tmp_path):
    dossier = build_dossier(config(), ModelStore(), None, None)
    paths = write_dossier(tmp_path / "out", dossier)
    assert sorted(p.name for p in paths) == ["dossier.json", "dossier.md"]
    assert json.loads((tmp_path / "out/dossier.json").read_text(encoding="utf-8")) == dossier
    markdown = (tmp_path / "out/dossier.md").read_text(encoding="utf-8")
    assert markdown == render_markdown(dossier)
    assert NOT_LEGAL_ADVICE in markdown and "134/2025/QH15" in markdown
    assert "not legal advice" in markdown.lower()
    for model in dossier["models"]:
        assert f"`{model['id']}`" in markdown and model["license"] in markdown
    assert dossier["known_limits"]["asr_wer"] == NOT_MEASURED
    assert markdown.count(NOT_MEASURED) >= 3
    assert "## 4. Data flows (Luồng dữ liệu)" in markdown
    assert "| `tool_call` |" in markdown


def test_models_not_loaded_are_left_out(home):
    cfg = config(vad={"backend": "webrtc"}, turn={"smart_turn": "off"},
                 server={"host": "0.0.0.0", "token": "s3cret"})
    dossier = build_dossier(cfg, ModelStore(), None, None)
    assert [m["task"] for m in dossier["models"]] == ["asr", "llm", "tts"]
    daemon = dossier["data_flows"]["daemon"]
    assert daemon["reachable_from"] == "other machines on the network"
    assert daemon["access_token"] == "required"
    assert "s3cret" not in json.dumps(dossier)


def test_latest_bench_report_is_the_newest_file(tmp_path):
    assert latest_bench_report(tmp_path) is None
    old, new = tmp_path / "a.json", tmp_path / "b.json"
    new.write_text(json.dumps({"asr": {"wer": 0.2}}), encoding="utf-8")
    old.write_text(json.dumps(BENCH), encoding="utf-8")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert latest_bench_report(tmp_path) == (new, {"asr": {"wer": 0.2}})


def test_dossier_command(home, tmp_path, capsys):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(BENCH), encoding="utf-8")
    parser = argparse.ArgumentParser(prog="edgevox")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dossier", "--out", str(tmp_path / "d"), "--bench", str(bench),
                              "--profile", "pi5"])
    assert args.func(args) == 0
    assert "dossier.md" in capsys.readouterr().out
    written = json.loads((tmp_path / "d/dossier.json").read_text(encoding="utf-8"))
    assert written["system"]["profile"] == "pi5"
    assert written["known_limits"]["bench_report"] == str(bench)
    assert written["logging"]["directory"] == str(home / "logs")
