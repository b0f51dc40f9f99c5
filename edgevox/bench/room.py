"""A deterministic room simulator: what a device's microphone hears while its loudspeaker talks.

Why it exists: a loudspeaker a few tens of centimetres from the microphone makes the agent hear
itself, and what leaks past an echo canceller, or what a half-duplex listener must wait out, is
the room's reverberant tail. A toy echo path (a delay and two reflections) has no such tail, so
the echo-cancellation and barge-in tests and the bench's ``room`` case use image-source room
impulse responses from pyroomacoustics instead, in shoebox rooms whose reverberation spans the
homes, offices and halls edgevox is meant for.

Rooms (``ROOMS``): absorption and image-source order come from ``pyroomacoustics.inverse_sabine``
given ``Room.sabine_rt60_s``. Image sources in a flat room with uniform walls decay more slowly
than Sabine's formula predicts, so each preset's Sabine value is chosen for the RT60 that
``pyroomacoustics.experimental.measure_rt60`` reads from its talker path (default 60 dB fit; the
T30 fit, ``decay_db=30``, reads about 15 % less):

================  ==================  ======  ==========  ==============  ============  ======
preset            size (m)            Sabine  RT60 (T60)  RT60 (T30)      speaker->mic  talker
================  ==================  ======  ==========  ==============  ============  ======
``small_office``  4.0 x 3.5 x 2.7     0.25 s  0.26 s      0.23 s          0.15 m        1.5 m
``living_room``   6.0 x 4.5 x 2.6     0.33 s  0.45 s      0.37 s          0.20 m        2.0 m
``kiosk_hall``    12.0 x 9.0 x 4.0    0.47 s  0.66 s      0.55 s          0.25 m        1.5 m
================  ==================  ======  ==========  ==============  ============  ======

Levels are dBFS of RMS (0 dBFS: an RMS of 1.0), taken over a signal's *active* part: the 10 ms
frames within 20 dB of its loudest frame, a simple stand-in for ITU-T P.56 active speech level,
so neither a reply's pauses nor a clip's background hum lower its level. The echo is scaled to
``echo_dbfs`` (default -30 dBFS, a speakerphone's level), the user's speech at the mic to
``user_dbfs`` (default -35 dBFS: the talker is metres away, the loudspeaker centimetres, and a
real device's echo is louder than its user). Noise RMS is set ``noise_snr_db`` below the user's
level, or below the echo's when a rendering has no user. Nothing is clipped: levels are the
caller's choice.

Noise: ``pink`` (1/f, the usual model of fans, air conditioning and traffic) in the office and the
living room; ``babble`` in the hall: babble-like noise made of shaped noise, six "talkers" of
speech-shaped noise (pink, 100-4000 Hz) each switched on and off at syllable rate by a half-wave
rectified 4 Hz envelope. It is not speech, so an ASR cannot transcribe it, but it fluctuates like
a crowd. Noise is made one second at a time from the seed, so any read sizes give the same
samples and the offline render and the stream agree sample for sample; each second is scaled to
the requested RMS, as a steady fan or crowd is, so a render of a few seconds has the SNR it asked
for (babble's own level, left alone, wanders by about 0.3 dB over 5 s).

Backchannels: the shared Common Voice clips hold read sentences, not "ừ", "dạ" or "vâng";
:func:`voiced_segment` cuts a voiced stretch of the length of a backchannel (0.2-0.6 s) out of one
as a duration-alike stand-in. It exercises rules based on how long speech lasts, not a list of
words.

Cost (x86, one core): importing pyroomacoustics takes about 2 s, the paths of one room 0.1-0.3 s
(cached per room); rendering 10 s of audio 30-150 ms, streaming it 0.5-1.5 ms per 20 ms block.
pyroomacoustics is imported only inside :func:`paths`, scipy inside the functions that filter,
so importing this module stays light.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ

__all__ = [
    "DEFAULT_ECHO_DBFS",
    "DEFAULT_USER_DBFS",
    "ROOMS",
    "Rendering",
    "Room",
    "RoomPaths",
    "RoomStream",
    "paths",
    "render",
    "voiced_segment",
]

DEFAULT_ECHO_DBFS = -30.0
"""The echo's active level at the mic: a speakerphone's loudspeaker next to its microphone."""
DEFAULT_USER_DBFS = -35.0
"""The user's active level at the mic: a talker at 1-3 m speaking normally."""

NoiseKind = Literal["pink", "babble"]
Point = tuple[float, float, float]

