"""The room simulator on real speech: reverberation, levels, seeds, streaming and ground truth.

User speech and the reply stand-in are real Common Voice clips from the shared corpus. Levels
are measured here as the module documents them (RMS over the 10 ms frames within 20 dB of the
loudest), and ground truth against geometry, not against the module's own bookkeeping.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyroomacoustics as pra
import pytest
from pyroomacoustics.experimental import measure_rt60
from scipy.signal import fftconvolve

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.source import read_wav
from edgevox.bench.room import (
    DEFAULT_USER_DBFS,
    ROOMS,
    RoomStream,
    paths,
    render,
    voiced_segment,
)

USER_CLIP = "common_voice_vi_23790300.wav"  # 5.5 s: "Trinh đưa tay lên xem đồng hồ ..."
REPLY_CLIP = "common_voice_vi_23676734.wav"  # 6.2 s: "Ở cái chốn vắng vẻ này xưa nay ..."
RT60_RANGE_S = {"small_office": (0.2, 0.3), "living_room": (0.4, 0.5), "kiosk_hall": (0.6, 0.7)}
FRAME = SAMPLE_RATE_HZ // 100
SPEED_OF_SOUND_M_S = 343.0


@pytest.fixture(scope="module")
def user(eval_dir: Path) -> np.ndarray:
    return read_wav(eval_dir / "asr-cv-vi-dev" / USER_CLIP)[0]


@pytest.fixture(scope="module")
def reply(eval_dir: Path) -> np.ndarray:
    """A read sentence from its first word on: a TTS reply starts speaking at once."""
    clip = read_wav(eval_dir / "asr-cv-vi-dev" / REPLY_CLIP)[0]
    return clip[max(0, speech_onset_sample(clip) - SAMPLE_RATE_HZ // 20):]


def frame_power(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    frames = -(-x.size // FRAME)
    return np.mean(np.square(np.pad(x, (0, frames * FRAME - x.size)).reshape(frames, FRAME)), 1)


def active_level_dbfs(x: np.ndarray) -> float:
    power = frame_power(x)
    return float(10 * np.log10(np.mean(power[power >= power.max() * 1e-2])))


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


def speech_onset_sample(x: np.ndarray) -> int:
    """The first of three 10 ms frames in a row within 20 dB of the loudest."""
    power = frame_power(x)
    active = power >= power.max() * 1e-2
    return next(i for i in range(active.size) if active[i:i + 3].all()) * FRAME


def distance_m(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))


def test_importing_the_module_loads_neither_pyroomacoustics_nor_scipy() -> None:
    code = ("import sys, edgevox.bench.room; "
            "print('pyroomacoustics' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name", sorted(RT60_RANGE_S))
def test_preset_geometry_and_measured_rt60(name: str) -> None:
    room = ROOMS[name]
    for point in (room.speaker_m, room.mic_m, room.talker_m):
        assert all(0 < c < size for c, size in zip(point, room.dims_m, strict=True))
    assert 0.1 <= distance_m(room.speaker_m, room.mic_m) <= 0.3
    assert 1.0 <= distance_m(room.talker_m, room.mic_m) <= 3.0

    room_paths = paths(room)
    assert paths(room) is room_paths  # cached: the RIRs are the expensive part
    low, high = RT60_RANGE_S[name]
    for rir in (room_paths.talker_to_mic, room_paths.speaker_to_mic):
        assert low <= measure_rt60(rir, fs=SAMPLE_RATE_HZ) <= high
    # The loudspeaker is centimetres from the mic, the talker metres: a much stronger path.
    assert np.abs(room_paths.speaker_to_mic).max() > 5 * np.abs(room_paths.talker_to_mic).max()
    with pytest.raises(ValueError):
        room_paths.talker_to_mic[0] = 1.0  # cached arrays are shared, so read-only


def test_same_seed_is_bit_identical_and_another_seed_changes_only_the_noise(user, reply) -> None:
    room = ROOMS["kiosk_hall"]
    args = dict(user=user, user_start_s=1.0, noise_snr_db=10.0)
    first, again = render(room, reply, seed=7, **args), render(room, reply, seed=7, **args)
    other = render(room, reply, seed=8, **args)
    for field in ("mic", "echo", "user", "noise", "played", "far_end_only"):
        assert np.array_equal(getattr(first, field), getattr(again, field)), field
    assert np.array_equal(first.echo, other.echo)
    assert np.array_equal(first.user, other.user)
    assert np.corrcoef(first.noise, other.noise)[0, 1] < 0.1
    moved = room.moved_talker(3)
    assert moved == room.moved_talker(3) and moved.talker_m != room.moved_talker(4).talker_m
    assert (moved.speaker_m, moved.mic_m) == (room.speaker_m, room.mic_m)
    assert 1.0 <= distance_m(moved.talker_m, moved.mic_m) <= 3.0


@pytest.mark.parametrize("block", [320, 1000])
def test_stream_matches_the_offline_render_for_an_uninterrupted_reply(user, reply,
                                                                      block: int) -> None:
    room = ROOMS["living_room"]
    args = dict(user=user, user_start_s=1.5, noise_snr_db=20.0, seed=3)
    offline = render(room, reply, **args)
    stream = RoomStream(room, reply, **args)
    captured = []
    for start in range(0, offline.mic.size, block):
        stream.play(reply[start:start + block])  # empty once the reply has all played
        captured.append(stream.capture(block))
    mic = np.concatenate(captured)
    n = offline.mic.size
    np.testing.assert_allclose(mic[:n], offline.mic, rtol=0, atol=1e-6)
    streamed = stream.recorded()
    assert streamed.echo_gain == pytest.approx(offline.echo_gain, rel=1e-12)
    assert streamed.user_onset_sample == offline.user_onset_sample
    for field in ("echo", "user", "noise", "played"):
        np.testing.assert_allclose(getattr(streamed, field)[:n], getattr(offline, field),
                                   rtol=0, atol=1e-6, err_msg=field)
    assert np.array_equal(streamed.far_end_only[:n], offline.far_end_only)


def test_stopping_playback_leaves_only_the_decaying_tail(reply) -> None:
    room = ROOMS["kiosk_hall"]
    stream = RoomStream(room, reply)
    stream.play(reply)  # queued whole, as a sink ahead of the loudspeaker would
    stop = int(1.5 * SAMPLE_RATE_HZ)
    before = stream.capture(stop)
    stream.stop()
    rir = paths(room).speaker_to_mic
    after = stream.capture(rir.size + SAMPLE_RATE_HZ // 2)
    recorded = stream.recorded()
    assert np.array_equal(recorded.played[:stop], reply[:stop].astype(np.float32))
    assert not recorded.played[stop:].any()

    # What follows the stop is the tail of what played, per the room's impulse response ...
    expected = fftconvolve(reply[:stop].astype(np.float64), rir) * stream.echo_gain
    np.testing.assert_allclose(after[:expected.size - stop], expected[stop:], rtol=0, atol=1e-6)
    # ... and it dies away: 45 dB down within the RT60, nothing once the response has ended.
    rt60 = int(measure_rt60(paths(room).talker_to_mic, fs=SAMPLE_RATE_HZ) * SAMPLE_RATE_HZ)
    late = after[rt60 - SAMPLE_RATE_HZ // 20:rt60]
    assert rms_dbfs(late) < active_level_dbfs(before) - 45
    assert not after[rir.size:].any()


@pytest.mark.parametrize(("name", "snr_db", "with_user"), [
    ("small_office", 10.0, True),   # pink noise
    ("living_room", 20.0, True),
    ("kiosk_hall", 10.0, True),     # babble-like noise
    ("kiosk_hall", 20.0, False),    # no user: the SNR is relative to the echo
])
def test_noise_is_at_the_requested_snr(user, reply, name: str, snr_db: float,
                                       with_user: bool) -> None:
    rendering = render(ROOMS[name], reply, user=user if with_user else None, user_start_s=0.5,
                       noise_snr_db=snr_db, seed=11)
    signal = rendering.user if with_user else rendering.echo
    measured = active_level_dbfs(signal) - rms_dbfs(rendering.noise)
    assert measured == pytest.approx(snr_db, abs=0.5)
    np.testing.assert_allclose(rendering.mic, rendering.echo + rendering.user + rendering.noise,
                               atol=1e-6)


@pytest.mark.parametrize("echo_dbfs", [-40.0, -30.0, -15.0])
def test_echo_is_at_the_requested_level(reply, echo_dbfs: float) -> None:
    rendering = render(ROOMS["small_office"], reply, echo_dbfs=echo_dbfs)
    assert active_level_dbfs(rendering.echo) == pytest.approx(echo_dbfs, abs=1.0)
    assert rendering.user_onset_sample is None and not rendering.user.any()


def test_user_onset_and_far_end_only_ground_truth(user, reply) -> None:
    room = ROOMS["living_room"]
    start_s = 1.25
    rendering = render(room, reply, user=user, user_start_s=start_s)
    start = round(start_s * SAMPLE_RATE_HZ)
    # pyroomacoustics delays every path by half its 81-tap fractional-delay filter.
    delay = (distance_m(room.talker_m, room.mic_m) / SPEED_OF_SOUND_M_S * SAMPLE_RATE_HZ
             + pra.constants.get("frac_delay_length") // 2)
    expected = start + speech_onset_sample(user) + delay
    onset = rendering.user_onset_sample
    assert onset is not None and abs(onset - expected) <= 1
    assert active_level_dbfs(rendering.user) == pytest.approx(DEFAULT_USER_DBFS, abs=0.1)
    # Before the onset the user's part holds only the clip's quiet lead-in; speech follows it.
    assert rms_dbfs(rendering.user[start:onset]) < DEFAULT_USER_DBFS - 25
    assert rms_dbfs(rendering.user[onset:onset + SAMPLE_RATE_HZ // 5]) > DEFAULT_USER_DBFS - 20

    mask = rendering.far_end_only
    assert not mask[start:start + user.size].any()
    assert mask[:start].mean() > 0.5  # the reply talks alone before the user starts
    echo_power = frame_power(rendering.echo)
    echo_active = np.repeat(echo_power >= echo_power.max() * 1e-2, FRAME)[:mask.size]
    assert not (mask & ~echo_active).any()  # only where the reply is heard


def test_voiced_segment_is_a_loud_short_stretch_that_renders_as_a_backchannel(user,
                                                                              reply) -> None:
    segment = voiced_segment(user, 0.4)
    assert segment.size == round(0.4 * SAMPLE_RATE_HZ) and segment.dtype == np.float32
    assert np.array_equal(segment, voiced_segment(user, 0.4))
    assert active_level_dbfs(segment) > active_level_dbfs(user) - 3  # voiced, not the lead-in
    assert segment[0] == 0.0  # faded in, so it does not click

    room = ROOMS["small_office"]
    rendering = render(room, reply, user=segment, user_start_s=2.0)
    direct = int(np.argmax(np.abs(paths(room).talker_to_mic)))
    assert rendering.user_onset_sample == 2 * SAMPLE_RATE_HZ + direct
    with pytest.raises(ValueError, match="does not fit"):
        voiced_segment(user[:1000], 0.4)


def test_bad_input_is_refused_with_a_reason(user, reply) -> None:
    room = ROOMS["small_office"]
    with pytest.raises(ValueError, match="1-D"):
        render(room, np.stack([reply, reply]))
    with pytest.raises(ValueError, match="silent"):
        render(room, reply, user=np.zeros(1000))
    with pytest.raises(ValueError, match="negative"):
        render(room, reply, user=user, user_start_s=-0.1)
    with pytest.raises(ValueError, match="positive"):
        RoomStream(room, reply).capture(0)


def test_exchange_hands_back_what_the_loudspeaker_played_silence_included(reply) -> None:
    stream = RoomStream(ROOMS["small_office"], reply)
    stream.play(reply[:200])
    played, mic = stream.exchange(320)  # the queue runs dry after 200 samples
    np.testing.assert_array_equal(played[:200], reply[:200].astype(np.float32))
    assert not played[200:].any() and mic.shape == (320,)
    stream.play(reply[200:520])
    played, _ = stream.exchange(320)
    np.testing.assert_array_equal(played, reply[200:520].astype(np.float32))
    np.testing.assert_array_equal(stream.recorded().played[:520],
                                  np.concatenate([reply[:200], np.zeros(120), reply[200:400]]))


def test_a_person_timed_from_playback_starts_after_the_first_played_sample(user, reply) -> None:
    stream = RoomStream(ROOMS["living_room"], reply, user=user, user_start_s=0.5,
                        user_after_playback=True)
    assert stream.user_end_sample is None  # nothing has played: the person has not started
    idle = stream.capture(SAMPLE_RATE_HZ)  # a second of nothing before the reply
    assert not idle.any()
    stream.play(reply)
    stream.capture(3 * SAMPLE_RATE_HZ)
    recorded = stream.recorded()
    offline = render(ROOMS["living_room"], reply, user=user, user_start_s=0.5)
    assert recorded.user_onset_sample == offline.user_onset_sample + SAMPLE_RATE_HZ
    assert not recorded.user[:int(1.5 * SAMPLE_RATE_HZ)].any()
    assert stream.user_end_sample is not None and stream.user_end_sample > 4 * SAMPLE_RATE_HZ
