"""Speech output: the Synthesizer protocol, the Piper backend and the clause chunker.

:func:`speak` is the one speaking loop, behind ``edgevox say`` and the agent's speaking side:
clauses come out of the chunker as soon as they are complete, each is synthesised and queued to
the sink while the previous one plays. Text is normalised inside the synthesizer, clause by
clause, so the sink's ledger of heard text keeps the written form (``1.250.000 đồng``, not its
spoken words). Importing this package loads no native engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgevox.errors import AudioError
from edgevox.tts.chunker import ClauseChunker, split_clauses
from edgevox.tts.piper import PiperSynthesizer, Synthesizer

if TYPE_CHECKING:
    from edgevox.audio.sink import AudioSink

__all__ = [
    "ClauseChunker",
    "PiperSynthesizer",
    "SpeechTimings",
    "Synthesizer",
    "clause_chunker",
    "speak",
    "speak_text",
    "split_clauses",
]

logger = logging.getLogger(__name__)

_WAIT_POLL_S = 0.05  # how often a wait for playout checks for a cancel


@dataclass(frozen=True)
class SpeechTimings:
    """Where the time of one spoken utterance went."""

    first_clause_s: float | None
    """From the call to the first complete clause (waiting on the text source); None if none."""
    first_audio_s: float | None
    """From the first complete clause to its audio being queued for playback."""
    audio_s: float
    """Seconds of audio queued."""
    synth_s: float
    """Seconds spent synthesising (normalisation included)."""
    clauses: int
    """Clauses queued for playback."""
    stopped: bool
    """True if the sink was stopped before everything was queued."""

    @property
    def rtf(self) -> float | None:
        """Real-time factor of synthesis: seconds of compute per second of audio."""
        return self.synth_s / self.audio_s if self.audio_s else None


def clause_chunker(
    synthesizer: Synthesizer | None, max_chars: int = 120, first_max_chars: int = 36
) -> ClauseChunker:
    """A chunker whose limits count the characters ``synthesizer`` will actually speak.

    Without a synthesizer (a text-only agent) written characters are counted.
    """
    if synthesizer is None:
        return ClauseChunker(max_chars=max_chars, first_max_chars=first_max_chars)
    return ClauseChunker(max_chars=max_chars, first_max_chars=first_max_chars,
                         spoken_length=lambda text: len(synthesizer.spoken_text(text)))


def speak(
    clauses: Iterable[str],
    synthesizer: Synthesizer | None,
    sink: AudioSink,
    *,
    cancel: threading.Event | None = None,
    on_first_audio: Callable[[str, float | None], None] | None = None,
    wait: bool = True,
) -> SpeechTimings:
    """The speaking loop: synthesise each clause as it arrives and queue it to ``sink``.

    Behind ``edgevox say``, the agent's speak worker and the TTS bench alike. Starts a new
    utterance on the sink. ``on_first_audio(clause, synth_s)`` runs once, when the first
    clause's audio is ready and before it is queued (the agent reports ``speaking_started``
    there). Stops early, dropping the rest, when ``cancel`` is set or the sink is stopped
    (barge-in); with ``wait`` it returns once the audio has played or been stopped. Without a
    ``synthesizer`` (a text-only agent) each clause goes to the sink as text with no samples.
    """
    import numpy as np  # here, to keep `import edgevox.tts` light

    if synthesizer is not None and sink.sample_rate_hz != synthesizer.sample_rate_hz:
        raise AudioError(
            f"the audio output runs at {sink.sample_rate_hz} Hz but the voice speaks at "
            f"{synthesizer.sample_rate_hz} Hz; open the output at the voice's rate"
        )

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    sink.begin_utterance()
    start = time.perf_counter()
    first_clause_s = first_audio_s = None
    audio_samples = 0
    synth_s = 0.0
    clauses_played = 0
    stopped = False
    for clause in clauses:
        if cancelled():
            stopped = True
            break
        clause_ready = time.perf_counter()
        if first_clause_s is None:
            first_clause_s = clause_ready - start
        # One clause is queued as a whole so the ledger can map its samples to its words.
        if synthesizer is None:
            audio = np.zeros(0, dtype=np.float32)
        else:
            blocks = list(synthesizer.synthesize(clause))
            synth_s += time.perf_counter() - clause_ready
            if not blocks:
                continue
            audio = np.concatenate(blocks)
        if cancelled():
            stopped = True
            break
        if clauses_played == 0:
            if synthesizer is not None:
                first_audio_s = time.perf_counter() - clause_ready
            if on_first_audio is not None:
                on_first_audio(clause, first_audio_s)
        if not sink.play(audio, text=clause):
            stopped = True
            break
        audio_samples += audio.size
        clauses_played += 1
    if wait and not stopped:
        while not sink.wait(timeout_s=_WAIT_POLL_S):
            if cancelled():
                stopped = True
                break
    rate_hz = synthesizer.sample_rate_hz if synthesizer is not None else sink.sample_rate_hz
    timings = SpeechTimings(
        first_clause_s=first_clause_s,
        first_audio_s=first_audio_s,
        audio_s=audio_samples / rate_hz,
        synth_s=synth_s,
        clauses=clauses_played,
        stopped=stopped,
    )
    logger.debug("spoke %d clauses: %s", clauses_played, timings)
    return timings


def speak_text(
    text: str | Iterable[str],
    synthesizer: Synthesizer,
    sink: AudioSink,
    chunker: ClauseChunker | None = None,
    wait: bool = True,
) -> SpeechTimings:
    """Speak ``text`` (a string, or a stream of tokens such as an LLM's) through ``sink``,
    clause by clause as the chunker completes them (see :func:`speak`)."""
    chunker = chunker if chunker is not None else clause_chunker(synthesizer)
    tokens = [text] if isinstance(text, str) else text

    def ready_clauses() -> Iterator[str]:
        for token in tokens:
            yield from chunker.feed(token)
        yield from chunker.flush()

    timings = speak(ready_clauses(), synthesizer, sink, wait=wait)
    if timings.stopped:
        chunker.flush()  # forget the rest of this utterance: a reused chunker starts clean
    return timings
