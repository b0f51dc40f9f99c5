"""Bench reports: the versioned JSON (docs/schemas/bench-report.v1.json), its Markdown page, a
PNG chart of the latency breakdown, and the side-by-side comparison of two reports.

The chart is written with :mod:`zlib` and :mod:`struct` (a stacked bar, a p90 bar, the target
line and a time axis; the legend is in the Markdown), so a report needs no plotting library on
a small board and its bytes are deterministic for given figures.
"""

from __future__ import annotations

import json
import math
import platform
import re
import statistics
import struct
import subprocess
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from edgevox import __version__
from edgevox.bench.metrics import AT_LEAST, BREAKDOWN_PARTS, CASES, METRICS, TARGETS
from edgevox.errors import ConfigError

SCHEMA = "bench-report.v1"

_P90_COLOUR = (153, 153, 153)
_TARGET_COLOUR = (213, 94, 0)
_INK = (40, 40, 40)


# --------------------------------------------------------------------------------------------
# Statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between order statistics
    (numpy's default method), so p90 of 1..10 is 9.1."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# Run-to-run variation one run cannot see: on the shared 2-core VM behind the committed x86
# report, two consecutive quick runs differed by up to 15 % (LLM generation speed, other tenants)
# and any stage by about 10 ms (scheduling). The stated spread is never narrower than that.
SPREAD_FLOOR_RELATIVE = 0.15
SPREAD_FLOOR_ABSOLUTE = {"s": 0.010}


def summarize(runs: Sequence[Sequence[float]], unit: str = "") -> dict[str, Any]:
    """Median, p90, min and max over every sample, and the spread a second run's median is
    expected within: the range of the per-pass medians (``spread_observed``, None with one pass),
    widened to the run-to-run floor above."""
    values = [v for run in runs for v in run]
    if not values:
        raise ValueError("no samples")
    run_medians = [statistics.median(run) for run in runs if run]
    median = statistics.median(values)
    observed = max(run_medians) - min(run_medians) if len(run_medians) > 1 else None
    floor = max(SPREAD_FLOOR_RELATIVE * abs(median), SPREAD_FLOOR_ABSOLUTE.get(unit, 0.0))
    return {
        "unit": unit,
        "n": len(values),
        "median": median,
        "p90": percentile(values, 90),
        "min": min(values),
        "max": max(values),
        "run_medians": run_medians,
        "spread_observed": observed,
        "spread": max(observed or 0.0, floor),
    }


# --------------------------------------------------------------------------------------------
# Building the report


def git_state(root: Path) -> dict[str, Any]:
    """Commit and dirty flag of the checkout ``root`` (untracked files count as dirty: they
    change what runs); nulls outside a git checkout."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def versions() -> dict[str, str]:
    """Python, edgevox and every dependency: doctor's list plus whatever the installed edgevox
    distribution requires."""
    from edgevox.doctor import dependency_versions

    out = {"edgevox": __version__, **dependency_versions()}
    try:
        requires = metadata.requires("edgevox") or []
    except metadata.PackageNotFoundError:
        requires = []
    for requirement in requires:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if "extra ==" in requirement or not name or name[0] in out:
            continue
        try:
            out[name[0]] = metadata.version(name[0])
        except metadata.PackageNotFoundError:
            if ";" not in requirement:  # a conditional one may rightly be absent
                out[name[0]] = "not installed"
    return out


def _models(config, store, voice) -> list[dict[str, Any]]:
    rows = []
    ids = dict(config.model_ids())
    if voice is not None and voice.substituted:
        ids["tts (stand-in)"] = voice.used
    for role, model_id in ids.items():
        if model_id not in store.catalog:
            rows.append({"role": role, "id": model_id, "installed": Path(model_id).is_file(),
                         "used": True, "files": []})
            continue
        entry = store.catalog.get(model_id)
        installed = store.is_ready(entry)
        used = installed and not (role == "tts" and voice is not None and voice.substituted) \
            and not (role == "turn" and config.turn.smart_turn == "off")
        rows.append({"role": role, "id": model_id, "installed": installed, "used": used,
                     "files": [{"name": f.name, "sha256": store.expected_sha256(entry, f) or None}
                               for f in entry.files]})
    return rows


def build_report(raw: dict[str, Any], config, plan, *, command: str, argv: Sequence[str],
                 store) -> dict[str, Any]:
    """The report (schema ``bench-report.v1``) from :func:`edgevox.bench.runner.run_bench`."""
    from edgevox.doctor import hardware

    metrics: dict[str, dict[str, Any]] = {}
    cases: dict[str, dict[str, Any]] = {}
    turns: list[dict[str, Any]] = []
    gathered: dict[str, list[list[float]]] = {}
    for case, outcome in raw["outcomes"].items():
        gathered.update(outcome.result.get("metrics", {}))
        if outcome.peak_rss_mib is not None and outcome.ok:
            gathered[f"{case}.peak_rss_mib"] = [[outcome.peak_rss_mib]]
        turns += outcome.result.get("turns", [])
        cases[case] = {"ok": outcome.ok, "error": outcome.error, "wall_s": round(outcome.wall_s, 3),
                       "peak_rss_mib": None if outcome.peak_rss_mib is None
                       else round(outcome.peak_rss_mib, 1),
                       "info": outcome.result.get("info", {})}
    for name in [*METRICS, *sorted(set(gathered) - set(METRICS))]:
        if gathered.get(name) and any(gathered[name]):
            metrics[name] = summarize(gathered[name], METRICS.get(name, ("", ""))[0])
    voice = raw["voice"]
    return {
        "schema": SCHEMA,
        "edgevox_version": __version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(raw["started_at"])),
        "command": command,
        "argv": list(argv),
        "profile": config.profile,
        "protocol": {
            "quick": plan.quick, "runs": plan.runs, "warmup": plan.warmup,
            "cases": list(plan.cases), "skipped_cases": [c for c in CASES if c not in plan.cases],
            "inputs": {"asr_clips": plan.asr_clips, "agent_clips": plan.agent_clips,
                       "llm_requests": plan.llm_requests, "tts_paragraphs": plan.tts_paragraphs,
                       "room_replies": plan.room_replies},
            "audio_from": raw["clips_from"],
            "threads": {"asr": config.asr.num_threads, "llm": config.llm.n_threads,
                        "tts": config.tts.num_threads},
        },
        "environment": {
            "hardware": hardware(),
            "versions": versions(),
            "git": git_state(Path(__file__).resolve().parents[2]),
            "platform": platform.platform(),
            "load_average": raw["load_average"],
        },
        "config": config.model_dump(mode="json"),
        "models": _models(config, store, voice),
        "tts_voice": asdict(voice) if voice is not None else None,
        "cases": cases,
        "metrics": metrics,
        "targets": evaluate_targets(metrics),
        "turns": turns,
        "wall_s": round(raw["wall_s"], 3),
    }


def evaluate_targets(metrics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target against its metric's median: met, or missed by how much."""
    out = []
    for name, limit in TARGETS:
        value = metrics[name]["median"] if name in metrics else None
        at_least = name in AT_LEAST
        met = None if value is None else (value >= limit if at_least else value <= limit)
        out.append({"metric": name, "limit": limit, "unit": METRICS[name][0], "value": value,
                    "met": met, "at_least": at_least,
                    "miss_by": None if value is None or met else abs(value - limit)})
    return out


# --------------------------------------------------------------------------------------------
# Reading, writing


def load_report(path: Path) -> dict[str, Any]:
    """A report written by ``edgevox bench``; ConfigError names a file that is not one."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such report") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a JSON bench report ({exc})") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise ConfigError(f"{path}: not a {SCHEMA} report (written by `edgevox bench`)")
    return report


def write_outputs(report: dict[str, Any], out_dir: Path, stem: str) -> list[Path]:
    """Write ``stem``.json, .md and (when the agent ran) .png into ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out_dir}: cannot create it ({exc.strerror})") from None
    png = latency_chart_png(report)
    paths = [out_dir / f"{stem}.json", out_dir / f"{stem}.md"]
    paths[0].write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
    paths[1].write_text(render_markdown(report, f"{stem}.png" if png else None),
                        encoding="utf-8")
    if png:
        paths.append(out_dir / f"{stem}.png")
        paths[2].write_bytes(png)
    return paths


