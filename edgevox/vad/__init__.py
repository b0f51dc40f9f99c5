"""Voice activity detection: is this frame speech?

Two backends behind one small interface. webrtcvad needs no model and costs almost nothing;
Silero (run by sherpa-onnx) is far more robust to noise and music. Both only answer per frame:
shaping frames into speech segments and turns (minimum speech, padding, hangover) is the
listener's and the turn detector's job, so the two backends behave the same everywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.errors import ModelError


class VoiceActivityDetector(Protocol):
    frame_samples: int

    def is_speech(self, frame: np.ndarray) -> bool:
        """Whether one frame of exactly ``frame_samples`` float32 samples holds speech."""
        ...


class WebRtcVad:
    """Google's WebRTC VAD; ``aggressiveness`` 0 (keeps most audio) to 3 (strictest)."""

    def __init__(self, aggressiveness: int = 2, frame_ms: int = 30) -> None:
        import webrtcvad

        if frame_ms not in (10, 20, 30):
            raise ValueError("webrtcvad frames must be 10, 20 or 30 ms")
        self._vad = webrtcvad.Vad(aggressiveness)
        self.frame_samples = SAMPLE_RATE_HZ * frame_ms // 1000

    def is_speech(self, frame: np.ndarray) -> bool:
        pcm = (np.clip(frame, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        return self._vad.is_speech(pcm, SAMPLE_RATE_HZ)


class SileroVad:
    """Silero VAD through sherpa-onnx's VoiceActivityDetector, one 32 ms window at a time.

    sherpa's own segmenter is set to react to single windows; its finished segments are dropped
    as they appear so memory stays flat over a long session.
    """

    frame_samples = 512  # the window Silero v5+ is trained on at 16 kHz

    def __init__(self, model_path: Path, threshold: float = 0.5, num_threads: int = 1) -> None:
        if not Path(model_path).is_file():
            raise ModelError(f"Silero VAD model not found at {model_path}; "
                             "run: edgevox models pull silero-vad")
        import sherpa_onnx

        config = sherpa_onnx.VadModelConfig()
        config.silero_vad.model = str(model_path)
        config.silero_vad.threshold = threshold
        config.silero_vad.min_silence_duration = 0.05
        config.silero_vad.min_speech_duration = 0.03
        config.silero_vad.window_size = self.frame_samples
        config.sample_rate = SAMPLE_RATE_HZ
        config.num_threads = num_threads
        self._vad = sherpa_onnx.VoiceActivityDetector(config, buffer_size_in_seconds=30)

    def is_speech(self, frame: np.ndarray) -> bool:
        self._vad.accept_waveform(frame)
        while not self._vad.empty():
            self._vad.pop()
        return bool(self._vad.is_speech_detected())


def load_vad(backend: str, *, model_path: Path | None = None, aggressiveness: int = 2,
             frame_ms: int = 30, threshold: float = 0.5) -> VoiceActivityDetector:
    """The configured backend; Silero needs the ``silero-vad`` model's path."""
    if backend == "webrtc":
        return WebRtcVad(aggressiveness, frame_ms)
    if model_path is None:
        raise ModelError("Silero VAD needs its model; run: edgevox models pull silero-vad")
    return SileroVad(model_path, threshold)
