"""Smart Turn v3: has the speaker finished, judged from how the last 8 s of the turn sound?

Silence alone cannot tell "I want to set an alarm for... seven" from a finished request; Smart
Turn hears intonation and trailing words. The model expects Whisper-style log-mel features, so
this module computes them exactly the way it was trained (see :func:`log_mel_features`); any
drift here silently degrades its judgement.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.errors import ModelError

WINDOW_S = 8
_N_FFT = 400
_HOP = 160
_N_MELS = 80


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz * 3.0 / 200.0
    log_part = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * 200.0 / 3.0
    log_part = 1000.0 * np.exp((mel - 15.0) * (np.log(6.4) / 27.0))
    return np.where(mel >= 15.0, log_part, linear)


@cache
def _mel_filterbank() -> np.ndarray:
    """(n_mels, n_fft/2+1) triangular filters, area-normalised (Slaney), 0 Hz to Nyquist."""
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE_HZ / 2),
                                      _N_MELS + 2))
    bins_hz = np.linspace(0.0, SAMPLE_RATE_HZ / 2, _N_FFT // 2 + 1)
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bins_hz[None, :]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (upper - lower))


@cache
def _hann() -> np.ndarray:
    """Periodic Hann window (what torch.hann_window gives by default)."""
    n = np.arange(_N_FFT)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / _N_FFT)


def log_mel_features(audio: np.ndarray) -> np.ndarray:
    """(80, 800) features of the last 8 s of ``audio`` (16 kHz), as Smart Turn was trained.

    Steps: keep the last 8 s, zero-pad in front; normalise the waveform to zero mean and unit
    variance; power spectrogram (400-sample periodic Hann, hop 160, reflect-padded and
    centred); Slaney mel; log10 with a 1e-10 floor; drop the last frame; clamp to max-8; then
    (x + 4) / 4.
    """
    n = SAMPLE_RATE_HZ * WINDOW_S
    audio = np.asarray(audio, dtype=np.float64)[-n:]
    audio = np.concatenate([np.zeros(n - audio.size), audio])
    audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    padded = np.pad(audio, _N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=-1)) ** 2
    mel = np.log10(np.maximum(_mel_filterbank() @ power.T, 1e-10))[:, :-1]
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


class SmartTurn:
    """The Smart Turn v3 ONNX classifier; :meth:`probability_complete` in [0, 1]."""

    def __init__(self, model_path: Path, num_threads: int = 1) -> None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise ModelError(f"Smart Turn model not found at {model_path}; "
                             "run: edgevox models pull smart-turn-v3.2")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        # Spinning threads would steal the CPU the ASR and LLM need between calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(model_path), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"{model_path}: not a loadable ONNX model ({exc}); "
                             "run: edgevox models pull smart-turn-v3.2") from None
        self._input = self._session.get_inputs()[0].name

    def probability_complete(self, turn_audio: np.ndarray) -> float:
        features = log_mel_features(turn_audio)[None, :, :]
        (logits,) = self._session.run(None, {self._input: features})
        return float(np.asarray(logits).reshape(-1)[0])