# --------------------------------------------------------------------------------------------
# Markdown


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    if unit == "tok/s":
        return f"{value:.1f} tok/s"
    if unit == "x":
        return f"{value:.3f}"
    return f"{value:.3f} {unit}".rstrip()


def _target_line(target: dict[str, Any]) -> str:
    unit = target["unit"]
    limit = (">= " if target.get("at_least") else "<= ") + format_value(target["limit"], unit)
    if target["value"] is None:
        return f"| {target['metric']} | {limit} | - | not measured |"
    value = format_value(target["value"], unit)
    if target["met"]:
        return f"| {target['metric']} | {limit} | {value} | met |"
    share = (f" ({target['miss_by'] / abs(target['limit']) * 100:.0f}%)" if target["limit"]
             else "")
    return (f"| {target['metric']} | {limit} | {value} | **missed** by "
            f"{format_value(target['miss_by'], unit)}{share} |")


def render_markdown(report: dict[str, Any], chart_name: str | None = None) -> str:
    """The human-readable page: targets, figures with spread, breakdown, stages, protocol."""
    env, protocol, metrics = report["environment"], report["protocol"], report["metrics"]
    hw, git = env["hardware"], env["git"]
    commit = (git["commit"] or "unknown")[:12] + (" (dirty)" if git["dirty"] else "")
    load = env["load_average"]
    mode = "quick" if protocol["quick"] else "full"
    out = [
        f"# edgevox bench: {report['profile']} profile ({mode})",
        "",
        f"{report['created_at']} · edgevox {report['edgevox_version']} · commit {commit} · "
        f"`{report['command']}` · {report['wall_s']:.0f} s",
        "",
        f"Machine: {hw['cpu']} · {hw['cores']} cores · {hw['ram_gb']} GB RAM · {hw['os']} · "
        f"load average {load['start'][0]:.1f} at start, {load['end'][0]:.1f} at end.",
    ]
    if load["start"][0] > 0.5 * (hw["cores"] or 1):
        out += ["", "> **Shared CPU:** other processes were running when the bench started (load "
                f"average {load['start'][0]:.1f} on {hw['cores']} cores). Every figure is "
                "wall-clock, so they are slower than on an idle machine."]
    voice = report["tts_voice"]
    if voice and voice["substituted"]:
        out += ["", f"> **TTS voice stand-in:** {voice['note']} (configured: "
                f"`{voice['configured']}`, used: `{voice['used']}`)."]
    out += ["", "## Targets", "",
            "Median against the target (set for the x86 profile on 2 cores).", "",
            "| metric | target | median | result |", "|---|---|---|---|"]
    out += [_target_line(t) for t in report["targets"]]
    out += ["", "## Figures", "",
            f"{protocol['warmup']} warm-up pass(es) discarded, then {protocol['runs']} measured "
            "passes. *Spread* is the range of the per-pass medians: a second run's medians are "
            "expected within median ± spread.", "",
            "| metric | median | p90 | min | max | n | spread | what |",
            "|---|---|---|---|---|---|---|---|"]
    for name, m in metrics.items():
        unit = m["unit"]
        cells = [format_value(m[k], unit) for k in ("median", "p90", "min", "max")]
        spread = "-" if m["spread"] is None else format_value(m["spread"], unit)
        out.append(f"| {name} | {' | '.join(cells)} | {m['n']} | {spread} | "
                   f"{METRICS.get(name, ('', ''))[1]} |")
    out += _breakdown_section(metrics, chart_name)
    out += _cases_section(report)
    out += _room_section(report)
    out += _turns_section(report["turns"])
    out += _protocol_section(report)
    return "\n".join(out) + "\n"