_FRAME_SAMPLES = SAMPLE_RATE_HZ // 100  # 10 ms frames for levels, activity and onsets
_ACTIVE_RANGE_DB = 20.0  # a frame is active within this many dB of the loudest frame
_ONSET_RUN_FRAMES = 3  # speech starts with 30 ms of active frames: a click is shorter
_FADE_SAMPLES = SAMPLE_RATE_HZ // 200  # 5 ms fades, so a cut segment does not click
_WALL_MARGIN_M = 0.3  # a moved talker keeps this far from the walls
_NOISE_CHUNK_SAMPLES = SAMPLE_RATE_HZ  # noise is made 1 s at a time, whatever the read size
_BABBLE_TALKERS = 6
_BABBLE_BAND_HZ = (100.0, 4000.0)
_SYLLABLE_RATE_HZ = 4.0
# A 1/f ("pink") filter for white noise (J. O. Smith, "Spectral Audio Signal Processing", pink
# noise example): within 0.4 dB of -3 dB/octave from 10 Hz to 7 kHz at 16 kHz.
_PINK_B = (0.049922035, -0.095993537, 0.050612699, -0.004408786)
_PINK_A = (1.0, -2.494956002, 2.017265875, -0.522189400)


@dataclass(frozen=True)
class Room:
    """A shoebox room with a device (loudspeaker and microphone) and a talker, positions in metres.

    Frozen and hashable, because :func:`paths` caches the impulse responses per room.
    """

    name: str
    dims_m: Point
    """Length, width and height."""
    sabine_rt60_s: float
    """The RT60 given to ``inverse_sabine`` for absorption and image-source order; the measured
    RT60 is longer (see the module's table)."""
    speaker_m: Point
    mic_m: Point
    talker_m: Point
    """The user's mouth."""
    noise_kind: NoiseKind
    """The noise a room like this has: ``pink`` (fans, traffic) or ``babble`` (a crowd)."""

    def moved_talker(self, seed: int, max_shift_m: float = 0.3) -> Room:
        """The same room with the talker moved up to ``max_shift_m`` along each floor axis.

        Many simulated replies from one spot would tune the bench to one talker path; a few
        seeded positions vary it and stay reproducible. The device stays put, as a device on a
        shelf does. Each new position costs one impulse-response computation (then cached).
        """
        shift_x, shift_y = np.random.default_rng(seed).uniform(-max_shift_m, max_shift_m, size=2)
        x = float(np.clip(self.talker_m[0] + shift_x, _WALL_MARGIN_M,
                          self.dims_m[0] - _WALL_MARGIN_M))
        y = float(np.clip(self.talker_m[1] + shift_y, _WALL_MARGIN_M,
                          self.dims_m[1] - _WALL_MARGIN_M))
        return replace(self, talker_m=(x, y, self.talker_m[2]))


ROOMS = MappingProxyType({
    room.name: room for room in (
        # A device on a desk, the user seated across it.
        Room("small_office", (4.0, 3.5, 2.7), 0.25, speaker_m=(1.2, 1.5, 0.75),
             mic_m=(1.35, 1.5, 0.78), talker_m=(2.6, 2.2, 1.2), noise_kind="pink"),
        # A smart speaker on a shelf, the user on the sofa.
        Room("living_room", (6.0, 4.5, 2.6), 0.33, speaker_m=(0.6, 2.2, 1.0),
             mic_m=(0.8, 2.2, 1.02), talker_m=(2.8, 2.6, 1.1), noise_kind="pink"),
        # A standing kiosk, its mic above the loudspeaker, the user standing in front of it.
        Room("kiosk_hall", (12.0, 9.0, 4.0), 0.47, speaker_m=(3.0, 4.5, 1.3),
             mic_m=(3.0, 4.5, 1.55), talker_m=(4.4, 5.0, 1.6), noise_kind="babble"),
    )
})
"""The preset rooms by name."""


@dataclass(frozen=True)
class RoomPaths:
    """A room's impulse responses at 16 kHz (read-only float64, starting at time zero)."""

    speaker_to_mic: np.ndarray
    talker_to_mic: np.ndarray


