"""Audio playback: a bounded, stoppable queue of speech with a ledger of what was heard.

Every sink shares one player (:class:`QueuedSink`): ``play`` queues float32 mono samples tagged
with the text they speak, blocking while the queue is full so a fast synthesizer cannot run
ahead of the speaker; the output side pulls fixed-size blocks from the queue. ``stop`` drops what
is queued, so sound ends once the block already handed to the output has played (at most one
block, 20-50 ms); every later ``play`` is ignored until :meth:`QueuedSink.begin_utterance`,
which keeps late audio of an interrupted answer from leaking out. Because the output counts the
samples it pulls per clause, :meth:`QueuedSink.report` can tell which words the listener heard
before an interruption, so the conversation history keeps only those.

Outputs: :class:`SoundDeviceSink` (a speaker through PortAudio), :class:`WavFileSink` (a WAV
file, written as fast as audio arrives), :class:`MemorySink` (in memory, paced by the clock
like a speaker: for tests and benchmarks) and :class:`TranscriptSink` (text only, for a device
without a voice for the language).
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.marking import Marker, WavMark, write_marked_wav
from edgevox.errors import AudioError, ConfigError

logger = logging.getLogger(__name__)

MIN_BLOCK_MS = 20
MAX_BLOCK_MS = 50
DEFAULT_BLOCK_MS = 30
DEFAULT_MAX_QUEUED_MS = 3000


@dataclass(frozen=True)
class PlaybackReport:
    """What the listener has heard of the current utterance."""

    spoken_text: str
    """The clauses played so far; a partly played clause contributes the share of its words
    equal to the share of its samples played (rounded down to whole words)."""
    played_s: float
    """Seconds of audio handed to the output."""
    interrupted: bool
    """True if :meth:`QueuedSink.stop` cut off audio that was queued or playing."""


class AudioSink(Protocol):
    """Where synthesized speech goes."""

    @property
    def sample_rate_hz(self) -> int:
        """Rate of the samples ``play`` accepts."""
        ...

    def begin_utterance(self) -> None:
        """Start a new utterance: clear the ledger and accept audio again after a stop."""
        ...

    def play(self, samples: np.ndarray, text: str = "") -> bool:
        """Queue audio that speaks ``text``; False if dropped because the sink was stopped."""
        ...

    def stop(self) -> None:
        """End sound within one block and drop everything queued."""
        ...

    def hold(self) -> None:
        """Play silence from the next block on, keeping what is queued (see :meth:`release`)."""
        ...

    def release(self) -> None:
        """Go on playing what :meth:`hold` kept, from where it paused."""
        ...

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until everything queued has played (or a stop); False on timeout."""
        ...

    def report(self) -> PlaybackReport:
        """What has been heard of the current utterance."""
        ...

    @property
    def last_sound_t(self) -> float | None:
        """When the output last took audio (monotonic seconds), None before any sound."""
        ...

    def spoken_text(self) -> str:
        """Shortcut for ``report().spoken_text``."""
        ...

    def close(self) -> None:
        """Stop and release the output."""
        ...


@dataclass
class _Clause:
    text: str
    total_samples: int
    played_samples: int = 0