def _breakdown_section(metrics: dict[str, Any], chart_name: str | None) -> list[str]:
    total = metrics.get("agent.voice_to_voice_s")
    if total is None:
        return []
    out = ["", "## Voice-to-voice latency breakdown", "",
           "Consecutive parts of one turn, from the agent's events. Medians of the parts need "
           "not add up to the median of the total.", "",
           "| part | median | p90 | chart colour |", "|---|---|---|---|"]
    for name, label, colour in BREAKDOWN_PARTS:
        if name in metrics:
            out.append(f"| {label} | {format_value(metrics[name]['median'], 's')} | "
                       f"{format_value(metrics[name]['p90'], 's')} | #{bytes(colour).hex()} |")
    out.append(f"| **voice to voice** | {format_value(total['median'], 's')} | "
               f"{format_value(total['p90'], 's')} | grey bar: p90 |")
    if chart_name:
        limit = dict(TARGETS)["agent.voice_to_voice_s"]
        out += ["", f"![median latency breakdown]({chart_name})", "",
                "Top bar: the median parts stacked in the order above; grey bar: p90 voice to "
                f"voice; vermilion line: the {limit} s target. Axis ticks every 0.1 s, longer "
                "every 0.5 s and 1 s."]
    return out


def _cases_section(report: dict[str, Any]) -> list[str]:
    out = ["", "## Cases", "",
           "Each case ran in a fresh process that loaded only what it measures (agent: "
           "everything); peak RSS is that process's own.", "",
           "| case | status | wall | peak RSS | notes |", "|---|---|---|---|---|"]
    for case, info in report["cases"].items():
        notes = _case_notes(case, info["info"])
        status = "ok" if info["ok"] else "**failed**: " + (info["error"] or "").splitlines()[0]
        out.append(f"| {case} | {status} | {info['wall_s']:.0f} s | "
                   f"{format_value(info['peak_rss_mib'], 'MiB')} | {notes} |")
    skipped = report["protocol"]["skipped_cases"]
    if "llm" in skipped and "llm.prompt_tokens_per_s" in report["metrics"]:
        out += ["", "No LLM-only process in this run: the LLM throughput figures were taken in "
                "the agent process after its turns, and no LLM-only peak RSS was measured."]
    failed = [(c, i["error"]) for c, i in report["cases"].items() if not i["ok"]]
    for case, error in failed:
        out += ["", f"{case} failed:", "", "```", error or "", "```"]
    return out


