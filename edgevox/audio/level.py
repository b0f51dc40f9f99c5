"""Input level: bring a talker a few metres away up to the level the recogniser knows.

Why it exists: the VAD and the streaming recogniser learned from speech recorded close to a
microphone (the Common Voice clips in the shared eval set have a median active speech level of
-17 dBFS). A person two or three metres from a device's microphone arrives 15-20 dB lower, and
there the recogniser hears next to nothing: Common Voice clips rendered through the bench's
simulated rooms at -35 dBFS gave a WER of 0.93, the same audio 12 dB louder 0.52, and the VAD
missed whole sentences. Real devices do the same; their audio front ends carry an automatic gain
control for it.

:class:`AutoGain` is that control, kept to what the listener needs. It measures the speaker's
*active* level (frames at least :data:`ACTIVE_ABOVE_NOISE_DB` above the quietest fifth of what
it heard lately, so pauses, hum and the room's noise do not count), and applies the gain that
brings it to ``target_dbfs``: never an attenuation, never more than ``max_gain_db``. The gain
follows only speech, so it holds through silence and between turns, as the talker's distance
does; with no speech heard yet it is 0 dB, so noise alone is never lifted. It rises within a few
hundred milliseconds of the first words (the VAD needs a quarter of a second to open a turn and
keeps the audio before it) and drops at once when the talker comes closer. It learns nothing
while the agent may be heard (what an echo canceller leaves of its voice is no talker) nor from
digital silence (the floor's muting), though both pass through it.
"""

from __future__ import annotations

import collections
import math

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ

TARGET_DBFS = -20.0
"""Where speech is brought: a little below the recordings' median, leaving headroom for peaks."""

MAX_GAIN_DB = 20.0
"""The most it lifts: a talker at about -40 dBFS (several metres) reaches the target; the noise
rises with the speech, so lifting further buys the recogniser nothing."""

ACTIVE_ABOVE_NOISE_DB = 10.0
"""A frame this far above the noise floor is speech (the active-level idea of ITU-T P.56)."""

NOISE_WINDOW_S = 10.0
SPEECH_WINDOW_S = 3.0
"""The speaker's level is the mean power of their last this-many seconds of active frames."""

MIN_ACTIVE_S = 0.5
"""Speech needed before the level is trusted enough to lift the gain."""

RISE_DB_PER_S = 40.0
"""How fast the gain may rise (it falls at once): a jump of several dB within a word sounds like
another talker to the recogniser."""

_NOISE_PERCENTILE = 20


class AutoGain:
    """Automatic gain for the listener's input (see the module docstring)."""

    def __init__(self, frame_samples: int, *, target_dbfs: float = TARGET_DBFS,
                 max_gain_db: float = MAX_GAIN_DB,
                 sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        """``frame_samples``: the length of the frames :meth:`process` gets (the VAD's)."""
        if max_gain_db < 0:
            raise ValueError(f"max_gain_db must be >= 0, got {max_gain_db}")
        self.target_dbfs = target_dbfs
        self.max_gain_db = max_gain_db
        self.gain_db = 0.0
        frame_s = frame_samples / sample_rate_hz
        self._levels: collections.deque[float] = collections.deque(
            maxlen=max(1, round(NOISE_WINDOW_S / frame_s)))
        self._active: collections.deque[float] = collections.deque(
            maxlen=max(1, round(SPEECH_WINDOW_S / frame_s)))
        self._min_active = max(1, round(MIN_ACTIVE_S / frame_s))
        self._rise_db = RISE_DB_PER_S * frame_s

    def process(self, frame: np.ndarray, *, learn: bool = True) -> np.ndarray:
        """``frame`` (mono float32) with the gain applied; the gain learns from it first unless
        not ``learn`` (while the agent's own voice may be in it)."""
        if not frame.size:
            return frame
        power = float(np.mean(np.square(frame, dtype=np.float64)))
        if learn and power > 0.0:
            self._learn(10.0 * math.log10(power), power)
        if self.gain_db == 0.0:
            return frame
        lifted = frame * np.float32(10.0 ** (self.gain_db / 20.0))
        return np.clip(lifted, -1.0, 1.0, out=lifted)

    def _learn(self, level_dbfs: float, power: float) -> None:
        self._levels.append(level_dbfs)
        noise = float(np.percentile(np.fromiter(self._levels, float), _NOISE_PERCENTILE))
        if level_dbfs < noise + ACTIVE_ABOVE_NOISE_DB:
            return
        self._active.append(power)
        if len(self._active) < self._min_active:
            return
        speech_dbfs = 10.0 * math.log10(float(np.mean(np.fromiter(self._active, float))))
        wanted = min(max(self.target_dbfs - speech_dbfs, 0.0), self.max_gain_db)
        self.gain_db = min(wanted, self.gain_db + self._rise_db)
