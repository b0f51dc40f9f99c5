"""Score the understanding stage on the shared Vietnamese command sets, and time it.

    python bench/eval_commands.py                 # runs `python -m edgevox ask --jsonl`
    python bench/eval_commands.py --inproc        # calls edgevox.llm.ask.ask_main directly
    python bench/eval_commands.py --limit 120     # MASSIVE subset (evenly spaced lines)

Sets (from ``$EDGEVOX_EVAL_DIR`` or ``../shared/eval``):

* ``commands.dev.jsonl``: exact. The tool name must match and every expected argument must
  match (strings lower-cased, diacritics kept; integers exactly); ``"tool": null`` expects a
  spoken reply.
* ``massive-vi.dev.jsonl``: intent -> tool (``ask_weather`` get_weather, ``play_music``
  play_music, ``set_reminder`` add_reminder, ``set_alarm`` set_alarm or set_timer).

Prints accuracy, the share of outputs that parse and name only registered tools, median time to
first token, output tokens per second and median request -> validated tool call time, and
checks them against the targets (>= 90 %, 100 %, <= 1.0 s). The model is loaded once and its
fixed prompt prefix is warmed before the first request, as in ``edgevox ask``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_ID = "qwen2.5-coder-1.5b-q4km"
MASSIVE_TOOLS = {
    "ask_weather": {"get_weather"},
    "play_music": {"play_music"},
    "set_reminder": {"add_reminder"},
    "set_alarm": {"set_alarm", "set_timer"},
}
TARGET_ACCURACY = 0.90
TARGET_CALL_S = 1.0


def eval_dir() -> Path:
    return Path(os.environ.get("EDGEVOX_EVAL_DIR", REPO.parent / "shared" / "eval"))


def default_model() -> Path:
    """The default LLM's GGUF from the model store (dev fallback: /tmp/edgevox-dev-models)."""
    try:
        from edgevox.catalog import ensure_model

        folder = ensure_model(DEFAULT_MODEL_ID)
    except Exception:
        folder = Path("/tmp/edgevox-dev-models") / DEFAULT_MODEL_ID
    found = sorted(folder.glob("*.gguf"))
    if not found:
        sys.exit(f"no GGUF in {folder}; pass --model")
    return found[0]