def _case_notes(case: str, info: dict[str, Any]) -> str:
    if case == "asr":
        wer = "-" if info.get("wer") is None else f"{info['wer']:.1%}"
        return (f"{len(info.get('clips', []))} clips, {info.get('audio_s', 0):.1f} s audio, "
                f"WER {wer}")
    if case == "llm":
        return (f"prefix {info.get('prefix_tokens')} tokens; prefill sample "
                f"{info.get('prompt_sample_tokens')} tokens, generation sample "
                f"{info.get('gen_sample_tokens')} tokens")
    if case == "tts":
        return f"voice language {info.get('language')}, {info.get('sample_rate_hz')} Hz"
    if case == "room":
        kinds = ", ".join(f"{n} {k.replace('_', '-')}" for k, n in info.get("kinds", {}).items())
        return (f"{info.get('replies_per_condition', 0)} replies per condition ({kinds}) in "
                f"{len(info.get('rooms', []))} rooms; English stand-in voice")
    if case == "agent":
        return (f"{len(info.get('clips', []))} clips per pass, "
                f"{info.get('turns_without_reply', 0)} turns without a reply, "
                f"{info.get('turns_resumed', 0)} resumed after a pause")
    return ""


def _room_section(report: dict[str, Any]) -> list[str]:
    """Per condition and room: what the simulated replies ran into (docs/benchmarks.md)."""
    room = report["cases"].get("room")
    conditions = (room or {}).get("info", {}).get("conditions", {})
    if not conditions:
        return []
    out = ["", "## Room (simulated loudspeaker and microphone)", "",
           "| condition | room | replies | false barge-ins | false pauses | barge-ins detected | "
           "backchannels passed | echo turns (tool calls) |", "|---|---|---|---|---|---|---|---|"]
    for condition, rows in conditions.items():
        for name in sorted({r["room"] for r in rows}):
            mine = [r for r in rows if r["room"] == name]
            false = sum(bool(r.get("false_barge_in")) for r in mine)
            paused = sum(bool(r.get("pauses_s")) for r in mine if r["kind"] == "echo_only")
            out.append(f"| {condition} | {name} | {len(mine)} | {false} | {paused} | "
                       f"{_of_kind(mine, 'barge_in', 'detected')} | "
                       f"{_of_kind(mine, 'backchannel', 'passed')} | "
                       f"{sum(r['echo_turns'] for r in mine)} "
                       f"({sum(r['echo_tool_calls'] for r in mine)}) |")
    return out


