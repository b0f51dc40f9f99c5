"""Speech output: the Synthesizer protocol, the Piper backend and the clause chunker.

:func:`speak_text` is the small loop behind ``edgevox say`` and the agent's speaking side:
clauses come out of the chunker as soon as they are complete, each is synthesised and queued to
the sink while the previous one plays. Text is normalised inside the synthesizer, clause by
clause, so the sink's ledger of heard text keeps the written form (``1.250.000 đồng``, not its
spoken words). Importing this package loads no native engine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
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
    "speak_text",
    "split_clauses",
]

logger = logging.getLogger(__name__)


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


def speak_text(
    text: str | Iterable[str],
    synthesizer: Synthesizer,
    sink: AudioSink,
    chunker: ClauseChunker | None = None,
    wait: bool = True,
) -> SpeechTimings:
    """Speak ``text`` (a string, or a stream of tokens such as an LLM's) through ``sink``.

    Starts a new utterance on the sink. Returns early, dropping the rest, if the sink is stopped
    (barge-in); with ``wait`` it returns once the audio has played.
    """
    import numpy as np  # here, to keep `import edgevox.tts` light

    if sink.sample_rate_hz != synthesizer.sample_rate_hz:
        raise AudioError(
            f"the audio output runs at {sink.sample_rate_hz} Hz but the voice speaks at "
            f"{synthesizer.sample_rate_hz} Hz; open the output at the voice's rate"
        )
    chunker = chunker if chunker is not None else clause_chunker(synthesizer)
    tokens = [text] if isinstance(text, str) else text
    sink.begin_utterance()
    start = time.perf_counter()
    first_clause_s = first_audio_s = None
    audio_samples = 0
    synth_s = 0.0
    clauses = 0
    stopped = False

    def ready_clauses() -> Iterable[str]:
        for token in tokens:
            yield from chunker.feed(token)
        yield from chunker.flush()

    for clause in ready_clauses():
        clause_ready = time.perf_counter()
        if first_clause_s is None:
            first_clause_s = clause_ready - start
        # One clause is queued as a whole so the ledger can map its samples to its words.
        blocks = list(synthesizer.synthesize(clause))
        synth_s += time.perf_counter() - clause_ready
        if not blocks:
            continue
        audio = np.concatenate(blocks)
        if first_audio_s is None:
            first_audio_s = time.perf_counter() - clause_ready
        if not sink.play(audio, text=clause):
            stopped = True
            chunker.flush()  # forget the rest of this utterance
            break
        audio_samples += audio.size
        clauses += 1
    if wait and not stopped:
        sink.wait()
    timings = SpeechTimings(
        first_clause_s=first_clause_s,
        first_audio_s=first_audio_s,
        audio_s=audio_samples / synthesizer.sample_rate_hz,
        synth_s=synth_s,
        clauses=clauses,
        stopped=stopped,
    )
    logger.debug("spoke %d clauses: %s", clauses, timings)
    return timings
