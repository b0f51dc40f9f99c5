"""Who has the floor while the agent speaks: its own echo, backchannels, and real barge-ins.

A loudspeaker a few tens of centimetres from the microphone puts the agent's own voice into
what it hears. Without care the agent transcribes itself, answers itself and even runs tools on
its own words. :class:`Floor` is the one place that decides what speech heard while the agent
is audible means:

* **Half duplex** (no echo canceller): nothing heard while the agent is audible, or within the
  echo tail after it, reaches the listener at all.
* **Full duplex** (echo cancelled by edgevox, by the device or by the client): while the
  agent is audible, audio quieter than ``min_level_dbfs`` (or than the room's noise plus
  ``above_noise_db``) is taken for the canceller's residue or background chatter and
  silenced; speech that survives is checked against the words the agent just played, and a
  match is the agent's own voice and is dropped. Backchannels ("ừ", "dạ", "vâng", "đúng rồi")
  are agreement: they produce a ``backchannel`` event and the agent keeps talking. Anything else
  interrupts once its partial transcript holds a word that is no backchannel, or once it goes
  on ``min_speech_ms`` beyond the echo tail of the pause the reply made for it (words or not).

Deciding which of these a sound is takes the recogniser a moment, and until the reply stops its
echo masks the person (the canceller keeps only what pokes out of it). So once the VAD has heard
``pause_after_ms`` of speech over the reply, the reply is *paused* (the sink holds its queue and
plays silence within one block): the echo stops, the person comes through clean, and the pause
is what a barge-in delay is measured to. A pause is reversible, never an action: if the speech
turns out to be the agent's echo, a backchannel, or nothing that becomes a turn within
``resume_after_ms``, the reply *resumes* where it paused and no word is lost; only a barge-in
stops it for good.

"Audible" comes from the sink's own clock (the last block it handed to the output), so it holds
for a speaker, a daemon client's paced stream and a simulated room alike.
"""

from __future__ import annotations

import collections
import difflib
import enum
import math
import threading
import time
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgevox.config import BACKCHANNELS_VI
from edgevox.events import Paused, Resumed

ECHO_MATCH_SHARE = 0.6  # this share of the words heard line up with words just played: echo
NOISE_WINDOW_BLOCKS = 500  # about 10 s of 20 ms blocks heard between replies
_NOISE_PERCENTILE = 20
_BLOCK_GAP_S = 0.1  # the output pulls a block at least this often while it sounds
ECHO_WINDOW_S = 15.0  # played clauses this recent can come back as echo (a clause plays < 10 s)


class Heard(enum.Enum):
    """What speech heard while the agent was audible turned out to be."""

    ECHO = "echo"
    BACKCHANNEL = "backchannel"
    REQUEST = "request"


def _level_dbfs(block: np.ndarray) -> float:
    power = float(np.mean(np.square(block, dtype=np.float64))) if block.size else 0.0
    return 10 * math.log10(power) if power > 0 else -math.inf


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower()
    return "".join(c if c.isalnum() or c.isspace() else " " for c in text).split()


