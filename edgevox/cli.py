"""The ``edgevox`` command.

Argument parsing only: each subcommand imports the stage it drives when it runs, so ``edgevox
--help`` starts instantly and a command never loads an engine it does not use. Every
:class:`~edgevox.errors.EdgevoxError` ends as one line on stderr and exit status 1; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from edgevox import __version__
from edgevox.config import add_config_arguments, load_config
from edgevox.errors import EdgevoxError

log = logging.getLogger("edgevox")


def _config(args: argparse.Namespace):
    overrides = {"commercial": True} if getattr(args, "commercial", False) else None
    return load_config(getattr(args, "config", None), getattr(args, "profile", None),
                       overrides=overrides)


# --------------------------------------------------------------------------------------------
# models


def _selected_entries(args: argparse.Namespace, store) -> list:
    if getattr(args, "ids", None):
        return [store.catalog.get(i) for i in args.ids]
    return [store.catalog.get(i) for i in _config(args).model_ids().values()]


def cmd_models_list(args: argparse.Namespace) -> int:
    from edgevox.catalog import ModelStore

    store = ModelStore()
    rows = [("ID", "TASK", "LANG", "SIZE", "LICENCE", "COMMERCIAL", "STATUS")]
    for e in store.catalog:
        size = f"{e.size_bytes / 1e6:.0f} MB" if e.size_bytes else "?"
        status = "ready" if store.is_ready(e) else "-"
        rows.append((e.id, e.task, ",".join(e.languages), size, e.license, e.commercial_use,
                     status))
    _print_table(rows)
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    from edgevox.catalog import ModelStore, local_source

    store = ModelStore()
    if args.default:
        cfg = _config(args)
        entries = [store.catalog.get(i) for i in (*cfg.model_ids().values(), "sample-vi-speech")]
    elif args.ids:
        entries = [store.catalog.get(i) for i in args.ids]
    else:
        raise EdgevoxError("name the models to pull (see `edgevox models list`) or use --default")
    extra = [local_source(Path(args.from_dir))] if args.from_dir else []
    if args.from_dir and not Path(args.from_dir).is_dir():
        raise EdgevoxError(f"--from {args.from_dir}: not a directory")
    unreachable = []
    for entry in {e.id: e for e in entries}.values():
        if store.is_ready(entry):
            print(f"{entry.id}: already verified at {store.model_dir(entry.id)}")
            continue
        try:
            path = store.pull(entry, extra)
        except EdgevoxError as exc:
            # With --default, a model that only lives on a hub must not stop an offline set-up:
            # say exactly what is missing and how to get it, and pull the rest.
            if args.default and not entry.offline_capable and not extra:
                unreachable.append((entry, exc))
                continue
            raise
        print(f"{entry.id}: verified at {path}")
    for entry, exc in unreachable:
        print(f"warning: {entry.id} ({entry.task}) could not be fetched here: it is only "
              f"available upstream.\n  {exc}".replace("\n", "\n  "), file=sys.stderr)
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    from edgevox.catalog import ModelStore

    store = ModelStore()
    entries = [store.catalog.get(i) for i in args.ids] if args.ids else \
        [e for e in store.catalog if store.is_installed(e)]
    if not entries:
        raise EdgevoxError("no models pulled yet; run: edgevox models pull --default")
    failed = False
    for entry in entries:
        for status in store.verify(entry):
            if status.problem:
                failed = True
                print(f"FAIL {entry.id}: {status.problem}")
            else:
                print(f"ok   {entry.id}/{status.name} sha256 {status.sha256}")
    if failed:
        print("verification failed: pull the affected models again "
              "(edgevox models pull ID) to replace the damaged files", file=sys.stderr)
    return 1 if failed else 0


def cmd_models_path(args: argparse.Namespace) -> int:
    from edgevox.catalog import ModelStore

    print(ModelStore().path(args.id))
    return 0


def cmd_models_licenses(args: argparse.Namespace) -> int:
    from edgevox.catalog import ModelStore
    from edgevox.licensing import commercial_problems

    store = ModelStore()
    entries = list(store.catalog) if args.all else _selected_entries(args, store)
    rows = [("ID", "TASK", "LICENCE", "COMMERCIAL", "PROVENANCE")]
    rows += [(e.id, e.task, e.license, e.commercial_use, e.provenance[:70]) for e in entries]
    _print_table(rows)
    if args.commercial:
        problems = commercial_problems(entries, store.catalog)
        if problems:
            print("\nnot cleared for commercial use:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            return 1
        print("\nall selected models are cleared for commercial use")
    return 0


# --------------------------------------------------------------------------------------------
# speech in


def cmd_transcribe(args: argparse.Namespace) -> int:
    import json

    from edgevox.audio.source import PcmStreamSource, WavFileSource
    from edgevox.runtime.build import build_listener
    from edgevox.runtime.listener import transcribe

    config = _config(args)
    sources, failed = [], False
    for name in args.files:  # read every file first: a bad one is reported before models load
        try:
            sources.append((name, PcmStreamSource() if name == "-" else
                            WavFileSource(name, block_ms=config.asr.chunk_ms,
                                          realtime=args.realtime)))
        except EdgevoxError as exc:
            print(f"edgevox: error: {exc}", file=sys.stderr)
            failed = True
    listener = build_listener(config) if sources else None
    for name, source in sources:
        result = transcribe(listener, source.blocks())
        if args.json:
            print(json.dumps({"file": name, "text": result.text,
                              "audio_s": round(result.audio_s, 3),
                              "decode_s": round(result.decode_s, 4),
                              "rtf": round(result.rtf, 4), "partials": result.partials,
                              "turns": result.turns}, ensure_ascii=False), flush=True)
        else:
            print(f"{name}\t{result.text}", flush=True)
    return 1 if failed else 0


# --------------------------------------------------------------------------------------------
# speech out


def cmd_say(args: argparse.Namespace) -> int:
    from edgevox.text import normalize_vi

    text = args.text if args.text != "-" else sys.stdin.read()
    if args.print_normalized:
        print(normalize_vi(text))
        if not args.out:
            return 0
    from edgevox.audio.sink import SoundDeviceSink, WavFileSink
    from edgevox.runtime.build import build_synthesizer
    from edgevox.trust.marking import speech_marker
    from edgevox.tts import clause_chunker, speak_text

    config = _config(args)
    synthesizer = build_synthesizer(config, voice=args.voice)
    if synthesizer.language != "vi":
        print(f"warning: this voice speaks '{synthesizer.language}', not Vietnamese; Vietnamese "
              "text will not sound right", file=sys.stderr)
    rate = synthesizer.sample_rate_hz
    mark = speech_marker({"tts": args.voice or config.tts.voice})
    sink = WavFileSink(args.out, rate, mark=mark) if args.out \
        else SoundDeviceSink(rate, device=config.audio.output_device)
    try:
        timings = speak_text(text, synthesizer, sink,
                             clause_chunker(synthesizer, config.tts.max_clause_chars,
                                            config.tts.first_clause_chars))
    finally:
        sink.close()
    first_ms = f"{timings.first_audio_s * 1000:.0f} ms" if timings.first_audio_s else "-"
    print(f"spoke {timings.clauses} clauses, {timings.audio_s:.2f} s of audio; first audio "
          f"{first_ms} after the first clause; RTF {timings.rtf or 0:.3f}"
          + (f"; wrote {args.out}" if args.out else ""), file=sys.stderr)
    return 0


# --------------------------------------------------------------------------------------------
# understanding


def cmd_ask(args: argparse.Namespace) -> int:
    from edgevox.catalog import ModelStore
    from edgevox.llm.ask import ask_main
    from edgevox.llm.decide import ActPolicy
    from edgevox.runtime.build import llm_model_path

    config = _config(args)
    return ask_main(args.tools, args.text, args.jsonl, llm_model_path(config, ModelStore()),
                    config.llm.n_threads, config.llm.n_ctx, sys.stdin, sys.stdout,
                    ActPolicy(config.llm.act_threshold, config.llm.confirm_threshold,
                              config.llm.unsure_below))


# --------------------------------------------------------------------------------------------
# the agent


def _tool_registry(path: Path | None):
    from edgevox.tools.home import home_tools
    from edgevox.tools.registry import ToolRegistry

    return ToolRegistry.from_file(path) if path else home_tools()


def cmd_chat(args: argparse.Namespace) -> int:
    from edgevox.console import run_file_turn

    config = _config(args)
    ok = run_file_turn(config, args.input, args.out, tools=_tool_registry(args.tools),
                       realtime=not args.fast, print_json=args.json)
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from edgevox.console import run_demo

    return run_demo(_config(args), out=args.out)


def cmd_run(args: argparse.Namespace) -> int:
    from edgevox.console import run_live

    return run_live(_config(args), tools=_tool_registry(args.tools))


# --------------------------------------------------------------------------------------------
# doctor


def cmd_doctor(args: argparse.Namespace) -> int:
    from edgevox.doctor import report

    print(report(_config(args)))
    return 0


# --------------------------------------------------------------------------------------------
# plumbing


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    if parser.prog.split()[-1] != "licenses":  # there --commercial only checks, loads nothing
        parser.add_argument("--commercial", action="store_true",
                            help="refuse to load any model not cleared for commercial use")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgevox", description="On-device Vietnamese voice agent runtime.")
    parser.add_argument("--version", action="version", version=f"edgevox {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="list, fetch and verify models")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    p = msub.add_parser("list", help="every model in the catalogue and whether it is ready")
    p.set_defaults(func=cmd_models_list)
    p = msub.add_parser("pull", help="fetch and verify models")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--default", action="store_true", help="what the active profile needs")
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="try this folder first (USB stick, air-gapped image)")
    _add_config_flags(p)
    p.set_defaults(func=cmd_models_pull)
    p = msub.add_parser("verify", help="re-hash pulled models against their sha256")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.set_defaults(func=cmd_models_verify)
    p = msub.add_parser("path", help="print the folder of a pulled model")
    p.add_argument("id", metavar="ID")
    p.set_defaults(func=cmd_models_path)
    p = msub.add_parser("licenses", help="licences of the models the profile uses")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every model in the catalogue")
    p.add_argument("--commercial", action="store_true",
                   help="fail unless every selected model is cleared for commercial use")
    _add_config_flags(p)
    p.set_defaults(func=cmd_models_licenses)

    p = sub.add_parser("transcribe", help="transcribe WAV files (or raw PCM on stdin: -)")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="WAV file (any rate, mono or stereo); - reads 16 kHz s16le PCM on stdin")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument("--realtime", action="store_true", help="feed audio at real-time pace")
    _add_config_flags(p)
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("say", help="speak Vietnamese text with the configured Piper voice")
    p.add_argument("text", help="the text to speak (- reads standard input)")
    p.add_argument("--out", type=Path, metavar="FILE.wav", help="write a WAV instead of playing")
    p.add_argument("--voice", help="catalogue id of a Piper voice, or a path to its .onnx")
    p.add_argument("--print-normalized", action="store_true",
                   help="print the text as the voice will read it")
    _add_config_flags(p)
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("ask", help="one request -> a tool call or a reply, as JSON")
    p.add_argument("text", nargs="?", help="the request (omit with --jsonl)")
    p.add_argument("--tools", type=Path, required=True, metavar="FILE",
                   help="tool definitions (JSON, the format of tools.json)")
    p.add_argument("--jsonl", action="store_true",
                   help='read {"text": ...} lines on stdin, answer one JSON object per line')
    _add_config_flags(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="one spoken turn from a WAV file, through the whole agent")
    p.add_argument("--in", dest="input", type=Path, required=True, metavar="IN.wav")
    p.add_argument("--out", type=Path, metavar="REPLY.wav", help="write the reply audio here")
    p.add_argument("--json", action="store_true", help="print every event as a JSON line")
    p.add_argument("--tools", type=Path, metavar="FILE",
                   help="tool definitions (default: the built-in everyday tools)")
    p.add_argument("--fast", action="store_true",
                   help="feed the file faster than real time (latencies are then not "
                        "meaningful)")
    _add_config_flags(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("run", help="the live voice assistant: microphone in, speaker out")
    p.add_argument("--tools", type=Path, metavar="FILE",
                   help="tool definitions (default: the built-in everyday tools)")
    _add_config_flags(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="a real Vietnamese recording end to end on the defaults")
    p.add_argument("--out", type=Path, default=Path("edgevox-demo-reply.wav"),
                   metavar="REPLY.wav", help="where the spoken reply is written")
    _add_config_flags(p)
    p.set_defaults(func=cmd_demo)

    from edgevox.bench.commands import add_commands as add_bench_commands
    from edgevox.server.commands import add_commands as add_server_commands
    from edgevox.trust.commands import add_commands as add_trust_commands

    add_server_commands(sub)
    add_bench_commands(sub)
    add_trust_commands(sub)

    p = sub.add_parser("doctor", help="versions, hardware, audio devices and models")
    _add_config_flags(p)
    p.set_defaults(func=cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except EdgevoxError as exc:
        print(f"edgevox: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