@functools.lru_cache(maxsize=32)
def paths(room: Room) -> RoomPaths:
    """The room's loudspeaker->mic and talker->mic impulse responses, cached per room.

    Computed with one thread: pyroomacoustics sums image sources in a thread-dependent order,
    which changes the last bits, and a seed must give bit-identical output on any machine. The
    thread count is a pyroomacoustics-wide setting, restored afterwards.
    """
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(room.sabine_rt60_s, list(room.dims_m))
    shoebox = pra.ShoeBox(list(room.dims_m), fs=SAMPLE_RATE_HZ, materials=pra.Material(absorption),
                          max_order=max_order, air_absorption=False, use_rand_ism=False)
    shoebox.add_source(list(room.speaker_m))
    shoebox.add_source(list(room.talker_m))
    shoebox.add_microphone(list(room.mic_m))
    threads = pra.constants.get("num_threads")
    pra.constants.set("num_threads", 1)
    try:
        shoebox.compute_rir()
    finally:
        pra.constants.set("num_threads", threads)
    return RoomPaths(_read_only(shoebox.rir[0][0]), _read_only(shoebox.rir[0][1]))


@dataclass(frozen=True)
class Rendering:
    """What the mic captured, its parts, and the ground truth to score a listener against.

    All arrays are float32 (``far_end_only`` bool) of the same length, at 16 kHz, on the mic's
    clock; ``mic`` is ``echo + user + noise``.
    """

    mic: np.ndarray
    echo: np.ndarray
    """The loudspeaker's sound at the mic."""
    user: np.ndarray
    """The user's speech at the mic (zeros when there is none)."""
    noise: np.ndarray
    played: np.ndarray
    """What the loudspeaker played, sample for sample: an echo canceller's far-end reference."""
    user_onset_sample: int | None
    """Where the user's speech reaches the mic (the first of three active 10 ms frames in a row
    of the clip, plus the direct path's delay); None without a user."""
    far_end_only: np.ndarray
    """True where the echo is active (its 10 ms frames within 20 dB of its loudest) and the user
    is not there: the samples that score echo return loss enhancement. "Not there" is
    conservative: everything from the user's clip reaching the mic to the end of its reverberant
    tail counts as the user's. Noise is everywhere."""
    echo_gain: float
    """The loudspeaker volume: the factor from played samples to the echo's level."""


def render(room: Room, reply: np.ndarray, *, user: np.ndarray | None = None,
           user_start_s: float = 0.0, noise_snr_db: float | None = None, seed: int = 0,
           echo_dbfs: float = DEFAULT_ECHO_DBFS, user_dbfs: float = DEFAULT_USER_DBFS,
           ) -> Rendering:
    """Render offline: ``reply`` played to the end from time zero, ``user`` from ``user_start_s``.

    The rendering lasts until the echo's and the user's tails have died out. The loudspeaker
    volume is set so that the reply's echo has an active level of ``echo_dbfs``; ``seed`` fixes
    the noise (the only randomness here; see :meth:`Room.moved_talker` for positions).
    """
    from scipy.signal import fftconvolve

    room_paths = paths(room)
    played = _checked("reply", reply)
    echo = fftconvolve(played, room_paths.speaker_to_mic)
    gain = _gain_to(echo, echo_dbfs)
    near = _NearEnd(room, room_paths, user, user_start_s, user_dbfs, noise_snr_db, echo_dbfs,
                    seed)
    length = max(echo.size, near.end)
    user_part, noise = near.read(0, length)
    return _rendering(_fit(echo * gain, length), user_part, noise, _fit(played, length), near,
                      gain)


