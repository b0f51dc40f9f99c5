"""`edgevox bench`: statistics, a real (small) ASR case end to end, the report formats, compare.

The full bench takes minutes; here one cheap case runs for real (the ASR listener on two
recordings, in its own process) and the report built from it is checked against the committed
schema, rendered, charted and compared.
"""

from __future__ import annotations

import argparse
import copy
import json
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edgevox.bench.commands import add_commands
from edgevox.bench.metrics import BREAKDOWN, BREAKDOWN_PARTS, TARGETS
from edgevox.bench.report import (
    CHART_HEIGHT,
    CHART_WIDTH,
    build_report,
    chart_scale_s,
    chart_x,
    command_line,
    compare_reports,
    latency_chart_png,
    percentile,
    render_markdown,
    summarize,
    write_outputs,
)
from edgevox.bench.runner import (
    as_vietnamese,
    find_clips,
    make_plan,
    run_bench,
    turn_breakdown,
)
from edgevox.catalog import ModelStore
from edgevox.config import load_config
from edgevox.errors import AudioError, ConfigError
from edgevox.events import Event

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO_ROOT / "docs/schemas/bench-report.v1.json").read_text(encoding="utf-8"))


def validate(report: dict) -> None:
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(report)


# --------------------------------------------------------------------------------------------
# statistics and event arithmetic


def test_percentile_and_summary_on_known_numbers():
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert percentile([5.0], 90) == 5.0
    assert percentile([3, 1, 2], 50) == 2
    summary = summarize([[1, 2, 3], [4, 5, 6]], "s")
    assert summary == {"unit": "s", "n": 6, "median": 3.5, "p90": pytest.approx(5.5),
                       "min": 1, "max": 6, "run_medians": [2, 5], "spread_observed": 3,
                       "spread": 3}
    # One pass shows no run-to-run variation; the floor still states some.
    single = summarize([[0.2]], "s")
    assert single["spread_observed"] is None
    assert single["spread"] == pytest.approx(0.03)
    # A narrow observed range is widened to the floor: 15 % of the median, 10 ms for seconds.
    assert summarize([[20.0], [20.1]], "tok/s")["spread"] == pytest.approx(3.0075)
    assert summarize([[0.04], [0.041]], "s")["spread"] == pytest.approx(0.010)
    with pytest.raises(ValueError):
        summarize([[]])


def test_latency_parts_add_up_to_the_agents_own_latency():
    events = [
        Event("end_of_turn", 3, {"eot_delay_ms": 400, "reason": "smart_turn"}, t=10.0),
        Event("final_transcript", 3, {"text": "bật đèn"}, t=10.05),
        Event("llm_first_token", 3, t=10.35),
        Event("tool_call", 3, {"name": "control_device", "arguments": {}}, t=10.5),
        Event("speaking_started", 3, {"latency_s": 1.1, "tts_first_audio_s": 0.15}, t=10.70),
        Event("speaking_finished", 3, {"text": "Đã bật đèn."}, t=11.9),
    ]
    row = turn_breakdown(events)
    parts = [row[k] for k in BREAKDOWN]
    assert parts == pytest.approx([0.4, 0.05, 0.3, 0.2, 0.15])
    assert sum(parts) == pytest.approx(row["voice_to_voice_s"])
    assert (row["transcript"], row["tool"], row["reply"]) == ("bật đèn", "control_device",
                                                               "Đã bật đèn.")
    unanswered = turn_breakdown(events[:2])
    assert "voice_to_voice_s" not in unanswered and unanswered["reply"] is None


def test_plan_rejects_impossible_values(tmp_path):
    assert "llm" not in make_plan(quick=True).cases
    assert make_plan(runs=5, warmup=0, cases=["tts", "asr"]).cases == ("asr", "tts")
    with pytest.raises(ConfigError, match="--runs"):
        make_plan(runs=0)
    with pytest.raises(ConfigError, match="gpu"):
        make_plan(cases=["gpu"])
    with pytest.raises(AudioError, match="no WAV files"):
        find_clips(tmp_path, ModelStore())