def _of_kind(rows: list[dict[str, Any]], kind: str, key: str) -> str:
    """"k/n": of the ``kind`` scenarios among ``rows``, how many have ``key`` true."""
    of = [r for r in rows if r["kind"] == kind]
    return f"{sum(bool(r.get(key)) for r in of)}/{len(of)}"


def _turns_section(turns: list[dict[str, Any]]) -> list[str]:
    if not turns:
        return []
    out = ["", "## Agent turns (measured)", "",
           "| pass | clip | heard | tool / reply | voice to voice |", "|---|---|---|---|---|"]
    for turn in turns:
        answer = f"`{turn['tool']}`" if turn.get("tool") else (turn.get("reply") or "-")
        cells = [str(turn["run"]), turn["clip"], turn.get("transcript") or "-",
                 answer.replace("|", "/"),
                 format_value(turn.get("voice_to_voice_s"), "s")]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _protocol_section(report: dict[str, Any]) -> list[str]:
    protocol, env = report["protocol"], report["environment"]
    inputs = ", ".join(f"{k} {'all' if v is None else v}" for k, v in protocol["inputs"].items())
    out = ["", "## Protocol and environment", "",
           f"- Cases: {', '.join(protocol['cases'])}"
           + (f" (skipped: {', '.join(protocol['skipped_cases'])})"
              if protocol["skipped_cases"] else ""),
           f"- Passes: {protocol['warmup']} warm-up + {protocol['runs']} measured; inputs per "
           f"pass: {inputs}",
           f"- Recordings: {protocol['audio_from']}; agent turns fed at real-time pace in 20 ms "
           "blocks, then 2 s of silence",
           f"- Threads: ASR {protocol['threads']['asr']}, LLM {protocol['threads']['llm']}, "
           f"TTS {protocol['threads']['tts']}",
           f"- Python {env['versions'].get('python')}; "
           + ", ".join(f"{k} {v}" for k, v in env["versions"].items()
                       if k not in ("python", "edgevox")),
           "", "| model | role | installed | used | sha256 |", "|---|---|---|---|---|"]
    for model in report["models"]:
        digests = ", ".join(f"{f['name']}: {(f['sha256'] or 'unknown')[:16]}"
                            for f in model["files"]) or "-"
        out.append(f"| {model['id']} | {model['role']} | {'yes' if model['installed'] else 'no'}"
                   f" | {'yes' if model['used'] else 'no'} | {digests} |")
    return out


# --------------------------------------------------------------------------------------------
# Comparison


