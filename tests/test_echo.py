"""Echo cancellation on the real WebRTC APM (livekit): a real Piper reply played through an echo
path into the microphone, a real Common Voice speaker talking over it, blocks of any length.

The echo path is a loudspeaker a few centimetres from the microphone: the direct sound 30 ms
after the far end was handed over (output buffering + air), reflections at -6 dB 12 ms and at
-12 dB 35 ms later, scaled to an active level of -30 dBFS at the mic, over a -70 dBFS noise
floor. The near-end talker is at -35 dBFS, farther away than the loudspeaker and quieter than
its echo (the room simulator's defaults, edgevox/bench/room.py). The far end is fed at Piper's
22050 Hz and the microphone read at 16 kHz in 20 ms blocks, as one full-duplex stream delivers
them: each far-end block is fed before the microphone block captured alongside it, and its
echo arrives in later blocks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.echo import INSTALL_HINT, LATENCY_MS, erle_db, load_echo_canceller
from edgevox.audio.source import read_wav
from edgevox.errors import AudioError

VOICE_ID = "piper-en_US-joe-medium"
REPLY = ("Good morning. The kitchen light is now on, and the living room is at twenty one "
         "degrees. Your next meeting starts at half past ten, and it will rain this afternoon, "
         "so take an umbrella. I have set a timer for ten minutes.")
BLOCK_MS = 20
ECHO_TAPS = ((30, 0.0), (42, -6.0), (65, -12.0))  # (delay ms, gain dB)
ECHO_DBFS = -30.0
USER_DBFS = -35.0
NOISE_DBFS = -70.0
CONVERGENCE_S = 1.0  # ERLE is scored after this; the APM reaches over 30 dB within 0.1 s here
USER_START_S = 4.0
BARGE_IN_S = 0.3  # user's first word -> playback stopped (the target)
TARGET_ERLE_DB = 25.0
LATENCY_SAMPLES = SAMPLE_RATE_HZ * LATENCY_MS // 1000
# Speakers talking over the reply (Common Voice vi, ../shared/eval/asr-cv-vi-dev).
USER_CLIPS = ("common_voice_vi_23790300.wav", "common_voice_vi_23801915.wav",
              "common_voice_vi_21833243.wav")


@pytest.fixture(scope="module")
def rtc():
    return pytest.importorskip(
        "livekit.rtc", reason=f"the WebRTC APM backend (livekit) is not installed: {INSTALL_HINT}")


@pytest.fixture(scope="module")
def reply(model_dir) -> tuple[np.ndarray, int]:
    """The real voice's reply as the loudspeaker plays it: (samples, sample rate). Piper draws
    fresh noise on every call unless its noise scales are zero; zero makes the reply, and so
    every figure here, the same on every run."""
    from edgevox.tts import PiperSynthesizer

    synth = PiperSynthesizer.from_dir(model_dir(VOICE_ID), num_threads=2, noise_scale=0.0,
                                      noise_w_scale=0.0)
    return np.concatenate(list(synth.synthesize(REPLY))), synth.sample_rate_hz


def active_dbfs(samples: np.ndarray) -> float:
    """Level over the 10 ms frames within 20 dB of the loudest, so pauses do not lower it."""
    frames = samples[:samples.size // 160 * 160].reshape(-1, 160).astype(np.float64)
    power = np.mean(np.square(frames), axis=1)
    return 10.0 * float(np.log10(np.mean(power[power >= power.max() / 100.0])))


def onset_s(samples: np.ndarray) -> float:
    """When speech starts in a clip: the first 30 ms run of frames within 20 dB of the loudest
    (Common Voice clips open with 0.2-1.8 s of silence)."""
    frames = samples[:samples.size // 160 * 160].reshape(-1, 160).astype(np.float64)
    power = np.mean(np.square(frames), axis=1)
    active = np.convolve(power >= power.max() / 100.0, np.ones(3), "valid") == 3
    return int(np.argmax(active)) * 160 / SAMPLE_RATE_HZ


def level_dbfs(samples: np.ndarray) -> float:
    return 10.0 * float(np.log10(np.mean(np.square(samples, dtype=np.float64))))


def to_level(samples: np.ndarray, dbfs: float) -> np.ndarray:
    return samples * np.float32(10.0 ** ((dbfs - active_dbfs(samples)) / 20.0))


def echo_of(played: np.ndarray, rate_hz: int, length: int) -> np.ndarray:
    """What the microphone hears of ``played``: resampled as the sound card's converters would
    (soxr's best quality, not the canceller's streaming resampler), through the echo path."""
    import soxr

    at_mic = soxr.resample(played, rate_hz, SAMPLE_RATE_HZ, quality="VHQ").astype(np.float32)
    echo = np.zeros(length, dtype=np.float32)
    for delay_ms, gain_db in ECHO_TAPS:
        start = SAMPLE_RATE_HZ * delay_ms // 1000
        part = at_mic[:length - start]
        echo[start:start + part.size] += np.float32(10.0 ** (gain_db / 20.0)) * part
    return to_level(echo, ECHO_DBFS)


def noise_floor(length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 10.0 ** (NOISE_DBFS / 20.0), length).astype(np.float32)


def user_clip(eval_dir: Path, name: str) -> tuple[np.ndarray, str]:
    corpus = eval_dir / "asr-cv-vi-dev"
    with open(corpus / "manifest.jsonl", encoding="utf-8") as fh:
        texts = {entry["audio"]: entry["text"] for entry in map(json.loads, fh)}
    with wave.open(str(corpus / name)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return to_level(pcm.astype(np.float32) / 32768.0, USER_DBFS), texts[name]


def cancel_echo(played: np.ndarray, rate_hz: int, mic: np.ndarray) -> np.ndarray:
    """``mic`` through a fresh canceller that hears ``played`` as its far end (see duplex)."""
    canceller = load_echo_canceller()
    try:
        return duplex(canceller, played, rate_hz, mic)
    finally:
        canceller.close()


def duplex(canceller, played: np.ndarray, rate_hz: int, mic: np.ndarray) -> np.ndarray:
    """Run ``mic`` through ``canceller`` in 20 ms blocks, each after the far-end block played
    alongside it (silence once the reply is over); returns the cleaned audio shifted back by
    the canceller's latency, so that its sample i is mic sample i cleaned."""
    far_block = rate_hz * BLOCK_MS // 1000
    mic_block = SAMPLE_RATE_HZ * BLOCK_MS // 1000
    blocks = -(-(mic.size + LATENCY_SAMPLES) // mic_block)
    played = np.concatenate((played, np.zeros(blocks * far_block, dtype=np.float32)))
    mic = np.concatenate((mic, np.zeros(blocks * mic_block - mic.size, dtype=np.float32)))
    out = []
    for k in range(blocks):
        canceller.far_end(played[k * far_block:(k + 1) * far_block], rate_hz)
        out.append(canceller.process(mic[k * mic_block:(k + 1) * mic_block]))
    return np.concatenate(out)[LATENCY_SAMPLES:]


def test_importing_the_module_loads_no_backend() -> None:
    code = ("import sys, edgevox.audio.echo; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('livekit', 'soxr')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_backend_is_one_line_naming_the_fix() -> None:
    with pytest.raises(AudioError) as caught:
        load_echo_canceller(apm_module="edgevox_no_such_apm")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("echo cancellation unavailable: No module named "
                              "'edgevox_no_such_apm';")
    assert message.endswith("install it with pip install 'livekit==1.2.1' or set "
                            "audio.echo_cancellation = \"off\"")


@pytest.mark.models
def test_run_without_duplex_audio_warns_in_one_line_and_goes_on_half_duplex(model_dir, capsys):
    from edgevox.audio.sink import import_sounddevice
    from edgevox.catalog import ModelStore
    from edgevox.config import load_config
    from edgevox.console import live_audio
    from edgevox.runtime.build import build_synthesizer

    if import_sounddevice().query_devices():
        pytest.skip("this machine has sound devices: it needs one without duplex to show this")
    model_dir("piper-en_US-joe-medium")
    config = load_config(environ={}, overrides={"audio": {"echo_cancellation": "on"},
                                                "tts": {"voice": "piper-en_US-joe-medium"}})
    synthesizer = build_synthesizer(config, ModelStore())
    # Half duplex needs a microphone, and there is none here either.
    with pytest.raises(AudioError) as caught, live_audio(config, synthesizer):
        pass
    warning = capsys.readouterr().err
    assert warning.startswith("warning: no full-duplex audio") and warning.count("\n") == 1
    assert warning.rstrip().endswith("going on half duplex (no barge-in)")
    assert "duplex" not in str(caught.value), "the second failure is the microphone's own"


def test_erle_compares_echo_power_before_and_after() -> None:
    mic = noise_floor(16000, seed=1) * 100
    assert erle_db(mic, mic / 10) == pytest.approx(20.0)
    assert erle_db(mic, mic) == pytest.approx(0.0)
    # Digital silence is the int16 floor, about 101 dB below full scale, never infinity.
    assert erle_db(mic, np.zeros_like(mic)) == pytest.approx(level_dbfs(mic) + 101.1, abs=0.1)
    with pytest.raises(ValueError, match="hears some echo"):
        erle_db(np.zeros(160), np.zeros(160))


@pytest.mark.models
def test_the_echo_of_a_real_reply_is_cancelled(rtc, reply) -> None:
    played, rate_hz = reply
    assert rate_hz == 22050
    reply_end = int(played.size / rate_hz * SAMPLE_RATE_HZ)
    length = reply_end + SAMPLE_RATE_HZ // 2
    echo = echo_of(played, rate_hz, length)
    mic = echo + noise_floor(length)
    cleaned = cancel_echo(played, rate_hz, mic)

    assert cleaned.dtype == np.float32
    scored = slice(int(CONVERGENCE_S * SAMPLE_RATE_HZ), reply_end)
    erle = erle_db(mic[scored], cleaned[scored])
    per_second = [round(erle_db(mic[i:i + SAMPLE_RATE_HZ], cleaned[i:i + SAMPLE_RATE_HZ]))
                  for i in range(0, reply_end - SAMPLE_RATE_HZ, SAMPLE_RATE_HZ)]
    assert erle >= TARGET_ERLE_DB, f"ERLE {erle:.1f} dB; per second: {per_second}"


@pytest.mark.models
@pytest.mark.parametrize("clip", USER_CLIPS)
def test_a_user_talking_over_the_reply_survives(rtc, reply, eval_dir, clip) -> None:
    played, rate_hz = reply
    user, _ = user_clip(eval_dir, clip)
    reply_end = int(played.size / rate_hz * SAMPLE_RATE_HZ)
    start = int(USER_START_S * SAMPLE_RATE_HZ)
    talk = slice(start, start + user.size)
    after = slice(talk.stop + SAMPLE_RATE_HZ // 4, reply_end)  # far end only again
    assert after.stop - after.start >= SAMPLE_RATE_HZ, "the reply must outlast the user"
    near = np.zeros(reply_end + SAMPLE_RATE_HZ // 2, dtype=np.float32)
    near[talk] = user
    mic = echo_of(played, rate_hz, near.size) + near + noise_floor(near.size)
    cleaned = cancel_echo(played, rate_hz, mic)

    # The user comes through at nearly their own level, though the echo alone is 5 dB louder
    # (-2.3 to -2.7 dB on these clips)...
    kept_db = level_dbfs(cleaned[talk]) - level_dbfs(near[talk])
    assert -5.0 <= kept_db <= 1.0, f"user's level changed by {kept_db:+.1f} dB"
    # ...and the canceller has not lost the echo path while they talked: what is left of the
    # echo afterwards is still cancelled, far below the user's level.
    assert erle_db(mic[after], cleaned[after]) >= TARGET_ERLE_DB
    assert level_dbfs(cleaned[after]) <= level_dbfs(near[talk]) - 20.0


@pytest.mark.models
@pytest.mark.slow
def test_the_user_words_over_the_reply_are_recognised(rtc, reply, eval_dir, model_dir) -> None:
    """The issue's target is double-talk WER within 5 points of the clean WER. In the agent the
    reply stops at barge-in, within 0.3 s of the user's first word: on these clips that case
    meets it (0.10 against 0.07 clean), but over all 20 clips of the corpus it does not (0.17
    against 0.07), because the APM's echo suppressor often takes the first word spoken over the
    reply. When the reply plays over every word it takes more (0.31 here), though far fewer
    than the echo alone drowns (0.72)."""
    from edgevox.asr import load_recognizer
    from edgevox.bench.scoring import word_error_rate

    recognizer = load_recognizer("wenet_ctc", model_dir("vietasr-streaming-ctc"), num_threads=2)

    def transcribe(audio: np.ndarray) -> str:
        stream = recognizer.create_stream()
        for begin in range(0, audio.size, 1600):
            stream.accept(audio[begin:begin + 1600])
        return stream.finish()

    played, rate_hz = reply
    reply_end = int(played.size / rate_hz * SAMPLE_RATE_HZ)
    start = int(USER_START_S * SAMPLE_RATE_HZ)
    references: list[str] = []
    heard: dict[str, list[str]] = {"clean": [], "echo": [], "cancelled": [], "barge-in": []}
    for clip in USER_CLIPS:
        user, text = user_clip(eval_dir, clip)
        references.append(text)
        talk = slice(start, start + user.size)
        near = np.zeros(reply_end, dtype=np.float32)
        near[talk] = user
        heard["clean"].append(transcribe(near[talk]))
        barged_in = played[:int((USER_START_S + onset_s(user) + BARGE_IN_S) * rate_hz)]
        for case, far in (("cancelled", played), ("barge-in", barged_in)):
            mic = echo_of(far, rate_hz, near.size) + near + noise_floor(near.size)
            cleaned = cancel_echo(far, rate_hz, mic)
            heard[case].append(transcribe(cleaned[talk]))
            if case == "cancelled":
                heard["echo"].append(transcribe(mic[talk]))

    wer = {case: word_error_rate(references, texts) for case, texts in heard.items()}
    figures = ", ".join(f"{case} {value:.2f}" for case, value in wer.items())
    assert wer["clean"] <= 0.15, figures
    assert wer["barge-in"] <= wer["clean"] + 0.05, figures
    assert wer["echo"] >= 0.5, figures  # without the canceller the echo drowns the user
    assert wer["cancelled"] <= wer["echo"] - 0.2, figures


def test_any_block_length_gives_back_as_many_samples_late_by_the_latency(rtc, eval_dir) -> None:
    user, _ = user_clip(eval_dir, USER_CLIPS[0])
    mic = user + noise_floor(user.size)
    rng = np.random.default_rng(7)
    sizes = rng.integers(0, 700, size=mic.size // 100)
    edges = np.minimum(np.cumsum(sizes), mic.size)
    in_blocks = np.split(mic, edges)

    canceller = load_echo_canceller()
    out_blocks = [canceller.process(block) for block in in_blocks]
    canceller.close()
    assert [b.size for b in out_blocks] == [b.size for b in in_blocks]

    steady = load_echo_canceller()
    in_step = SAMPLE_RATE_HZ * BLOCK_MS // 1000
    steady_out = np.concatenate([steady.process(mic[i:i + in_step])
                                 for i in range(0, mic.size, in_step)])
    steady.close()
    # The APM sees the same 10 ms frames whatever the blocks were, so the output is identical.
    np.testing.assert_array_equal(np.concatenate(out_blocks), steady_out)
    # And it is the input, cleaned, exactly latency_ms late: the peak of the impulse response.
    spectrum_in, spectrum_out = np.fft.rfft(mic), np.fft.rfft(steady_out)
    regularised = np.abs(spectrum_in) ** 2 + 1e-3 * np.mean(np.abs(spectrum_in) ** 2)
    response = np.fft.irfft(spectrum_out * np.conj(spectrum_in) / regularised)
    assert int(np.argmax(np.abs(response[:SAMPLE_RATE_HZ // 10]))) == LATENCY_SAMPLES


@pytest.mark.models
def test_a_far_end_at_22050_hz_in_uneven_blocks_is_cancelled(rtc, reply) -> None:
    played, rate_hz = reply
    reply_end = int(played.size / rate_hz * SAMPLE_RATE_HZ)
    mic = echo_of(played, rate_hz, reply_end) + noise_floor(reply_end)
    canceller = load_echo_canceller()
    rng = np.random.default_rng(3)
    fed_far = fed_mic = 0
    out = []
    # Blocks of 1-20 ms on each side, the far end always at least as far along as the mic.
    while fed_mic < reply_end:
        step = int(rng.integers(16, 321))
        far_to = min(played.size, round((fed_mic + step) * rate_hz / SAMPLE_RATE_HZ))
        canceller.far_end(played[fed_far:far_to], rate_hz)
        out.append(canceller.process(mic[fed_mic:fed_mic + step]))
        fed_far, fed_mic = far_to, fed_mic + step
    canceller.close()
    cleaned = np.concatenate(out)[LATENCY_SAMPLES:]
    assert cleaned.size == reply_end - LATENCY_SAMPLES
    scored = slice(int(CONVERGENCE_S * SAMPLE_RATE_HZ), cleaned.size)
    assert erle_db(mic[scored], cleaned[scored]) >= TARGET_ERLE_DB


def test_stereo_and_a_closed_canceller_are_refused(rtc) -> None:
    canceller = load_echo_canceller()
    with pytest.raises(ValueError, match="mono"):
        canceller.process(np.zeros((320, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="sample rate"):
        canceller.far_end(np.zeros(320, dtype=np.float32), 0)
    canceller.close()
    canceller.close()
    with pytest.raises(RuntimeError, match="closed"):
        canceller.process(np.zeros(320, dtype=np.float32))


def test_the_simulated_device_keeps_its_far_end_in_step_after_idling(eval_dir):
    """Regression: a device that idled before entering its room handed the canceller a far end
    a few samples behind what the room played, and the echo came through (ERLE about 8 dB)."""
    pytest.importorskip("pyroomacoustics")
    from edgevox.bench.room import ROOMS, RoomStream
    from edgevox.bench.roomcase import scenario_erle_db
    from edgevox.bench.roomdevice import RoomDevice

    reply, _ = read_wav(eval_dir / "asr-cv-vi-dev" / "common_voice_vi_23676734.wav")
    device = RoomDevice(SAMPLE_RATE_HZ, canceller=load_echo_canceller())
    device.start(lambda block: None)
    try:
        time.sleep(0.5)  # idle first, as between scenarios
        stream = RoomStream(ROOMS["kiosk_hall"], reply, noise_snr_db=None)
        device.use(stream)
        device.play(reply)
        assert device.wait(timeout_s=30)
        time.sleep(0.5)
        recorded, heard = stream.recorded(), device.heard()
    finally:
        device.close()
    assert scenario_erle_db(recorded, heard, LATENCY_MS) >= TARGET_ERLE_DB
