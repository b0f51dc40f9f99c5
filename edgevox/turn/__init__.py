"""End of turn: when has the person finished speaking?

A fixed silence is a bad judge: too short and a thinking pause ("đặt báo thức lúc... bảy giờ")
cuts the request in half; too long and every answer feels slow. With Smart Turn the detector
asks the model once the silence reaches ``min_silence_ms``: if the speaker sounds finished the
turn ends right there, otherwise it waits, asks again at ``hangover_ms``, and only gives up at
``max_silence_ms``. Without Smart Turn a plain ``hangover_ms`` silence ends the turn.

Smart Turn hears prosody, not words, and read or hesitant Vietnamese often *sounds* finished at a
phrase break. So the streaming transcript gets a say too: a turn whose words so far end in a
function word that cannot close a Vietnamese sentence ("đặt báo thức lúc", "anh ấy nói rằng",
"bật đèn và") is mid-phrase, and only ``max_silence_ms`` ends it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgevox.turn.smart_turn import SmartTurn

# Words after which a Vietnamese sentence cannot end: conjunctions, prepositions, the copula,
# quantifiers and the words that announce a time or a level. Kept to unambiguous ones: a word
# that often closes a sentence too ("đi", "về", "hay", "sau", the particles "mà", "nên")
# is left out.
CONTINUATION_WORDS = frozenset({
    "và", "hoặc", "nhưng", "thì", "là", "của", "với", "để", "lúc", "vào", "tại", "từ", "đến",
    "tới", "rằng", "nếu", "khi", "vì", "bởi", "các", "những", "mỗi", "mọi", "cho", "ở", "trong",
    "mức", "khoảng",
})


def ends_mid_phrase(transcript: str) -> bool:
    """Whether the words heard so far stop on a word that needs more after it."""
    words = transcript.lower().split()
    return bool(words) and words[-1] in CONTINUATION_WORDS


@dataclass(frozen=True)
class TurnDecision:
    """Why a turn ended: the silence it took, and Smart Turn's verdict if it was asked."""

    silence_ms: float
    probability_complete: float | None
    reason: str  # "smart_turn", "hangover" or "max_silence"


class EndOfTurnDetector:
    """Decides, frame by frame during silence, whether the current turn is over."""

    def __init__(self, smart_turn: SmartTurn | None = None, *, hangover_ms: int = 800,
                 min_silence_ms: int = 200, max_silence_ms: int = 1600,
                 threshold: float = 0.5) -> None:
        self.smart_turn = smart_turn
        self.hangover_ms = hangover_ms
        self.min_silence_ms = min_silence_ms
        self.max_silence_ms = max_silence_ms
        self.threshold = threshold
        self._checkpoints: list[int] = []
        self.last_probability: float | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the verdicts of the previous silence (speech resumed, or a new turn)."""
        self._checkpoints = [self.min_silence_ms, self.hangover_ms]
        self.last_probability = None

    def update(self, silence_ms: float, turn_audio: np.ndarray,
               transcript: str = "") -> TurnDecision | None:
        """Called after each silent frame with the turn's audio and its words so far; returns
        a decision once the turn is over."""
        if ends_mid_phrase(transcript):
            if silence_ms >= self.max_silence_ms:
                return TurnDecision(silence_ms, None, "max_silence")
            return None
        if self.smart_turn is None:
            if silence_ms >= self.hangover_ms:
                return TurnDecision(silence_ms, None, "hangover")
            return None
        if self._checkpoints and silence_ms >= self._checkpoints[0]:
            self._checkpoints.pop(0)
            self.last_probability = self.smart_turn.probability_complete(turn_audio)
            if self.last_probability >= self.threshold:
                return TurnDecision(silence_ms, self.last_probability, "smart_turn")
        if silence_ms >= self.max_silence_ms:
            return TurnDecision(silence_ms, self.last_probability, "max_silence")
        return None