class QueuedSink:
    """The player every sink shares: bounded block queue, stop, wait and the heard-text ledger.

    Subclasses deliver audio by calling :meth:`_pull` from their output side (a PortAudio
    callback or a consumer thread) and release resources in :meth:`close`. All public methods
    are thread-safe.
    """

    def __init__(
        self,
        sample_rate_hz: int,
        block_ms: int = DEFAULT_BLOCK_MS,
        max_queued_ms: int = DEFAULT_MAX_QUEUED_MS,
    ):
        """Set the format and the queue bound.

        Args:
            sample_rate_hz: rate of the audio given to ``play`` and sent to the output.
            block_ms: size of the blocks the output pulls; a stop takes effect within one.
            max_queued_ms: most audio waiting in the queue; ``play`` blocks beyond it.
        """
        if sample_rate_hz <= 0:
            raise ConfigError(f"sample rate must be positive, got {sample_rate_hz} Hz")
        if not MIN_BLOCK_MS <= block_ms <= MAX_BLOCK_MS:
            raise ConfigError(
                f"audio block must be {MIN_BLOCK_MS}-{MAX_BLOCK_MS} ms, got {block_ms} ms"
            )
        if max_queued_ms < block_ms:
            raise ConfigError(
                f"playback queue ({max_queued_ms} ms) must hold at least one block ({block_ms} ms)"
            )
        self._sample_rate_hz = sample_rate_hz
        self.block_samples = sample_rate_hz * block_ms // 1000
        self.max_queued_blocks = max_queued_ms // block_ms
        self._cond = threading.Condition()
        # (clause index, samples); the head block may be partly played, see _head_offset.
        self._queue: collections.deque[tuple[int, np.ndarray]] = collections.deque()
        self._head_offset = 0
        self._clauses: list[_Clause] = []
        self._sounding = False  # the output pulled audio on its last pull
        self._last_sound_t: float | None = None  # monotonic time of that pull
        self._stopped = False
        self._interrupted = False
        self._closed = False
        self._held = False  # hold(): the output plays silence, the queue waits
        # Bumped by stop() and begin_utterance(): a play() still blocked from an earlier
        # utterance sees the change and gives up instead of leaking into the new one.
        self._generation = 0

    @property
    def sample_rate_hz(self) -> int:
        """Rate of the samples ``play`` accepts."""
        return self._sample_rate_hz

    @property
    def last_sound_t(self) -> float | None:
        """When the output last took audio (monotonic seconds); None before the first sound.
        What the microphone may hear of the agent's own voice is dated from it."""
        with self._cond:
            return self._last_sound_t

    @property
    def queued_blocks(self) -> int:
        """Blocks waiting in the queue (for observers and tests of the bound)."""
        with self._cond:
            return len(self._queue)

    def begin_utterance(self) -> None:
        """Start a new utterance: clear the ledger and accept audio again after a stop."""
        with self._cond:
            self._queue.clear()
            self._head_offset = 0
            self._clauses = []
            self._stopped = False
            self._interrupted = False
            self._held = False
            self._generation += 1
            self._cond.notify_all()

    def play(self, samples: np.ndarray, text: str = "") -> bool:
        """Queue float32 mono ``samples`` (in [-1, 1]) that speak ``text``.

        Blocks while the queue is full. Returns False, dropping the audio, if the sink is or
        becomes stopped (or closed) before all of it is queued.
        """
        audio = np.array(samples, dtype=np.float32)  # a copy: the caller may reuse its buffer
        if audio.ndim != 1:
            raise ValueError(f"play() takes mono samples (1-D), got shape {audio.shape}")
        with self._cond:
            generation = self._generation

            def cancelled() -> bool:
                return self._stopped or self._closed or self._generation != generation

            if cancelled():
                return False
            if not audio.size:
                return True
            index = len(self._clauses)
            self._clauses.append(_Clause(text, audio.size))
            self._cond.notify_all()
            for start in range(0, audio.size, self.block_samples):
                while len(self._queue) >= self.max_queued_blocks and not cancelled():
                    self._cond.wait()
                if cancelled():
                    return False
                self._queue.append((index, audio[start : start + self.block_samples]))
                self._cond.notify_all()
        return True

    def stop(self) -> None:
        """Drop everything queued; sound ends once the block already pulled has played."""
        with self._cond:
            if self._queue or self._sounding:
                self._interrupted = True
            self._queue.clear()
            self._head_offset = 0
            self._stopped = True
            self._held = False
            self._generation += 1
            self._cond.notify_all()
        logger.debug("playback stopped")

    def hold(self) -> None:
        """Pause: the output plays silence from its next block on and the queue keeps its
        audio, mid-block included; :meth:`wait` goes on waiting. Why: speech over the agent
        may be a person cutting in or only an "ừ"; holding stops the sound (and with it the
        echo that masks the person) within one block, before that is known, and a
        :meth:`release` then loses no word. A :meth:`stop` or a new utterance ends the hold."""
        with self._cond:
            self._held = True
            self._cond.notify_all()

    def release(self) -> None:
        """End a :meth:`hold`: playback goes on where it paused."""
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @property
    def held(self) -> bool:
        with self._cond:
            return self._held

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the queue has played out or the sink was stopped; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._stopped or self._closed or not (self._queue or self._sounding),
                timeout=timeout_s,
            )

    def report(self) -> PlaybackReport:
        """What the listener has heard of the current utterance so far."""
        with self._cond:
            parts = [_heard_words(clause) for clause in self._clauses]
            played = sum(clause.played_samples for clause in self._clauses)
            interrupted = self._interrupted
        return PlaybackReport(
            spoken_text=" ".join(part for part in parts if part),
            played_s=played / self._sample_rate_hz,
            interrupted=interrupted,
        )

    def spoken_text(self) -> str:
        """The text heard so far in the current utterance (see :class:`PlaybackReport`)."""
        return self.report().spoken_text

    def close(self) -> None:
        """Stop playback and wake every waiter; subclasses also release their output."""
        with self._cond:
            self._queue.clear()
            self._head_offset = 0
            self._closed = True
            self._cond.notify_all()

    def __enter__(self) -> QueuedSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _pull(self, frames: int) -> tuple[np.ndarray, int]:
        """Take up to ``frames`` samples for the output, zero-padded to ``frames``.

        Returns the block and how many of its samples are real audio. Never blocks for long:
        the PortAudio callback calls it.
        """
        out = np.zeros(frames, dtype=np.float32)
        filled = 0
        with self._cond:
            while filled < frames and self._queue and not self._held:
                index, block = self._queue[0]
                take = min(frames - filled, block.size - self._head_offset)
                out[filled : filled + take] = block[self._head_offset : self._head_offset + take]
                self._clauses[index].played_samples += take
                filled += take
                self._head_offset += take
                if self._head_offset == block.size:
                    self._queue.popleft()
                    self._head_offset = 0
            self._sounding = filled > 0
            if filled:
                self._last_sound_t = time.monotonic()
            self._cond.notify_all()
        return out, filled