def compare_reports(a: dict[str, Any], b: dict[str, Any], a_name: str = "A",
                    b_name: str = "B") -> str:
    """Medians side by side with B - A; *within spread* says whether the difference is inside
    the larger of the two reports' run-to-run spreads."""
    def header(name: str, r: dict[str, Any]) -> str:
        commit = (r["environment"]["git"]["commit"] or "unknown")[:12]
        return (f"- {name}: {r['created_at']}, profile {r['profile']}, commit {commit}, "
                f"{r['environment']['hardware']['cpu']}, `{r['command']}`")

    out = [header(a_name, a), header(b_name, b), "",
           f"| metric | {a_name} | {b_name} | delta | delta % | within spread |",
           "|---|---|---|---|---|---|"]
    names = [n for n in a["metrics"] if n in b["metrics"]]
    names += [n for n in b["metrics"] if n not in a["metrics"]]
    names += [n for n in a["metrics"] if n not in b["metrics"]]
    for name in names:
        ma, mb = a["metrics"].get(name), b["metrics"].get(name)
        unit = (ma or mb)["unit"]
        va = ma["median"] if ma else None
        vb = mb["median"] if mb else None
        if va is None or vb is None:
            out.append(f"| {name} | {format_value(va, unit)} | {format_value(vb, unit)} | - | - "
                       "| - |")
            continue
        delta = vb - va
        pct = f"{delta / va * 100:+.1f}%" if va else "-"
        spreads = [m["spread"] for m in (ma, mb) if m["spread"] is not None]
        within = "-" if not spreads else ("yes" if abs(delta) <= max(spreads) else "no")
        sign = "+" if delta >= 0 else "-"
        out.append(f"| {name} | {format_value(va, unit)} | {format_value(vb, unit)} | "
                   f"{sign}{format_value(abs(delta), unit)} | {pct} | {within} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# PNG


def encode_png(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``pixels`` (height x width x 3, uint8)."""
    height, width, _ = pixels.shape
    rows = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # filter byte 0 on every row
    rows[:, 1:] = pixels.reshape(height, width * 3)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))


CHART_WIDTH = 720
CHART_HEIGHT = 150
_MARGIN = 20
_BAR_Y = (25, 75)
_P90_Y = (88, 104)
_AXIS_Y = 118


def chart_x(seconds: float, scale_s: float) -> int:
    """Pixel column of ``seconds`` on a chart whose axis spans ``scale_s``."""
    return _MARGIN + round(seconds / scale_s * (CHART_WIDTH - 2 * _MARGIN))


def chart_scale_s(report: dict[str, Any]) -> float:
    """Axis length: the largest of the drawn values, rounded up to the next 0.5 s."""
    metrics = report["metrics"]
    stacked = sum(metrics[n]["median"] for n, _, _ in BREAKDOWN_PARTS if n in metrics)
    longest = max(stacked, metrics["agent.voice_to_voice_s"]["p90"],
                  dict(TARGETS)["agent.voice_to_voice_s"])
    return math.ceil(longest * 1.05 / 0.5) * 0.5


def latency_chart_png(report: dict[str, Any]) -> bytes | None:
    """The median latency breakdown as a PNG, or None when the agent was not measured."""
    metrics = report["metrics"]
    if "agent.voice_to_voice_s" not in metrics:
        return None
    scale_s = chart_scale_s(report)
    canvas = np.full((CHART_HEIGHT, CHART_WIDTH, 3), 255, dtype=np.uint8)
    start_s = 0.0
    for name, _, colour in BREAKDOWN_PARTS:
        if name not in metrics:
            continue
        end_s = start_s + max(0.0, metrics[name]["median"])
        canvas[_BAR_Y[0]:_BAR_Y[1], chart_x(start_s, scale_s):chart_x(end_s, scale_s)] = colour
        start_s = end_s
    p90_s = metrics["agent.voice_to_voice_s"]["p90"]
    canvas[_P90_Y[0]:_P90_Y[1], chart_x(0, scale_s):chart_x(p90_s, scale_s)] = _P90_COLOUR
    canvas[_AXIS_Y, chart_x(0, scale_s):chart_x(scale_s, scale_s) + 1] = _INK
    for tenth in range(round(scale_s * 10) + 1):
        length = 14 if tenth % 10 == 0 else 9 if tenth % 5 == 0 else 4
        x = chart_x(tenth / 10, scale_s)
        canvas[_AXIS_Y:_AXIS_Y + length, x] = _INK
    target_x = chart_x(dict(TARGETS)["agent.voice_to_voice_s"], scale_s)
    for y in range(10, _AXIS_Y, 6):  # dashed
        canvas[y:y + 4, target_x - 1:target_x + 1] = _TARGET_COLOUR
    return encode_png(canvas)


def default_stem(profile: str, quick: bool) -> str:
    """File name stem of a report: ``x86`` or ``x86-quick``."""
    return profile + ("-quick" if quick else "")


def command_line(argv: Sequence[str]) -> str:
    """The bench arguments as a command a reader can paste."""
    import shlex

    return "edgevox bench" + ("" if not argv else " " + shlex.join(argv))