@pytest.mark.models
def test_stand_in_voice_is_relabelled_vietnamese(model_dir, tmp_path):
    voice_dir = model_dir("piper-en_US-joe-medium")
    relabelled = as_vietnamese(voice_dir, tmp_path)
    config = json.loads(next(relabelled.glob("*.onnx.json")).read_text(encoding="utf-8"))
    assert config["language"]["family"] == "vi" and config["espeak"]["voice"] == "vi"
    assert next(relabelled.glob("*.onnx")).resolve().parent == voice_dir.resolve()


# --------------------------------------------------------------------------------------------
# a real case, and everything built from its report


@pytest.fixture(scope="module")
def asr_report(model_dir, eval_dir):
    model_dir("vietasr-streaming-ctc")
    model_dir("silero-vad")
    config = load_config(profile="x86", environ={})
    plan = replace(make_plan(runs=2, warmup=0, cases=["asr"]), asr_clips=2)
    store = ModelStore()
    raw = run_bench(config, plan, audio_dir=eval_dir / "asr-cv-vi-dev", store=store)
    args = ["--profile", "x86", "--runs", "2", "--warmup", "0", "--only", "asr"]
    return build_report(raw, config, plan, command=command_line(args), argv=["test"],
                        store=store)


@pytest.mark.models
def test_real_asr_case_report_matches_the_schema(asr_report):
    validate(asr_report)
    assert asr_report["cases"]["asr"]["ok"], asr_report["cases"]["asr"]["error"]
    rtf = asr_report["metrics"]["asr.rtf"]
    assert rtf["n"] == 4 and len(rtf["run_medians"]) == 2 and 0 < rtf["median"] < 2
    assert rtf["min"] <= rtf["median"] <= rtf["p90"] <= rtf["max"]
    assert 50 < asr_report["metrics"]["asr.peak_rss_mib"]["median"] < 2048
    assert asr_report["cases"]["asr"]["info"]["wer"] < 0.5  # the real model, really listening
    target = next(t for t in asr_report["targets"] if t["metric"] == "asr.rtf")
    assert target["value"] == rtf["median"] and target["met"] == (rtf["median"] <= 0.15)
    assert asr_report["environment"]["versions"]["python"]
    assert asr_report["command"].startswith("edgevox bench --profile x86")
    assert "vietasr-streaming-ctc" in {m["id"] for m in asr_report["models"]}


@pytest.mark.models
def test_markdown_and_json_are_written_without_a_chart_when_the_agent_did_not_run(asr_report,
                                                                                 tmp_path):
    paths = write_outputs(asr_report, tmp_path, "x86")
    assert [p.name for p in paths] == ["x86.json", "x86.md"]
    assert json.loads(paths[0].read_text(encoding="utf-8")) == asr_report
    page = paths[1].read_text(encoding="utf-8")
    assert "| asr.rtf |" in page and "<= 0.150" in page
    assert "| agent.voice_to_voice_s | <= 1.200 s | - | not measured |" in page


def _with_agent_latency(report: dict) -> dict:
    """The report plus agent figures with known values (what an agent case would add)."""
    out = copy.deepcopy(report)
    for (name, _, _), value in zip(BREAKDOWN_PARTS, (0.4, 0.05, 0.3, 0.2, 0.15), strict=True):
        out["metrics"][name] = summarize([[value]], "s")
    out["metrics"]["agent.voice_to_voice_s"] = summarize([[1.1, 1.9]], "s")
    return out


def _decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        tag, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(tag + body)
        chunks[tag] = chunks.get(tag, b"") + body
        at += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8)
    rows = rows.reshape(height, width * 3 + 1)
    assert not rows[:, 0].any()  # filter type 0 on every row
    return rows[:, 1:].reshape(height, width, 3)