def _heard_words(clause: _Clause) -> str:
    if clause.played_samples <= 0:
        return ""
    if clause.played_samples >= clause.total_samples:
        return clause.text
    words = clause.text.split()
    heard = math.floor(len(words) * clause.played_samples / clause.total_samples)
    return " ".join(words[:heard])


class ThreadedSink(QueuedSink):
    """A sink whose output is a consumer thread, optionally paced like a real speaker."""

    def __init__(
        self,
        sample_rate_hz: int,
        block_ms: int,
        max_queued_ms: int,
        realtime: bool,
        name: str,
    ):
        super().__init__(sample_rate_hz, block_ms, max_queued_ms)
        self._block_s = self.block_samples / sample_rate_hz
        self._realtime = realtime
        self._thread = threading.Thread(target=self._consume, name=name, daemon=True)
        self._thread.start()

    def _write(self, block: np.ndarray) -> None:
        """Deliver one block of real audio (consumer thread only)."""
        raise NotImplementedError

    def _consume(self) -> None:
        deadline = time.monotonic()
        while True:
            with self._cond:
                # Idle: no spinning, and the next audio starts "now" rather than in the past.
                while (not self._queue or self._held) and not self._closed:
                    self._sounding = False
                    self._cond.notify_all()
                    self._cond.wait()
                    deadline = time.monotonic()
                if self._closed:
                    return
            block, filled = self._pull(self.block_samples)
            if filled:
                self._write(block[:filled])
            if self._realtime:
                # A speaker takes a block's duration to play it, whether or not it was full.
                deadline += self._block_s
                time.sleep(max(0.0, deadline - time.monotonic()))
            else:
                with self._cond:
                    self._sounding = False
                    self._cond.notify_all()

    def close(self) -> None:
        """Stop playback and end the consumer thread."""
        super().close()
        if threading.current_thread() is not self._thread:
            self._thread.join()


class MemorySink(ThreadedSink):
    """Keeps played audio in memory, consuming it at the speed of a speaker.

    With ``realtime=False`` it consumes as fast as audio arrives (benchmarks that only measure
    synthesis).
    """

    def __init__(
        self,
        sample_rate_hz: int,
        block_ms: int = DEFAULT_BLOCK_MS,
        max_queued_ms: int = DEFAULT_MAX_QUEUED_MS,
        realtime: bool = True,
    ):
        """See :class:`QueuedSink` for the arguments; ``realtime`` paces the consumer."""
        self._blocks: list[np.ndarray] = []
        self._blocks_lock = threading.Lock()
        super().__init__(sample_rate_hz, block_ms, max_queued_ms, realtime, "edgevox-memory-sink")

    def _write(self, block: np.ndarray) -> None:
        with self._blocks_lock:
            self._blocks.append(block.copy())

    def played_audio(self) -> np.ndarray:
        """All audio played so far, concatenated (float32)."""
        with self._blocks_lock:
            if not self._blocks:
                return np.zeros(0, dtype=np.float32)
            return np.concatenate(self._blocks)


