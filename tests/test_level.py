"""Automatic input gain: a distant talker is lifted to the recogniser's level, noise never is.

Runs on a real Common Voice clip, scaled to the level a talker a few metres away gives, and on
generated noise; the last test runs the real VAD and recogniser on the quiet clip.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgevox.audio.level import MAX_GAIN_DB, TARGET_DBFS, AutoGain
from edgevox.audio.source import read_wav

SR = 16_000
FRAME = 512  # the Silero VAD's frame, what the listener hands the gain


def active_dbfs(audio: np.ndarray) -> float:
    """Mean power of the 10 ms frames within 20 dB of the loudest: the active level."""
    frames = audio[:audio.size // 160 * 160].reshape(-1, 160).astype(np.float64)
    power = np.mean(np.square(frames), axis=1)
    return float(10 * np.log10(power[power >= power.max() / 100].mean()))


def at_level(audio: np.ndarray, dbfs: float) -> np.ndarray:
    return (audio * 10 ** ((dbfs - active_dbfs(audio)) / 20)).astype(np.float32)


def run(gain: AutoGain, audio: np.ndarray) -> np.ndarray:
    whole = audio[:audio.size // FRAME * FRAME]
    return np.concatenate([gain.process(f) for f in whole.reshape(-1, FRAME)])


def noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    white = np.random.default_rng(seed).standard_normal(int(SR * seconds))
    return (white * 10 ** (dbfs / 20)).astype(np.float32)


def test_a_distant_talker_is_brought_to_the_target_level(clip):
    audio, _ = clip
    quiet = np.concatenate([noise(1.0, -70), at_level(audio, -38) + noise(audio.size / SR, -70)])
    gain = AutoGain(FRAME)
    out = run(gain, quiet)
    assert gain.gain_db == pytest.approx(TARGET_DBFS + 38, abs=2.0)
    speech = out[SR:]  # after the lead-in of noise
    assert active_dbfs(speech) == pytest.approx(TARGET_DBFS, abs=3.0)
    assert np.abs(out).max() <= 1.0


def test_noise_alone_is_never_lifted():
    gain = AutoGain(FRAME)
    hum = noise(10.0, -50)
    assert np.array_equal(run(gain, hum), hum[:hum.size // FRAME * FRAME])
    assert gain.gain_db == 0.0


def test_a_close_talker_is_left_alone_and_silence_teaches_nothing(clip):
    audio, _ = clip
    loud = at_level(audio, -12)
    gain = AutoGain(FRAME)
    run(gain, loud)  # its first syllable may be lifted a little, until a vowel is heard
    assert gain.gain_db == 0.0
    assert np.array_equal(run(gain, loud), loud[:loud.size // FRAME * FRAME]), "no attenuation"
    quiet = AutoGain(FRAME)
    run(quiet, at_level(audio, -38))
    lifted = quiet.gain_db
    run(quiet, np.zeros(SR * 5, dtype=np.float32))  # the floor muting the agent's own voice
    assert quiet.gain_db == lifted


def test_the_gain_learns_nothing_while_told_not_to(clip):
    audio, _ = clip
    gain = AutoGain(FRAME)
    quiet = at_level(audio, -38)[:audio.size // FRAME * FRAME]
    out = np.concatenate([gain.process(f, learn=False) for f in quiet.reshape(-1, FRAME)])
    assert gain.gain_db == 0.0 and np.array_equal(out, quiet), "the agent's echo teaches nothing"


def test_the_gain_never_exceeds_its_limit(clip):
    audio, _ = clip
    gain = AutoGain(FRAME)
    run(gain, np.concatenate([noise(1.0, -90), at_level(audio, -65) + noise(audio.size / SR, -90)]))
    assert gain.gain_db == pytest.approx(MAX_GAIN_DB)


@pytest.mark.models
def test_the_listener_understands_talkers_across_a_room_it_missed_without_gain(model_dir, eval_dir):
    """Six Common Voice clips spoken from across a simulated living room (the bench's rooms,
    -35 dBFS at the mic, 20 dB SNR), one after another to the same listener, as people talk
    to one device."""
    room = pytest.importorskip("edgevox.bench.room", reason="the room simulator needs "
                               "pyroomacoustics")
    from edgevox.asr.sherpa import load_recognizer
    from edgevox.bench.scoring import word_error_rate
    from edgevox.runtime.listener import Listener, transcribe
    from edgevox.turn import EndOfTurnDetector
    from edgevox.vad import SileroVad

    corpus = eval_dir / "asr-cv-vi-dev"
    manifest = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    recognizer = load_recognizer("wenet_ctc", model_dir("vietasr-streaming-ctc"), num_threads=2)
    vad_path = model_dir("silero-vad") / "silero_vad.onnx"
    listeners = {gain: Listener(recognizer, SileroVad(vad_path), EndOfTurnDetector(None),
                                auto_gain=gain) for gain in (True, False)}
    heard: dict[bool, list[str]] = {True: [], False: []}
    for k, item in enumerate(manifest[:6]):
        audio, _ = read_wav(corpus / item["audio"])
        at_mic = room.render(room.ROOMS["living_room"].moved_talker(k % 3), audio, user=audio,
                             user_start_s=0.5, noise_snr_db=20.0, seed=k)
        speech = np.concatenate([(at_mic.user + at_mic.noise).astype(np.float32),
                                 np.zeros(2 * SR, dtype=np.float32)])
        for gain, listener in listeners.items():
            blocks = (speech[i:i + 1600] for i in range(0, speech.size, 1600))
            heard[gain].append(transcribe(listener, blocks).text)
    references = [item["text"] for item in manifest[:6]]
    lifted, flat = (word_error_rate(references, heard[gain]) for gain in (True, False))
    print(f"living room, 6 clips: WER {lifted:.3f} with auto gain, {flat:.3f} without")
    assert lifted <= 0.75 * flat, (heard, lifted, flat)
    assert listeners[True].auto_gain is not None and listeners[True].auto_gain.gain_db > 6
