"""Listening: audio blocks in, turn events out (VAD -> streaming ASR -> end of turn).

The listener is push-driven (``feed`` a block, get the events it caused) so the same code
serves a microphone thread, a WAV file fed as fast as possible, and audio arriving over the
daemon's WebSocket. Times inside a turn are measured on the audio clock (samples heard), which
makes end-of-turn delays reproducible from a file; each event still carries the monotonic wall
time at which it was emitted.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.level import AutoGain
from edgevox.events import EndOfTurn, Event, FinalTranscript, PartialTranscript, SpeechStarted
from edgevox.runtime.turns import TurnIds
from edgevox.turn import EndOfTurnDetector
from edgevox.vad import VoiceActivityDetector

if TYPE_CHECKING:
    from edgevox.asr.sherpa import Recognizer, RecognizerStream

_SAMPLES_PER_MS = SAMPLE_RATE_HZ // 1000



@dataclass
class _Turn:
    turn_id: int
    stream: RecognizerStream
    audio: list[np.ndarray] = field(default_factory=list)
    audio_samples: int = 0
    last_voiced_sample: int = 0
    pending: list[np.ndarray] = field(default_factory=list)
    pending_samples: int = 0
    partial: str = ""
    partials: list[str] = field(default_factory=list)
    decode_s: float = 0.0


class Listener:
    """Segments audio into turns and transcribes each one while it is spoken."""

    def __init__(self, recognizer: Recognizer, vad: VoiceActivityDetector,
                 end_of_turn: EndOfTurnDetector, *, chunk_ms: int = 100,
                 min_speech_ms: int = 250, speech_pad_ms: int = 600,
                 turn_ids: TurnIds | None = None, auto_gain: bool = True) -> None:
        """``auto_gain``: lift a distant talker to the recogniser's level first (see
        :mod:`edgevox.audio.level`)."""
        self.recognizer = recognizer
        self.vad = vad
        self.end_of_turn = end_of_turn
        self.chunk_samples = SAMPLE_RATE_HZ * chunk_ms // 1000
        self.min_speech_samples = SAMPLE_RATE_HZ * min_speech_ms // 1000
        pad_frames = max(1, SAMPLE_RATE_HZ * speech_pad_ms // 1000 // vad.frame_samples)
        self._preroll: collections.deque[np.ndarray] = collections.deque(maxlen=pad_frames)
        self._candidate: list[np.ndarray] = []  # voiced frames not yet long enough to count
        self._frame_buffer = np.zeros(0, dtype=np.float32)
        self.auto_gain = AutoGain(vad.frame_samples) if auto_gain else None
        self._turn: _Turn | None = None
        self.voiced_ms = 0.0
        """Speech the VAD has heard in the current run of voiced frames, one unvoiced frame
        between them forgiven (0 after two in a row), inside a turn or not: the first sign of
        a person talking over the agent, before the ``min_speech_ms`` that open a turn. Speech
        that pokes out of an echo canceller's output flickers frame by frame."""
        self._unvoiced_frames = 0
        self.turn_ids = turn_ids or TurnIds()
        """Where turn ids come from; the agent opens its typed turns from the same counter."""

    @property
    def in_turn(self) -> bool:
        return self._turn is not None

    @property
    def turn_id(self) -> int | None:
        """The open turn's id, None between turns."""
        turn = self._turn
        return None if turn is None else turn.turn_id

    def feed(self, block: np.ndarray, *, learn_level: bool = True) -> list[Event]:
        """Process one block of 16 kHz mono float32 audio; return the events it caused.
        ``learn_level``: the automatic gain may learn the talker's level from it (not while
        the agent's own voice may be in it)."""
        events: list[Event] = []
        self._frame_buffer = np.concatenate([self._frame_buffer, block.astype(np.float32)])
        size = self.vad.frame_samples
        while self._frame_buffer.size >= size:
            frame, self._frame_buffer = self._frame_buffer[:size], self._frame_buffer[size:]
            if self.auto_gain is not None:
                frame = self.auto_gain.process(frame, learn=learn_level)
            voiced = self.vad.is_speech(frame)
            self._unvoiced_frames = 0 if voiced else self._unvoiced_frames + 1
            if voiced:
                self.voiced_ms += size / _SAMPLES_PER_MS
            elif self._unvoiced_frames > 1:
                self.voiced_ms = 0.0
            events += self._on_frame(frame, voiced)
        return events

    def flush(self) -> list[Event]:
        """End of input: finish an open turn as if the speaker had stopped."""
        if self._turn is None:
            return []
        silence_ms = (self._turn.audio_samples - self._turn.last_voiced_sample) / _SAMPLES_PER_MS
        return self._finish_turn({"silence_ms": round(silence_ms), "reason": "end_of_input",
                                  "probability_complete": None})

    # -- per frame
    def _on_frame(self, frame: np.ndarray, voiced: bool) -> list[Event]:
        if self._turn is None:
            return self._while_idle(frame, voiced)
        turn = self._turn
        self._append(turn, frame)
        events = self._decode_ready(turn)
        if voiced:
            turn.last_voiced_sample = turn.audio_samples
            self.end_of_turn.reset()
            return events
        silence_ms = (turn.audio_samples - turn.last_voiced_sample) / _SAMPLES_PER_MS
        decision = self.end_of_turn.update(silence_ms, self._turn_audio(turn), turn.partial)
        if decision is not None:
            events += self._finish_turn({"silence_ms": round(decision.silence_ms),
                                         "reason": decision.reason,
                                         "probability_complete": decision.probability_complete})
        return events

    def _while_idle(self, frame: np.ndarray, voiced: bool) -> list[Event]:
        if not voiced:
            self._preroll.extend(self._candidate)
            self._candidate.clear()
            self._preroll.append(frame)
            return []
        self._candidate.append(frame)
        if sum(f.size for f in self._candidate) < self.min_speech_samples:
            return []
        return self._start_turn()

    def _start_turn(self) -> list[Event]:
        turn = _Turn(self.turn_ids.next(), self.recognizer.create_stream())
        self._turn = turn
        self.end_of_turn.reset()
        for frame in self._preroll:
            self._append(turn, frame)
        for frame in self._candidate:
            self._append(turn, frame)
        turn.last_voiced_sample = turn.audio_samples
        self._preroll.clear()
        self._candidate.clear()
        started = SpeechStarted(round(turn.audio_samples / _SAMPLES_PER_MS)).event(turn.turn_id)
        return [started, *self._decode_ready(turn)]

    def _append(self, turn: _Turn, frame: np.ndarray) -> None:
        turn.audio.append(frame)
        turn.audio_samples += frame.size
        turn.pending.append(frame)
        turn.pending_samples += frame.size

    def _decode_ready(self, turn: _Turn) -> list[Event]:
        """Feed the recogniser whole chunks; report the hypothesis when it changes."""
        if turn.pending_samples < self.chunk_samples:
            return []
        chunk = np.concatenate(turn.pending)
        turn.pending.clear()
        turn.pending_samples = 0
        started = time.perf_counter()
        turn.stream.accept(chunk)
        text = turn.stream.partial()
        turn.decode_s += time.perf_counter() - started
        if text and text != turn.partial:
            turn.partial = text
            turn.partials.append(text)
            audio_s = round(turn.audio_samples / SAMPLE_RATE_HZ, 3)
            return [PartialTranscript(text, audio_s).event(turn.turn_id)]
        return []

    def _turn_audio(self, turn: _Turn) -> np.ndarray:
        """The turn so far (only the last 8 s are used by Smart Turn)."""
        if len(turn.audio) > 1:
            turn.audio = [np.concatenate(turn.audio)]
        return turn.audio[0]

    def _finish_turn(self, decision: dict) -> list[Event]:
        turn = self._turn
        assert turn is not None
        self._turn = None
        eot = EndOfTurn(decision["silence_ms"], decision["reason"],
                        decision["probability_complete"]).event(turn.turn_id)
        started = time.perf_counter()
        if turn.pending:
            turn.stream.accept(np.concatenate(turn.pending))
        text = turn.stream.finish()
        turn.decode_s += time.perf_counter() - started
        final = FinalTranscript(
            text, audio_s=round(turn.audio_samples / SAMPLE_RATE_HZ, 3),
            decode_s=round(turn.decode_s, 4), finalize_s=round(time.perf_counter() - started, 4),
            partials=turn.partials).event(turn.turn_id)
        self.end_of_turn.reset()
        return [eot, final]


