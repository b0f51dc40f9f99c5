#!/usr/bin/env python3
"""CPU cost of the echo canceller: real-time factor of ``far_end`` + ``process`` (WebRTC APM).

Plays 10 s of real speech (Common Voice clips from ../shared/eval, resampled to 22050 Hz as a
Piper voice plays) as the far end, and feeds the microphone its echo (30 ms, -30 dBFS) with a
second speaker talking over the second half, in 20 ms blocks as a full-duplex stream delivers
them. RTF = time spent in the canceller / audio time; one warm-up run, then the median of
``--runs`` fresh cancellers. Wall time counts what the caller waits; CPU time is the whole
process's, so it also counts any work livekit's native threads do for the canceller.

Usage: .venv/bin/python bench/aec_cost.py [--eval-dir DIR] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import wave
from pathlib import Path

import numpy as np
import soxr

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.echo import load_echo_canceller
from edgevox.errors import AudioError

REPO_ROOT = Path(__file__).resolve().parent.parent
AUDIO_S = 10.0
BLOCK_MS = 20
FAR_RATE_HZ = 22050
ECHO_DELAY_MS = 30
ECHO_DBFS = -30.0
USER_DBFS = -35.0


def speech(corpus: Path, names: list[str], seconds: float) -> np.ndarray:
    """Clips from ``names`` joined until ``seconds`` of 16 kHz audio, scaled to unit RMS."""
    parts, total = [], 0
    for name in names:
        with wave.open(str(corpus / name)) as wav:
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        parts.append(pcm.astype(np.float32) / 32768.0)
        total += pcm.size
        if total >= seconds * SAMPLE_RATE_HZ:
            break
    joined = np.concatenate(parts)[:int(seconds * SAMPLE_RATE_HZ)]
    return joined / np.float32(np.sqrt(np.mean(np.square(joined, dtype=np.float64))))


def signals(corpus: Path) -> tuple[np.ndarray, np.ndarray]:
    """(far end at 22050 Hz, microphone at 16 kHz), both ``AUDIO_S`` long."""
    names = sorted(p.name for p in corpus.glob("*.wav"))
    if len(names) < 4:
        sys.exit(f"need at least 4 clips in {corpus}")
    far16 = speech(corpus, names[: len(names) // 2], AUDIO_S)
    user = speech(corpus, names[len(names) // 2:], AUDIO_S / 2)
    delay = SAMPLE_RATE_HZ * ECHO_DELAY_MS // 1000
    mic = np.zeros_like(far16)
    mic[delay:] = far16[:-delay] * np.float32(10 ** (ECHO_DBFS / 20))
    mic[-user.size:] += user * np.float32(10 ** (USER_DBFS / 20))
    far = soxr.resample(far16, SAMPLE_RATE_HZ, FAR_RATE_HZ, quality="VHQ").astype(np.float32)
    return far, mic


def run(far: np.ndarray, mic: np.ndarray) -> tuple[float, float, float]:
    """Seconds in ``far_end``, in ``process`` (wall) and process CPU time for the whole run."""
    canceller = load_echo_canceller()
    far_step = FAR_RATE_HZ * BLOCK_MS // 1000
    mic_step = SAMPLE_RATE_HZ * BLOCK_MS // 1000
    far_s = near_s = 0.0
    cpu_start = time.process_time()
    for k in range(mic.size // mic_step):
        started = time.perf_counter()
        canceller.far_end(far[k * far_step:(k + 1) * far_step], FAR_RATE_HZ)
        middle = time.perf_counter()
        canceller.process(mic[k * mic_step:(k + 1) * mic_step])
        far_s += middle - started
        near_s += time.perf_counter() - middle
    cpu_s = time.process_time() - cpu_start
    canceller.close()
    return far_s, near_s, cpu_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_eval = Path(os.environ.get("EDGEVOX_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval"))
    parser.add_argument("--eval-dir", type=Path, default=default_eval)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    corpus = args.eval_dir / "asr-cv-vi-dev"
    if not corpus.is_dir():
        print(f"skipped: no evaluation corpus at {corpus} (set EDGEVOX_EVAL_DIR)")
        return 0
    far, mic = signals(corpus)
    try:
        run(far, mic)  # warm-up: the native library, page cache
    except AudioError as exc:
        sys.exit(str(exc))
    runs = [run(far, mic) for _ in range(args.runs)]
    far_rtf = statistics.median(r[0] for r in runs) / AUDIO_S
    near_rtf = statistics.median(r[1] for r in runs) / AUDIO_S
    total_rtf = statistics.median(r[0] + r[1] for r in runs) / AUDIO_S
    cpu_rtf = statistics.median(r[2] for r in runs) / AUDIO_S
    print(f"aec.rtf {total_rtf:.4f} (far_end {far_rtf:.4f} + process {near_rtf:.4f}); "
          f"process CPU {cpu_rtf:.4f}; median of {args.runs} runs over {AUDIO_S:.0f} s of audio "
          f"in {BLOCK_MS} ms blocks, far end at {FAR_RATE_HZ} Hz, {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