class WavFileSink(MemorySink):
    """Collects played audio and writes it, with its mark, to a WAV file on close.

    ``mark`` decides what the file says about itself (:mod:`edgevox.audio.marking` writes it);
    edgevox's own callers pass :func:`edgevox.trust.marking.speech_marker`, so every reply it
    writes is marked as AI-generated speech. It runs at close, when the spoken text is known,
    which is also why the file is written whole at the end rather than streamed. Without a
    ``mark`` the file claims nothing: no INFO chunk, and a sidecar with only format and hashes.
    """

    def __init__(
        self,
        path: str | Path,
        sample_rate_hz: int,
        block_ms: int = DEFAULT_BLOCK_MS,
        max_queued_ms: int = DEFAULT_MAX_QUEUED_MS,
        *,
        mark: Marker | None = None,
    ):
        """Check ``path`` is writable now (an error after a long synthesis helps nobody)."""
        self.path = Path(path)
        self.mark = mark
        if not self.path.parent.is_dir() or not os.access(self.path.parent, os.W_OK):
            raise AudioError(f"cannot write WAV file {self.path}: its folder does not exist or "
                             "is not writable; choose a writable path")
        super().__init__(sample_rate_hz, block_ms, max_queued_ms, realtime=False)

    def close(self) -> None:
        """Write what was played (call :meth:`wait` first to keep what is still queued)."""
        super().close()
        text = self.spoken_text() or None
        write_marked_wav(self.path, self.played_audio(), self.sample_rate_hz,
                         self.mark(text) if self.mark else WavMark({}))


class TranscriptSink:
    """A sink for devices without a usable voice: clauses are "played" as text instantly.

    Lets the whole loop (and its latencies up to speech synthesis) run where no voice for the
    language is installed, without ever speaking the reply in another language.
    """

    sample_rate_hz = SAMPLE_RATE_HZ

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._stopped = False

    def begin_utterance(self) -> None:
        self._texts.clear()
        self._stopped = False

    def play(self, samples: np.ndarray, text: str = "") -> bool:
        if self._stopped:
            return False
        self._texts.append(text)
        return True

    def stop(self) -> None:
        self._stopped = True

    def hold(self) -> None:
        """Nothing sounds, so nothing is paused."""

    def release(self) -> None:
        """Nothing was paused."""

    def wait(self, timeout_s: float | None = None) -> bool:
        return True

    def report(self) -> PlaybackReport:
        return PlaybackReport(self.spoken_text(), 0.0, self._stopped)

    @property
    def last_sound_t(self) -> float | None:
        """Never: text makes no sound, so there is no echo to guard against."""
        return None

    def spoken_text(self) -> str:
        return " ".join(t for t in self._texts if t)

    def close(self) -> None:
        """Nothing to release."""


class SoundDeviceSink(QueuedSink):
    """Plays through a sound card with PortAudio (the ``sounddevice`` package)."""

    def __init__(
        self,
        sample_rate_hz: int,
        device: int | str | None = None,
        block_ms: int = DEFAULT_BLOCK_MS,
        max_queued_ms: int = DEFAULT_MAX_QUEUED_MS,
    ):
        """Open and start an output stream on ``device`` (None: the system default).

        Raises AudioError when sounddevice or PortAudio is missing, no output device exists,
        or the device refuses the format.
        """
        super().__init__(sample_rate_hz, block_ms, max_queued_ms)
        sd = import_sounddevice()
        try:
            sd.check_output_settings(
                device=device, channels=1, dtype="float32", samplerate=sample_rate_hz
            )
            self._stream = sd.OutputStream(
                samplerate=sample_rate_hz,
                blocksize=self.block_samples,
                device=device,
                channels=1,
                dtype="float32",
                latency="low",
                callback=self._callback,
            )
            self._stream.start()
        except (ValueError, sd.PortAudioError) as exc:
            which = "the default output device" if device is None else f"output device {device!r}"
            raise AudioError(
                f"cannot play {sample_rate_hz} Hz audio on {which}: {exc}. "
                "List devices with `python -m sounddevice`, pick another one, "
                "or write to a WAV file instead"
            ) from exc

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status:
            logger.debug("audio output status: %s", status)
        outdata[:, 0], _ = self._pull(frames)

    def close(self) -> None:
        """Stop playback and close the stream."""
        super().close()
        self._stream.close()


def import_sounddevice() -> Any:
    try:
        import sounddevice  # PortAudio loads only when a speaker is used
    except ImportError as exc:
        raise AudioError(
            "speaker output needs the sounddevice package: pip install sounddevice"
        ) from exc
    except OSError as exc:
        raise AudioError(
            f"speaker output needs the PortAudio library ({exc}): "
            "install it, e.g. `sudo apt-get install libportaudio2`"
        ) from exc
    return sounddevice
