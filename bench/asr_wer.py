#!/usr/bin/env python3
"""WER and RTF of `edgevox transcribe` on real Vietnamese speech.

Runs the real command (a subprocess, as a user would) on every clip of a manifest
(default: ../shared/eval/asr-cv-vi-dev) and scores it:

* WER: word edit distance over reference words, both normalised the same way (Unicode NFC,
  lower-case, punctuation removed, whitespace collapsed), summed over the corpus.
* RTF: processing time / audio time as the command reports it (VAD + ASR + end of turn; the
  model load is excluded), summed over the corpus. Repeated ``--runs`` times after one warm-up
  pass; the median is reported.

Usage: python bench/asr_wer.py [--eval-dir DIR] [--runs 3] [--threads 2] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from edgevox.bench.scoring import edit_distance, normalise

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_WER = 0.10
TARGET_RTF = 0.15


def transcribe(files: list[Path], threads: int) -> list[dict]:
    env = {**os.environ, "EDGEVOX_ASR__NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "edgevox", "transcribe", "--json", *map(str, files)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"edgevox transcribe failed ({done.returncode}):\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_eval = Path(os.environ.get("EDGEVOX_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval"))
    parser.add_argument("--eval-dir", type=Path, default=default_eval)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    corpus = args.eval_dir / "asr-cv-vi-dev"
    manifest = corpus / "manifest.jsonl"
    if not manifest.is_file():
        print(f"skipped: no evaluation corpus at {corpus} (set EDGEVOX_EVAL_DIR)")
        return 0
    items = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    files = [corpus / item["audio"] for item in items]

    transcribe(files[:2], args.threads)  # warm-up: page cache, model files
    rtfs, results = [], []
    for _ in range(args.runs):
        results = transcribe(files, args.threads)
        rtfs.append(sum(r["decode_s"] for r in results) / sum(r["audio_s"] for r in results))

    errors = words = 0
    for item, result in zip(items, results, strict=True):
        ref, hyp = normalise(item["text"]), normalise(result["text"])
        errors += edit_distance(ref, hyp)
        words += len(ref)
        if ref != hyp:
            print(f"  {item['audio']}: ref '{' '.join(ref)}'\n  {' ' * len(item['audio'])}  "
                  f"hyp '{' '.join(hyp)}'")
    wer = errors / words
    rtf = statistics.median(rtfs)
    audio_s = sum(r["audio_s"] for r in results)
    print(f"clips: {len(items)}  audio: {audio_s:.1f} s  threads: {args.threads}  "
          f"runs: {args.runs} (+1 warm-up)")
    print(f"WER: {wer:.2%}  (target <= {TARGET_WER:.0%})  [{errors} errors / {words} words]")
    print(f"RTF: {rtf:.3f} median (min {min(rtfs):.3f}, max {max(rtfs):.3f})  "
          f"(target <= {TARGET_RTF})")
    missed = wer > TARGET_WER or rtf > TARGET_RTF
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
