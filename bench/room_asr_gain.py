#!/usr/bin/env python3
"""What the listener's automatic gain buys a talker across a room: WER with and without it.

Every clip of a manifest (default: ../shared/eval/asr-cv-vi-dev) is placed in each simulated
room of the room bench (edgevox.bench.room: the talker at -35 dBFS, at one of three positions,
noise at the given SNR, no reply playing) and heard by the real listener (Silero VAD, streaming
recogniser, plain hangover end of turn), once with ``audio.auto_gain`` on and once off. One
listener hears all clips in turn, as one device hears its people, so the gain starts from what
it learnt on the clips before. The clips as recorded (``dry``) are scored the same way.

Usage: python bench/room_asr_gain.py [--eval-dir DIR] [--snr 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from edgevox.asr.sherpa import load_recognizer
from edgevox.audio.source import read_wav
from edgevox.bench.room import ROOMS, render
from edgevox.bench.scoring import word_error_rate
from edgevox.catalog import ensure_model
from edgevox.runtime.listener import Listener, transcribe
from edgevox.turn import EndOfTurnDetector
from edgevox.vad import SileroVad

REPO_ROOT = Path(__file__).resolve().parent.parent
SR = 16_000
BLOCK = 1600  # 100 ms, as a file is fed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=Path(os.environ.get(
        "EDGEVOX_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval")))
    parser.add_argument("--snr", type=float, default=20.0, help="noise, dB below the talker")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    corpus = args.eval_dir / "asr-cv-vi-dev"
    manifest = corpus / "manifest.jsonl"
    if not manifest.is_file():
        raise SystemExit(f"no manifest at {manifest}; set --eval-dir or EDGEVOX_EVAL_DIR")
    items = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    clips = [read_wav(corpus / item["audio"])[0] for item in items]
    references = [item["text"] for item in items]
    recognizer = load_recognizer("wenet_ctc", ensure_model("vietasr-streaming-ctc"),
                                 num_threads=args.threads)
    vad_path = ensure_model("silero-vad") / "silero_vad.onnx"

    def wer(place: str | None, auto_gain: bool) -> float:
        listener = Listener(recognizer, SileroVad(vad_path), EndOfTurnDetector(None),
                            auto_gain=auto_gain)
        heard = []
        for k, clip in enumerate(clips):
            if place is None:
                speech = np.concatenate([np.zeros(SR // 2, np.float32), clip])
            else:
                at_mic = render(ROOMS[place].moved_talker(k % 3), clip, user=clip,
                                user_start_s=0.5, noise_snr_db=args.snr, seed=k)
                speech = (at_mic.user + at_mic.noise).astype(np.float32)
            speech = np.concatenate([speech, np.zeros(2 * SR, np.float32)])
            blocks = (speech[i:i + BLOCK] for i in range(0, speech.size, BLOCK))
            heard.append(transcribe(listener, blocks).text)
        return word_error_rate(references, heard)

    print(f"{len(clips)} clips from {corpus}; rooms at {args.snr:g} dB SNR")
    print("| where | WER, auto gain | WER, no gain |")
    print("|---|---|---|")
    for place in (None, *sorted(ROOMS)):
        print(f"| {place or 'dry (as recorded)'} | {wer(place, True):.3f} | "
              f"{wer(place, False):.3f} |", flush=True)


if __name__ == "__main__":
    main()
