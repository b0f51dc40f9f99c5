"""The ``edgevox log`` and ``edgevox dossier`` subcommands.

:func:`add_commands` attaches them to the main parser; handlers import what they drive when they
run, so ``edgevox --help`` stays instant. Bad input ends as an EdgevoxError with one line saying
what to pass instead.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from edgevox.config import add_config_arguments, load_config
from edgevox.errors import EdgevoxError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_SINCE_HELP = ("an ISO date or date-time (2026-11-01, 2026-11-01T08:00, local time unless it "
               "names a zone) or a duration back from now (90m, 24h, 7d, 2w)")


def default_log_dir() -> Path:
    from edgevox.catalog import edgevox_home

    return edgevox_home() / "logs"


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since`` as an aware datetime: a duration back from ``now`` or an ISO date/time."""
    now = now or datetime.now(timezone.utc)
    match = _DURATION.match(text)
    if match:
        return now - timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise EdgevoxError(f"--since {text!r}: expected {_SINCE_HELP}") from None
    return when if when.tzinfo else when.astimezone()  # naive: the local time zone


def _log_dir(args: argparse.Namespace) -> Path:
    directory = args.log_dir or default_log_dir()
    if not directory.is_dir():
        raise EdgevoxError(f"no operational log at {directory}; it is written while edgevox "
                           "runs (or pass --dir DIR)")
    return directory


def _summary(record: dict) -> str:
    """One readable line per turn."""
    latencies = record.get("latencies_ms") or {}
    parts = [str(record.get("started_at", "?")), f"turn {record.get('turn_id', '?')}"]
    if record.get("eot_delay_ms") is not None:
        parts.append(f"eot {record['eot_delay_ms']:.0f} ms")
    if "voice_to_voice_ms" in latencies:
        parts.append(f"voice to voice {latencies['voice_to_voice_ms']:.0f} ms")
    if "transcript" in record:
        parts.append(f"heard: {record['transcript']['text']!r}")
    for call in record.get("tool_calls") or []:
        args = json.dumps(call.get("arguments"), ensure_ascii=False)
        parts.append(f"tool {call.get('name')}({args}) ok={call.get('ok')}")
    if "reply" in record:
        parts.append(f"said: {record['reply']['text']!r}")
    if record.get("interrupted"):
        parts.append("interrupted")
    parts += [f"ERROR {e.get('stage')}: {e.get('message')}" for e in record.get("errors") or []]
    return "  ".join(parts)


def cmd_log_tail(args: argparse.Namespace) -> int:
    from edgevox.trust.oplog import tail_records

    if args.count < 0:
        raise EdgevoxError("-n must be 0 or more")
    for record in tail_records(_log_dir(args), args.count):
        print(json.dumps(record, ensure_ascii=False) if args.json else _summary(record))
    return 0


def cmd_log_export(args: argparse.Namespace) -> int:
    from edgevox.trust import atomic_write
    from edgevox.trust.oplog import read_records

    since = parse_since(args.since)
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in read_records(_log_dir(args), since)]
    if args.out is None:
        sys.stdout.writelines(lines)
        return 0
    try:
        atomic_write(args.out, "".join(lines).encode("utf-8"), mode=0o640)
    except OSError as exc:
        raise EdgevoxError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"exported {len(lines)} turns since {since.isoformat(timespec='seconds')} to "
          f"{args.out}")
    return 0


def cmd_dossier(args: argparse.Namespace) -> int:
    from edgevox.catalog import ModelStore
    from edgevox.trust.dossier import (
        build_dossier,
        latest_bench_report,
        write_dossier,
    )

    config = load_config(args.config, args.profile)
    bench_where = args.bench or _default_bench_dir()
    found = latest_bench_report(bench_where) if bench_where else None
    if args.bench and found is None:
        raise EdgevoxError(f"no benchmark report (*.json) in {args.bench}")
    dossier = build_dossier(config, ModelStore(), found[1] if found else None,
                            args.log_dir or config.log.dir or default_log_dir(),
                            bench_source=str(found[0]) if found else None,
                            log_settings=config.log.model_dump(exclude={"dir"}))
    for path in write_dossier(args.out, dossier):
        print(f"wrote {path}")
    return 0


def _default_bench_dir() -> Path | None:
    """``bench/results`` in the current directory, else in the checkout edgevox runs from."""
    checkout = Path(__file__).resolve().parents[2]
    for candidate in (Path.cwd() / "bench" / "results", checkout / "bench" / "results"):
        if candidate.is_dir():
            return candidate
    return None


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``log`` and ``dossier`` to the main parser's subcommands."""
    log_parser = subparsers.add_parser("log", help="read the operational log (one JSON line "
                                       "per turn)")
    lsub = log_parser.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    p = lsub.add_parser("tail", help="the latest turns, one line each")
    p.add_argument("-n", dest="count", type=int, default=10, metavar="N",
                   help="how many turns (default 10)")
    p.add_argument("--json", action="store_true", help="print the records as JSON lines")
    p.add_argument("--dir", dest="log_dir", type=Path, metavar="DIR",
                   help="log directory (default: $EDGEVOX_HOME/logs)")
    p.set_defaults(func=cmd_log_tail)
    p = lsub.add_parser("export", help="records since a date or duration, as JSON lines")
    p.add_argument("--since", required=True, metavar="WHEN", help=_SINCE_HELP)
    p.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--dir", dest="log_dir", type=Path, metavar="DIR",
                   help="log directory (default: $EDGEVOX_HOME/logs)")
    p.set_defaults(func=cmd_log_export)

    p = subparsers.add_parser("dossier", help="write a technical dossier template (JSON + "
                              "Markdown) for this configuration")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for dossier.md and dossier.json")
    p.add_argument("--bench", type=Path, metavar="PATH",
                   help="benchmark report JSON, or a folder whose newest report is used "
                   "(default: bench/results)")
    p.add_argument("--log-dir", type=Path, metavar="DIR",
                   help="operational log directory (default: $EDGEVOX_HOME/logs)")
    add_config_arguments(p)
    p.set_defaults(func=cmd_dossier)