def read_jsonl(path: Path, limit: int | None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if limit is not None and limit < len(rows):
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return rows


def norm(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def exact_pass(expect: dict[str, Any], out: dict[str, Any]) -> bool:
    if expect.get("tool") is None:
        return out.get("tool") is None and isinstance(out.get("reply"), str)
    if out.get("tool") != expect["tool"]:
        return False
    args = out.get("args") or {}
    return all(
        k in args and norm(args[k]) == norm(v) for k, v in (expect.get("args") or {}).items()
    )


def well_formed(out: dict[str, Any], tool_names: set[str]) -> bool:
    if "error" in out:
        return False
    if out.get("tool") is None:
        return isinstance(out.get("reply"), str) and bool(out["reply"].strip())
    return out["tool"] in tool_names and isinstance(out.get("args"), dict)


def run_cli(texts: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "edgevox",
        "ask",
        "--tools",
        str(args.tools),
        "--jsonl",
        "--model",
        str(args.model),
        "--threads",
        str(args.threads),
    ]
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    proc = subprocess.run(
        command, input=lines, capture_output=True, text=True, cwd=REPO, check=False
    )
    outputs = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(outputs) != len(texts):
        sys.exit(
            f"`{' '.join(command)}` gave {len(outputs)} answers for {len(texts)} lines:\n"
            + proc.stderr[-2000:]
        )
    return outputs


def run_inproc(texts: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    from edgevox.llm.ask import ask_main

    stdin = io.StringIO("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts))
    stdout = io.StringIO()
    ask_main(args.tools, None, True, args.model, args.threads, args.n_ctx, stdin, stdout)
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def report(
    name: str,
    rows: list[dict[str, Any]],
    outs: list[dict[str, Any]],
    tool_names: set[str],
    verbose: bool,
) -> dict[str, Any]:
    passed = []
    for row, out in zip(rows, outs, strict=True):
        if "expect" in row:
            ok = exact_pass(row["expect"], out)
        else:  # intent only: any of the accepted tools (None: a spoken reply)
            accepted = row["accept"] if "accept" in row else MASSIVE_TOOLS[row["intent"]]
            ok = out.get("tool") in accepted
        passed.append(ok)
        if verbose and not ok:
            want = row.get("expect") or row.get("intent")
            print(f"  MISS {row['text']!r}: want {want} got {out}")
    valid = [well_formed(o, tool_names) for o in outs]
    calls = [o for o in outs if o.get("tool") is not None and "error" not in o]
    gen_s = sum(o["total_s"] - o["ttft_s"] for o in outs if o.get("ttft_s") is not None)
    gen_tokens = sum(max(o.get("n_out_tokens", 0) - 1, 0) for o in outs)
    summary = {
        "set": name,
        "n": len(rows),
        "accuracy": sum(passed) / len(rows),
        "valid": sum(valid) / len(outs),
        "median_ttft_s": median([o["ttft_s"] for o in outs if o.get("ttft_s") is not None]),
        "median_call_s": median([o["total_s"] for o in calls]),
        "p90_call_s": (
            statistics.quantiles([o["total_s"] for o in calls], n=10)[-1]
            if len(calls) >= 2
            else None
        ),
        "median_reply_s": median(
            [o["total_s"] for o in outs if o.get("tool") is None and "error" not in o]
        ),
        "tokens_per_s": gen_tokens / gen_s if gen_s > 0 else None,
        "median_eval_tokens": median([o.get("n_eval_tokens", 0) for o in outs]),
    }
    print(
        f"{name}: accuracy {summary['accuracy']:.1%} ({sum(passed)}/{len(rows)}), "
        f"valid {summary['valid']:.1%}, median TTFT {fmt_s(summary['median_ttft_s'])}, "
        f"median request->validated call {fmt_s(summary['median_call_s'])} "
        f"(p90 {fmt_s(summary['p90_call_s'])}, {len(calls)} calls), "
        f"median reply {fmt_s(summary['median_reply_s'])}, "
        f"output {summary['tokens_per_s'] or 0:.1f} tok/s, "
        f"prompt tokens evaluated per request (median) {summary['median_eval_tokens']}"
    )
    return summary


def print_checks(checks: list[tuple[str, bool]]) -> bool:
    """Print each (label, passed) as PASS or FAIL; whether all passed."""
    for label, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'} {label}")
    return all(passed for _, passed in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=None)
    parser.add_argument("--tools", type=Path, default=None, help="default: <eval>/tools.json")
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: the 1.5B)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=3072)
    parser.add_argument("--limit", type=int, default=None, help="MASSIVE lines to use")
    parser.add_argument("--sets", default="commands,massive", help="commands,massive")
    parser.add_argument("--inproc", action="store_true", help="call ask_main, not the CLI")
    parser.add_argument("--out", type=Path, help="write per-line results (JSONL) here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    args = parser.parse_args()
    folder = args.eval_dir or eval_dir()
    args.tools = args.tools or folder / "tools.json"
    args.model = args.model or default_model()
    tool_names = {t["name"] for t in json.loads(args.tools.read_text(encoding="utf-8"))["tools"]}

    sets = []
    wanted = set(args.sets.split(","))
    if "commands" in wanted:
        sets.append(("commands.dev", read_jsonl(folder / "commands/commands.dev.jsonl", None)))
    if "massive" in wanted:
        sets.append(
            ("massive-vi.dev", read_jsonl(folder / "commands/massive-vi.dev.jsonl", args.limit))
        )
    texts = [row["text"] for _, rows in sets for row in rows]
    print(
        f"model {args.model.name}, {args.threads} threads, {len(texts)} requests, "
        f"{'in-process' if args.inproc else 'python -m edgevox ask --jsonl'}"
    )
    start = time.perf_counter()
    outs = (run_inproc if args.inproc else run_cli)(texts, args)
    print(f"wall time {time.perf_counter() - start:.1f} s (model load and prefix warm-up included)")

    summaries, i = [], 0
    for name, rows in sets:
        chunk = outs[i : i + len(rows)]
        i += len(rows)
        summaries.append(report(name, rows, chunk, tool_names, args.verbose))
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for text, out in zip(texts, outs, strict=True):
                f.write(json.dumps({"text": text, **out}, ensure_ascii=False) + "\n")

    ok = True
    for s in summaries:
        checks = [
            (f"{s['set']} accuracy >= {TARGET_ACCURACY:.0%}", s["accuracy"] >= TARGET_ACCURACY),
            (f"{s['set']} outputs valid = 100%", s["valid"] == 1.0),
            (
                f"{s['set']} median call <= {TARGET_CALL_S} s",
                s["median_call_s"] is not None and s["median_call_s"] <= TARGET_CALL_S,
            ),
        ]
        ok &= print_checks(checks)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