def _base(word: str) -> str:
    """The word without tone marks and diacritics ("đúng" -> "dung"): a recogniser hearing its
    own voice through a room gets the letters right more often than the tones."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", word)
                       if unicodedata.category(c) != "Mn")
    return stripped.replace("đ", "d")


class Floor:
    """The policy for speech heard while the agent is audible (see the module docstring)."""

    def __init__(self, sink: Any, *, half_duplex: bool, echo_tail_ms: int = 400,
                 barge_in: bool = True, min_speech_ms: int = 400,
                 pause_after_ms: int = 120, resume_after_ms: int = 600,
                 min_level_dbfs: float = -55.0, above_noise_db: float = 10.0,
                 backchannels: Sequence[str] = BACKCHANNELS_VI) -> None:
        self.sink = sink
        self.half_duplex = half_duplex
        self.echo_tail_s = echo_tail_ms / 1000
        self.barge_in = barge_in
        self.min_speech_ms = min_speech_ms
        self.pause_after_ms = pause_after_ms
        self.resume_after_s = resume_after_ms / 1000
        self._paused_at: float | None = None
        self._last_voiced_t = -math.inf
        self._silenced = False  # whether admit() silenced the last block
        self.over_agent = False
        """Whether the last block :meth:`admit` took was captured while the agent was audible
        (so its voice, or what a canceller left of it, may be in the block)."""
        self.min_level_dbfs = min_level_dbfs
        self.above_noise_db = above_noise_db
        self._quiet_levels: collections.deque[float] = collections.deque(
            maxlen=NOISE_WINDOW_BLOCKS)
        self._backchannel_words = {w for phrase in backchannels for w in _words(phrase)}
        self._played: collections.deque[tuple[float, str]] = collections.deque()
        self._lock = threading.Lock()

    # -- what the agent said
    def played(self, text: str) -> None:
        """A clause went to the speaker (the speak loop calls this)."""
        now = time.monotonic()
        with self._lock:
            self._played.append((now, text))
            while self._played and self._played[0][0] < now - ECHO_WINDOW_S:
                self._played.popleft()

    def sounding(self, t: float) -> bool:
        """Whether the agent was still talking at ``t`` (its last audio block, not its echo
        tail; a paused reply is still talking): only then is an "ừ" agreement rather than an
        answer."""
        if self.paused:
            return True
        last = self.sink.last_sound_t
        return last is not None and t <= last + _BLOCK_GAP_S

    # -- pausing the reply while speech over it is judged
    @property
    def paused(self) -> bool:
        """The reply is paused for speech heard over it (a stop or a new reply ends that)."""
        return self._paused_at is not None and self.sink.held

    def watch(self, voiced_ms: float, in_turn: bool, t: float) -> Paused | Resumed | None:
        """After each block the listener took: pause the reply once ``pause_after_ms`` of
        speech was heard over it, or resume it once nothing voiced was heard for
        ``resume_after_ms`` and no turn is open; what changed, None when nothing did. A turn
        that opened ends its pause through :meth:`resume` or a barge-in. A block that
        :meth:`admit` silenced is never voice, whatever the VAD still says of it (its hangover
        runs on for a fifth of a second after speech)."""
        if not self.barge_in:
            return None
        if voiced_ms > 0 and not self._silenced:  # a VAD's hangover over silence is no voice
            self._last_voiced_t = t
        if self.paused:
            if not in_turn and t - self._last_voiced_t >= self.resume_after_s:
                return self.resume(t)
            return None
        if voiced_ms >= self.pause_after_ms and self.sounding(t) and self.sink.queued_blocks:
            self.sink.hold()
            self._paused_at = t
            return Paused(round(voiced_ms))
        return None

    def resume(self, t: float) -> Resumed | None:
        """Go on with a paused reply (the speech was its echo, a backchannel or nothing);
        None when it was not paused."""
        paused_at, self._paused_at = self._paused_at, None
        if paused_at is None or not self.sink.held:
            return None
        self.sink.release()
        return Resumed(round(t - paused_at, 3))

    def audible(self, t: float) -> bool:
        """Whether the agent's voice may be in audio captured at monotonic time ``t``: the sink
        is sounding, or sounded less than the echo tail before. A paused reply counts: the
        agent still holds the floor, so what is heard meanwhile is judged as speech over it
        (the room's chatter stays below :meth:`barge_in_level_dbfs`)."""
        if self.paused:
            return True
        last = self.sink.last_sound_t
        return last is not None and t <= last + self.echo_tail_s

    def admit(self, block: np.ndarray, t: float) -> np.ndarray:
        """What of ``block``, captured at ``t``, reaches the listener.

        While the agent is audible: silence instead in half duplex; in full duplex, silence
        when the block is quieter than :meth:`barge_in_level_dbfs`. What an echo canceller
        leaves of the agent's voice, and the chatter of a busy hall, are faint but
        speech-shaped, and a VAD judges shape, not level; a person talking to the device is
        louder than both. Between replies every block passes and teaches the noise floor.
        """
        level = _level_dbfs(block)
        self._silenced = False
        self.over_agent = self.audible(t)
        if not self.over_agent:
            if level > -math.inf:
                self._quiet_levels.append(level)
            return block
        if self.half_duplex or level < self.barge_in_level_dbfs():
            self._silenced = True
            return np.zeros_like(block)
        return block

    def barge_in_level_dbfs(self) -> float:
        """The least level that can be a person over the agent: ``min_level_dbfs``, or
        ``above_noise_db`` over the room's noise (the quietest fifth of the audio heard between
        replies, over the last :data:`NOISE_WINDOW_BLOCKS` blocks), whichever is higher."""
        if not self._quiet_levels:
            return self.min_level_dbfs
        noise = float(np.percentile(np.fromiter(self._quiet_levels, float), _NOISE_PERCENTILE))
        return max(self.min_level_dbfs, noise + self.above_noise_db)

    # -- what the person said
    def classify(self, text: str, backchannels: bool = True) -> Heard:
        """Speech recognised while the agent was audible: its echo, a backchannel (only with
        ``backchannels``: said while it was still talking), or a request of the person's own.

        Echo is the agent's recent words *in their order*: most of what was heard lines up with
        the clauses played in the last :data:`ECHO_WINDOW_S` (tones ignored). Sharing common
        words with a long reply in another order is not enough, so a person's own request
        spoken over a story still counts as theirs.
        """
        words = _words(text)
        if not words:
            return Heard.ECHO
        since = time.monotonic() - ECHO_WINDOW_S
        with self._lock:
            played = [_base(w) for t, clause in self._played if t >= since
                      for w in _words(clause)]
        heard = [_base(w) for w in words]
        matcher = difflib.SequenceMatcher(None, heard, played, autojunk=False)
        aligned = sum(block.size for block in matcher.get_matching_blocks())
        if played and aligned / len(heard) >= ECHO_MATCH_SHARE:
            return Heard.ECHO
        if backchannels and all(w in self._backchannel_words for w in words):
            return Heard.BACKCHANNEL
        return Heard.REQUEST

    def interrupts(self, partial: str) -> bool:
        """Whether speech still going on takes the floor: not the agent's echo, and either
        holding a word that is no backchannel or going on ``min_speech_ms`` beyond the echo
        tail of the pause the reply made for it.

        Lasting needs no words: a person a few metres away in a reverberant room is often
        heard long before the recogniser makes out a word. But only speech after the pause's
        echo tail counts: until the pause the agent's voice is in the room, and for
        ``echo_tail_ms`` after it the room still rings with it, which a canceller leaves
        enough of for a VAD to call speech (measured in the simulated kiosk hall). What goes on
        beyond that is the room's, and longer than an "ừ". Backchannel words go on like any
        other sound. An interruption only stops the reply; nothing is done until words come."""
        if not self.barge_in:
            return False
        if partial.strip():
            heard = self.classify(partial)
            if heard is Heard.ECHO:
                return False
            if heard is Heard.REQUEST:
                return True
        paused_at = self._paused_at
        return (self.paused and paused_at is not None and self._last_voiced_t - paused_at
                >= self.echo_tail_s + self.min_speech_ms / 1000)