@pytest.mark.models
def test_chart_draws_the_median_breakdown(asr_report, tmp_path):
    report = _with_agent_latency(asr_report)
    validate(report)
    pixels = _decode_png(latency_chart_png(report))
    assert pixels.shape == (CHART_HEIGHT, CHART_WIDTH, 3)
    scale_s = chart_scale_s(report)
    assert scale_s == 2.0  # p90 1.82 s, rounded up to the next 0.5 s
    start = 0.0
    for (_, _, colour), value in zip(BREAKDOWN_PARTS, (0.4, 0.05, 0.3, 0.2, 0.15), strict=True):
        middle = chart_x(start + value / 2, scale_s)
        assert tuple(pixels[50, middle]) == colour
        start += value
    assert tuple(pixels[50, chart_x(1.5, scale_s)]) == (255, 255, 255)  # stack ends at 1.1 s
    assert tuple(pixels[95, chart_x(1.8, scale_s)]) == (153, 153, 153)  # p90 bar reaches 1.82
    target_x = chart_x(dict(TARGETS)["agent.voice_to_voice_s"], scale_s)
    assert tuple(pixels[11, target_x - 1]) == (213, 94, 0)
    paths = write_outputs(report, tmp_path, "x86-quick")
    assert paths[2].name == "x86-quick.png" and paths[2].read_bytes()[:4] == b"\x89PNG"
    assert "![median latency breakdown](x86-quick.png)" in paths[1].read_text(encoding="utf-8")
    assert "| LLM prefill to first output | 0.300 s |" in render_markdown(report)


@pytest.mark.models
def test_compare_prints_medians_and_deltas(asr_report, tmp_path, capsys):
    slower = copy.deepcopy(asr_report)
    before = slower["metrics"]["asr.rtf"]["median"]
    slower["metrics"]["asr.rtf"]["median"] = before + 0.05
    table = compare_reports(asr_report, slower)
    row = next(line for line in table.splitlines() if line.startswith("| asr.rtf |"))
    assert f"{before:.3f}" in row and f"{before + 0.05:.3f}" in row and "+0.050" in row
    assert f"{0.05 / before * 100:+.1f}%" in row

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(asr_report), encoding="utf-8")
    b.write_text(json.dumps(slower), encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["bench", "--compare", str(a), str(b)])
    assert args.func(args) == 0
    assert row in capsys.readouterr().out

    args = parser.parse_args(["bench", "--compare", str(a), str(REPO_ROOT / "pyproject.toml")])
    with pytest.raises(ConfigError, match="not a JSON bench report"):
        args.func(args)


# --------------------------------------------------------------------------------------------
# the room case: the real agent on a loudspeaker in the simulated rooms


@pytest.mark.models
@pytest.mark.slow
def test_room_case_never_hears_the_agent_itself_and_reports_every_figure(model_dir, eval_dir):
    pytest.importorskip("pyroomacoustics", reason="the room simulator needs pyroomacoustics")
    for model_id in ("vietasr-streaming-ctc", "silero-vad", "smart-turn-v3.2",
                     "qwen2.5-coder-1.5b-q4km", "piper-en_US-joe-medium"):
        model_dir(model_id)
    config = load_config(profile="x86", environ={})
    plan = replace(make_plan(cases=["room"]), room_replies=4)  # echo-only in each room, a barge-in
    store = ModelStore()
    raw = run_bench(config, plan, audio_dir=eval_dir / "asr-cv-vi-dev", store=store)
    report = build_report(raw, config, plan, command=command_line(["--only", "room"]),
                          argv=["test"], store=store)
    validate(report)
    case = report["cases"]["room"]
    assert case["ok"], case["error"]
    metrics = report["metrics"]
    for prefix in ("room.", "room.no_aec."):  # the agent's own voice is never a turn
        assert metrics[prefix + "echo_turns"]["median"] == 0, case["info"]["conditions"]
        assert metrics[prefix + "echo_tool_calls"]["median"] == 0
        assert metrics[prefix + "false_barge_in_rate"]["median"] == 0
    assert metrics["room.erle_db"]["n"] == 3 and metrics["room.erle_db"]["median"] >= 25
    assert metrics["room.dry_wer"]["median"] < 0.3  # the clips themselves are understood
    for name in ("room.barge_in_detect_rate", "room.double_talk_wer", "room.clean_wer",
                 "room.double_talk_wer_gap", "room.false_pause_rate", "room.aec_rtf"):
        assert name in metrics
    rows = case["info"]["conditions"]["aec"]
    assert [r["kind"] for r in rows] == ["echo_only", "barge_in", "echo_only", "echo_only"]
    page = render_markdown(report)
    assert "## Room (simulated loudspeaker and microphone)" in page
    assert "| aec | kiosk_hall | 2 |" in page