@dataclass
class Transcript:
    """Everything one input produced: joined text, per-turn details and the cost."""

    text: str
    audio_s: float
    decode_s: float
    partials: list[str]
    turns: list[dict[str, Any]]

    @property
    def rtf(self) -> float:
        return self.decode_s / self.audio_s if self.audio_s else 0.0


def transcribe(listener: Listener, blocks: Iterable[np.ndarray]) -> Transcript:
    """Run ``blocks`` through ``listener`` to the end; ``decode_s`` counts only processing time
    (VAD, ASR, end of turn), never the pacing of a real-time source."""
    events: list[Event] = []
    audio_samples = 0
    busy_s = 0.0
    for block in blocks:
        audio_samples += block.size
        started = time.perf_counter()
        events += listener.feed(block)
        busy_s += time.perf_counter() - started
    started = time.perf_counter()
    events += listener.flush()
    busy_s += time.perf_counter() - started
    ends = {e.turn_id: EndOfTurn.of(e) for e in events if e.type == "end_of_turn"}
    finals = [(e.turn_id, FinalTranscript.of(e)) for e in events if e.type == "final_transcript"]
    turns = [{"text": final.text, "audio_s": final.audio_s,
              "eot_delay_ms": ends[turn_id].eot_delay_ms, "reason": ends[turn_id].reason}
             for turn_id, final in finals]
    text = " ".join(final.text for _, final in finals if final.text)
    partials = [PartialTranscript.of(e).text for e in events if e.type == "partial_transcript"]
    return Transcript(text, audio_samples / SAMPLE_RATE_HZ, busy_s, partials, turns)
