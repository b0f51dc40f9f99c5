"""The ``edgevox bench`` subcommand.

:func:`add_commands` attaches it to the main parser; the handler imports the runner only when
it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgevox.config import add_config_arguments, load_config


def add_commands(subparsers) -> None:
    """Add ``bench`` to the ``edgevox`` subcommands."""
    p = subparsers.add_parser(
        "bench", help="reproducible latency, speed and memory report (docs/benchmarks.md)",
        description="Measure voice-to-voice latency and its parts, ASR/TTS real-time factors, "
                    "LLM speed, cold start and peak memory; write JSON, Markdown and a PNG chart.")
    add_config_arguments(p)
    p.add_argument("--quick", action="store_true",
                   help="a few minutes: fewer recordings, requests and paragraphs, 2 measured "
                        "passes, and the LLM measured inside the agent process only")
    p.add_argument("--runs", type=int, help="measured passes per case (default 3, quick 2)")
    p.add_argument("--warmup", type=int, help="discarded passes first (default 1)")
    p.add_argument("--out", type=Path, default=Path("bench-results"), metavar="DIR",
                   help="where the report files go (default: ./bench-results)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"),
                   help="print two reports' medians side by side with deltas; runs nothing")
    p.add_argument("--audio-dir", "--clips", dest="audio_dir", type=Path, metavar="DIR",
                   help="WAV recordings to use (with manifest.jsonl for WER); the room case "
                        "speaks them over its replies; default: the eval corpus at "
                        "$EDGEVOX_EVAL_DIR or ../shared/eval")
    p.add_argument("--only", "--case", dest="only", metavar="CASES",
                   help="comma-separated subset of the cases asr,llm,tts,agent,room")
    p.add_argument("--json", action="store_true",
                   help="print the JSON report instead of the Markdown one (both are written)")
    p.set_defaults(func=cmd_bench)


def _reproducing_args(args: argparse.Namespace, profile: str) -> list[str]:
    """The flags that shape the figures, as a reader would type them."""
    out = ["--profile", profile]
    if args.config:
        out += ["--config", str(args.config)]
    if args.quick:
        out.append("--quick")
    for flag, value in (("--runs", args.runs), ("--warmup", args.warmup),
                        ("--audio-dir", args.audio_dir), ("--only", args.only)):
        if value is not None:
            out += [flag, str(value)]
    return out


def cmd_bench(args: argparse.Namespace) -> int:
    from edgevox.bench.report import (
        build_report,
        command_line,
        compare_reports,
        default_stem,
        load_report,
        render_markdown,
        write_outputs,
    )

    if args.compare:
        first, second = args.compare
        print(compare_reports(load_report(first), load_report(second), str(first), str(second)),
              end="")
        return 0

    from edgevox.bench.runner import make_plan, run_bench
    from edgevox.catalog import ModelStore

    config = load_config(args.config, args.profile)
    plan = make_plan(args.quick, args.runs, args.warmup,
                     [c.strip() for c in args.only.split(",")] if args.only else None)
    store = ModelStore()

    def progress(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    raw = run_bench(config, plan, audio_dir=args.audio_dir, store=store, progress=progress)
    report = build_report(raw, config, plan,
                          command=command_line(_reproducing_args(args, config.profile)),
                          argv=sys.argv, store=store)
    paths = write_outputs(report, args.out, default_stem(config.profile, plan.quick))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render_markdown(report), end="")
    progress("wrote " + ", ".join(str(p) for p in paths))
    return 0 if all(case["ok"] for case in report["cases"].values()) else 1