class RoomStream:
    """The room as a full-duplex device meets it, block by block.

    In the live agent the far end is known only as it plays, and a barge-in stops it, so the
    bench cannot render a reply in advance. The loudspeaker plays what :meth:`play` queued,
    oldest first, on the mic's clock: each :meth:`capture` of n samples lets the next n queued
    samples play (silence once the queue runs dry) and returns what the mic hears meanwhile, the
    echo carried across blocks by overlap-add. A device that plays a block and then captures one
    of the same size plays exactly that block during it. Played uninterrupted from the start, a
    reply gives the same samples as :func:`render` (within float rounding).

    The loudspeaker volume is set like a device's: so that ``calibration`` (the reply itself, to
    reproduce :func:`render`, or any speech from the same voice) would reach ``echo_dbfs`` at the
    mic. The user and noise arguments mean what they mean in :func:`render`. Every captured block
    is kept for :meth:`recorded`, so a stream lasts one simulated exchange, not a session.
    :meth:`play`, :meth:`stop` and :meth:`capture` may be called from different threads.
    """

    def __init__(self, room: Room, calibration: np.ndarray, *, user: np.ndarray | None = None,
                 user_start_s: float = 0.0, noise_snr_db: float | None = None, seed: int = 0,
                 echo_dbfs: float = DEFAULT_ECHO_DBFS, user_dbfs: float = DEFAULT_USER_DBFS,
                 user_after_playback: bool = False) -> None:
        """``user_after_playback``: ``user_start_s`` counts from the first sample the loudspeaker
        plays rather than from the stream's start, so a person can speak a set time into a
        reply whose start the caller cannot know (the agent's TTS decides it)."""
        from scipy.signal import fftconvolve

        room_paths = paths(room)
        self._convolve = fftconvolve
        self._rir = room_paths.speaker_to_mic
        self.echo_gain = _gain_to(fftconvolve(_checked("calibration", calibration), self._rir),
                                  echo_dbfs)
        self._near = _NearEnd(room, room_paths, user, user_start_s, user_dbfs, noise_snr_db,
                              echo_dbfs, seed)
        self._user_waits_for_playback = user_after_playback
        self._queue: deque[np.ndarray] = deque()
        self._tail = np.zeros(self._rir.size - 1)
        self._position = 0
        self._record: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._lock = threading.Lock()

    @property
    def user_end_sample(self) -> int | None:
        """The mic sample after the user's speech and its reverberant tail; None without a user
        or while the user waits for playback to start."""
        if self._near.onset is None or self._user_waits_for_playback:
            return None
        return self._near.end

    def play(self, block: np.ndarray) -> None:
        """Queue ``block`` (16 kHz mono) for the loudspeaker, after what is already queued."""
        samples = np.asarray(block, dtype=np.float64)
        if samples.ndim != 1:
            raise ValueError(f"a played block must be 1-D, got shape {samples.shape}")
        if samples.size:
            with self._lock:
                self._queue.append(samples.copy())

    def stop(self) -> None:
        """Drop what is queued and not yet played, as a player's ``clear()`` on a barge-in does.

        The echo of what already played rings on in the room and decays along its tail.
        """
        with self._lock:
            self._queue.clear()

    def capture(self, n: int) -> np.ndarray:
        """The next ``n`` mic samples (float32): echo + the user's speech + noise."""
        return self.exchange(n)[1]

    def exchange(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """What the loudspeaker played during the next ``n`` mic samples, and those samples.

        A device's echo canceller needs the former exactly: the loudspeaker plays silence
        wherever its queue ran dry, and a far end that skips those gaps drifts from the echo.
        """
        if n <= 0:
            raise ValueError(f"capture needs a positive number of samples, got {n}")
        with self._lock:
            played = self._take(n)
            if self._user_waits_for_playback and played.any():
                self._near.delay(self._position + int(np.argmax(played != 0)))
                self._user_waits_for_playback = False
            echo = np.zeros(n + self._tail.size)
            echo[:self._tail.size] = self._tail
            if played.any():
                echo += self._convolve(played, self._rir) * self.echo_gain
            self._tail = echo[n:]
            echo = echo[:n]
            user, noise = self._near.read(self._position, n)
            if self._user_waits_for_playback:  # the person has not begun: nothing has played
                user = np.zeros(n)
            self._position += n
            self._record.append((echo, user, noise, played))
        mic = (echo + user + noise).astype(np.float32)
        return played.astype(np.float32), mic

    def recorded(self) -> Rendering:
        """Everything captured so far, with its parts and ground truth, as :func:`render` gives."""
        with self._lock:
            record = list(self._record)
        if not record:
            return _rendering(*(np.zeros(0),) * 4, self._near, self.echo_gain)
        echo, user, noise, played = (np.concatenate(part) for part in zip(*record, strict=True))
        return _rendering(echo, user, noise, played, self._near, self.echo_gain)

    def _take(self, n: int) -> np.ndarray:
        """The next ``n`` samples the loudspeaker plays, silence where the queue runs dry."""
        played = np.zeros(n)
        filled = 0
        while filled < n and self._queue:
            head = self._queue[0]
            count = min(n - filled, head.size)
            played[filled:filled + count] = head[:count]
            if count == head.size:
                self._queue.popleft()
            else:
                self._queue[0] = head[count:]
            filled += count
        return played


def voiced_segment(clip: np.ndarray, duration_s: float = 0.4) -> np.ndarray:
    """The loudest ``duration_s`` of ``clip`` (16 kHz), with 5 ms fades: a backchannel stand-in.

    Energy picks the stretch, so it is voiced speech, not the clip's leading silence; cutting
    mid-word is fine for a stand-in that only has to last as long as "ừ" or "vâng" (0.2-0.6 s).
    """
    samples = _checked("clip", clip)
    length = round(duration_s * SAMPLE_RATE_HZ)
    if not 2 * _FADE_SAMPLES <= length <= samples.size:
        raise ValueError(f"a {duration_s} s segment does not fit a "
                         f"{samples.size / SAMPLE_RATE_HZ:.2f} s clip")
    power = _frame_power(samples)
    window = max(1, length // _FRAME_SAMPLES)
    starts = (samples.size - length) // _FRAME_SAMPLES + 1
    energy = np.convolve(power, np.ones(window), mode="valid")[:starts]
    start = int(np.argmax(energy)) * _FRAME_SAMPLES
    segment = samples[start:start + length].copy()
    fade = 0.5 - 0.5 * np.cos(np.pi * np.arange(_FADE_SAMPLES) / _FADE_SAMPLES)
    segment[:_FADE_SAMPLES] *= fade
    segment[-_FADE_SAMPLES:] *= fade[::-1]
    return np.asarray(segment, dtype=np.float32)


class _NearEnd:
    """What the mic hears besides the echo: the user through the talker path, and noise.

    Both are known before playback starts, so the offline render and the stream read the very
    same samples from here; only the echo differs in how it is computed.
    """

    def __init__(self, room: Room, room_paths: RoomPaths, user: np.ndarray | None,
                 user_start_s: float, user_dbfs: float, noise_snr_db: float | None,
                 echo_dbfs: float, seed: int) -> None:
        from scipy.signal import fftconvolve

        if user_start_s < 0:
            raise ValueError(f"user_start_s must not be negative, got {user_start_s}")
        self.start = round(user_start_s * SAMPLE_RATE_HZ)
        self.user_at_mic = np.zeros(0)
        self.onset: int | None = None
        reference_dbfs = echo_dbfs
        if user is not None:
            dry = _checked("user", user)
            wet = fftconvolve(dry, room_paths.talker_to_mic)
            self.user_at_mic = wet * _gain_to(wet, user_dbfs)
            direct_delay = int(np.argmax(np.abs(room_paths.talker_to_mic)))
            self.onset = self.start + _speech_onset(dry) + direct_delay
            reference_dbfs = user_dbfs
        self._noise = (None if noise_snr_db is None
                       else _Noise(room.noise_kind, seed, reference_dbfs - noise_snr_db))

    def delay(self, samples: int) -> None:
        """Start the user ``samples`` later (before any of the user has been read)."""
        self.start += samples
        if self.onset is not None:
            self.onset += samples

    @property
    def end(self) -> int:
        """The sample after the user's reverberant tail (0 without a user)."""
        return self.start + self.user_at_mic.size if self.user_at_mic.size else 0

    def read(self, position: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's speech and the noise for mic samples ``position`` to ``position + n``.

        Calls must follow on from each other: the noise is a stream.
        """
        user = np.zeros(n)
        first, last = max(position, self.start), min(position + n, self.end)
        if first < last:
            user[first - position:last - position] = \
                self.user_at_mic[first - self.start:last - self.start]
        noise = np.zeros(n) if self._noise is None else self._noise.read(n)
        return user, noise


class _Noise:
    """Seeded noise at an RMS level, read in any sizes with the same samples."""

    def __init__(self, kind: NoiseKind, seed: int, rms_dbfs: float) -> None:
        self._gain = 10.0 ** (rms_dbfs / 20.0)
        self._chunks = _noise_chunks(kind, seed)
        self._pending = np.zeros(0)

    def read(self, n: int) -> np.ndarray:
        parts = [self._pending]
        have = self._pending.size
        while have < n:
            parts.append(next(self._chunks))
            have += _NOISE_CHUNK_SAMPLES
        joined = np.concatenate(parts)
        self._pending = joined[n:]
        noise: np.ndarray = joined[:n] * self._gain
        return noise


def _noise_chunks(kind: NoiseKind, seed: int) -> Iterator[np.ndarray]:
    """Endless 1 s chunks of noise, each of RMS 1; filter states carry over, so chunks join.

    The first second is dropped: it holds the filters' start-up transient.
    """
    from scipy import signal

    rng = np.random.default_rng(seed)
    talkers = _BABBLE_TALKERS if kind == "babble" else 1
    band = signal.butter(2, _BABBLE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE_HZ, output="sos")
    syllables = signal.butter(2, _SYLLABLE_RATE_HZ, fs=SAMPLE_RATE_HZ, output="sos")
    pink_state = np.zeros((talkers, len(_PINK_A) - 1))
    band_state = np.zeros((band.shape[0], talkers, 2))
    syllable_state = np.zeros((syllables.shape[0], talkers, 2))
    for index in itertools.count():
        white = rng.standard_normal((talkers, _NOISE_CHUNK_SAMPLES))
        pink, pink_state = signal.lfilter(_PINK_B, _PINK_A, white, axis=-1, zi=pink_state)
        if kind == "babble":
            speech_shaped, band_state = signal.sosfilt(band, pink, axis=-1, zi=band_state)
            envelope, syllable_state = signal.sosfilt(
                syllables, rng.standard_normal((talkers, _NOISE_CHUNK_SAMPLES)), axis=-1,
                zi=syllable_state)
            chunk = np.sum(speech_shaped * np.maximum(envelope, 0.0), axis=0)
        else:
            chunk = pink[0]
        if index:
            yield chunk / np.sqrt(np.mean(np.square(chunk)))


def _rendering(echo: np.ndarray, user: np.ndarray, noise: np.ndarray, played: np.ndarray,
               near: _NearEnd, echo_gain: float) -> Rendering:
    length = echo.size
    echo_active = np.repeat(_active_frames(echo), _FRAME_SAMPLES)[:length]
    user_there = np.zeros(length, dtype=bool)
    user_there[near.start:near.end] = True
    return Rendering(
        mic=(echo + user + noise).astype(np.float32),
        echo=echo.astype(np.float32),
        user=user.astype(np.float32),
        noise=noise.astype(np.float32),
        played=played.astype(np.float32),
        user_onset_sample=near.onset,
        far_end_only=echo_active & ~user_there,
        echo_gain=echo_gain,
    )


def _checked(name: str, audio: np.ndarray) -> np.ndarray:
    """``audio`` as float64, refused with a clear message when it cannot be rendered."""
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim != 1:
        raise ValueError(f"{name} must be 1-D 16 kHz mono audio, got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"{name} holds NaN or infinite samples")
    if not np.any(samples):
        raise ValueError(f"{name} is silent: its level cannot be set")
    return samples


def _frame_power(samples: np.ndarray) -> np.ndarray:
    """Mean square of each 10 ms frame (the last one zero-padded)."""
    frames = -(-samples.size // _FRAME_SAMPLES)
    padded = np.zeros(frames * _FRAME_SAMPLES)
    padded[:samples.size] = samples
    power: np.ndarray = np.mean(np.square(padded.reshape(frames, _FRAME_SAMPLES)), axis=1)
    return power


def _active_frames(samples: np.ndarray) -> np.ndarray:
    """Which 10 ms frames lie within ``_ACTIVE_RANGE_DB`` of the loudest (none if all silent)."""
    power = _frame_power(samples)
    if not power.size or power.max() <= 0:
        return np.zeros(power.size, dtype=bool)
    active: np.ndarray = power >= power.max() * 10.0 ** (-_ACTIVE_RANGE_DB / 10.0)
    return active


def _speech_onset(samples: np.ndarray) -> int:
    """The first sample of the first ``_ONSET_RUN_FRAMES`` active frames in a row.

    Common Voice clips often open with a click or a hum within 30 dB of the speech; a run of
    active frames skips a click, and the 20 dB range skips the hum.
    """
    active = _active_frames(samples)
    runs = np.convolve(active, np.ones(_ONSET_RUN_FRAMES), mode="valid") == _ONSET_RUN_FRAMES
    return int(np.argmax(runs if runs.any() else active)) * _FRAME_SAMPLES


def _gain_to(samples: np.ndarray, level_dbfs: float) -> float:
    """The factor that brings the active level of ``samples`` to ``level_dbfs``."""
    power = _frame_power(samples)
    active_power = float(np.mean(power[_active_frames(samples)]))
    return float(10.0 ** (level_dbfs / 20.0) / np.sqrt(active_power))


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """``samples`` zero-padded to ``length``."""
    out = np.zeros(length)
    out[:samples.size] = samples
    return out


def _read_only(samples: np.ndarray) -> np.ndarray:
    out = np.array(samples, dtype=np.float64)
    out.flags.writeable = False
    return out
