"""Acoustic echo cancellation: remove what the loudspeaker played from what the microphone hears.

The backend is the WebRTC audio processing module (AEC3 echo canceller, noise suppression,
high-pass filter, optional AGC) inside the ``livekit`` rtc package: the one well-kept build of it
with prebuilt wheels for Linux x86_64 and aarch64 (``aec-audio-processing``, the other
candidate, has Linux only as an sdist that needs meson, swig and a C++ toolchain). livekit is
imported when a canceller is created, never with this module: its native library starts a small
thread pool as soon as it loads, which a process that never cancels echo should not pay for.

The APM takes exact 10 ms frames of int16 PCM; callers hand over blocks of any length. The far
end goes to the APM as soon as a whole frame of it has arrived. The microphone keeps a carry of
less than one frame, and :meth:`WebRtcEchoCanceller.process` returns its audio one frame late,
padded with silence at the start, so every call returns exactly as many samples as it got; with
the APM's own look-ahead the cleaned audio is :data:`LATENCY_MS` (20 ms) behind the microphone,
whatever the block lengths.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Protocol

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.errors import AudioError

FRAME_MS = 10
"""The APM's frame: it accepts nothing shorter or longer."""

FRAME_SAMPLES = SAMPLE_RATE_HZ * FRAME_MS // 1000

CARRY_MS = FRAME_MS
"""The delay the framing adds. One frame is the least constant delay that serves every block
length (a 15 ms block leaves 5 ms that cannot be processed until more arrives); processing that
rest at once, zero-padded, would show the canceller gaps that never happened and put the
microphone out of step with the far end. Blocks of whole frames could go through with no
carry, but then the delay would change with the block length."""

APM_DELAY_MS = 10
"""The APM's own look-ahead, measured: 4 ms in AEC3 (its 64-sample block) and 6 ms in the noise
suppressor (its overlapping FFT frames); the same with AGC on or off."""

LATENCY_MS = CARRY_MS + APM_DELAY_MS
"""How far the output of ``process`` lags its input; constant, checked by the tests."""

APM_MODULE = "livekit.rtc"
INSTALL_HINT = "pip install 'livekit==1.2.1'"

RESAMPLER_QUALITY = "QQ"
"""soxr's cubic interpolation for the far end. soxr's better qualities hand out their output in
bursts, 20 ms (LQ) to 40 ms (HQ) behind the input: longer than a low-latency duplex stream takes
from playing a block to capturing its echo (30 ms in the tests), so the canceller would get the
reference after the echo and could not cancel it (measured: HQ 4 dB of ERLE, QQ over 40 dB).
Cubic costs next to nothing: an exact 16 kHz reference gives about the same ERLE (47 dB against
48) and double-talk WER (0.31 against 0.32)."""

_INT16_SCALE = 32768.0


class EchoCanceller(Protocol):
    """Cleans 16 kHz mono microphone audio of the echo of what the loudspeaker played.

    ``far_end`` and ``process`` may be called from different threads (the player's and the
    microphone's). For the canceller to find the echo, the far end must be fed as it is played,
    block by block (silence included while the player idles, so the two streams stay in step),
    and no later than the microphone block that holds its echo.
    """

    latency_ms: int
    """Constant delay of ``process``'s output behind its input."""

    def far_end(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        """What the loudspeaker played just now: mono float32 at the player's own rate."""
        ...

    def process(self, near: np.ndarray) -> np.ndarray:
        """The microphone's next block (16 kHz mono float32, any length), cleaned: as many
        samples as given, ``latency_ms`` late."""
        ...

    def set_delay_ms(self, delay_ms: int) -> None:
        """The known delay from handing a far-end block to ``far_end`` until its echo reaches
        ``process`` (output buffering + acoustic path + input buffering), for a canceller that
        starts from a hint rather than finding the delay itself."""
        ...

    def close(self) -> None:
        """Free the native canceller; it cannot be used afterwards."""
        ...


class WebRtcEchoCanceller:
    """The WebRTC APM from livekit with echo cancellation, noise suppression and the high-pass
    filter on. AGC stays off unless ``auto_gain_control``: it would lift the residual echo along
    with quiet speech, and the VAD and the ASR cope with level on their own."""

    latency_ms = LATENCY_MS

    def __init__(self, *, auto_gain_control: bool = False, delay_ms: int | None = None,
                 apm_module: str = APM_MODULE) -> None:
        """``apm_module`` names the module that provides ``AudioProcessingModule`` and
        ``AudioFrame``; naming one that is not installed is how a missing backend is tested.
        Raises what the import or the native library raises when the backend cannot load;
        :func:`load_echo_canceller` turns that into one AudioError."""
        rtc = importlib.import_module(apm_module)
        self._apm: Any = rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=True, high_pass_filter=True,
            auto_gain_control=auto_gain_control)
        # One frame per direction, reused: the APM rewrites the frame's buffer in place, so no
        # frame object is built every 10 ms.
        self._near_frame, self._near_pcm = _frame(rtc)
        self._far_frame, self._far_pcm = _frame(rtc)
        self._lock = threading.Lock()
        self._near_carry = np.zeros(0, dtype=np.float32)
        self._far_carry = np.zeros(0, dtype=np.float32)
        self._out = np.zeros(FRAME_SAMPLES, dtype=np.float32)  # the carry's one frame of delay
        self._resampler: Any = None
        self._far_rate_hz = SAMPLE_RATE_HZ
        if delay_ms is not None:
            self.set_delay_ms(delay_ms)

    def far_end(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        samples = _mono_float32(samples)
        if sample_rate_hz <= 0:
            raise ValueError(f"far-end sample rate must be positive, got {sample_rate_hz} Hz")
        with self._lock:
            apm = self._open_apm()
            if sample_rate_hz != self._far_rate_hz:
                import soxr

                self._far_rate_hz = sample_rate_hz
                self._resampler = None if sample_rate_hz == SAMPLE_RATE_HZ else \
                    soxr.ResampleStream(sample_rate_hz, SAMPLE_RATE_HZ, 1, dtype="float32",
                                        quality=RESAMPLER_QUALITY)
            if self._resampler is not None:
                samples = self._resampler.resample_chunk(samples)
            pending = np.concatenate((self._far_carry, samples))
            whole = pending.size - pending.size % FRAME_SAMPLES
            for start in range(0, whole, FRAME_SAMPLES):
                self._far_pcm[:] = _to_int16(pending[start:start + FRAME_SAMPLES])
                apm.process_reverse_stream(self._far_frame)
            self._far_carry = pending[whole:]

    def process(self, near: np.ndarray) -> np.ndarray:
        near = _mono_float32(near)
        with self._lock:
            apm = self._open_apm()
            pending = np.concatenate((self._near_carry, near))
            whole = pending.size - pending.size % FRAME_SAMPLES
            cleaned = np.empty(whole, dtype=np.float32)
            for start in range(0, whole, FRAME_SAMPLES):
                self._near_pcm[:] = _to_int16(pending[start:start + FRAME_SAMPLES])
                apm.process_stream(self._near_frame)
                cleaned[start:start + FRAME_SAMPLES] = self._near_pcm / _INT16_SCALE
            self._near_carry = pending[whole:]
            # The carry holds under one frame and the output queue starts one frame ahead, so
            # there are always at least as many samples to return as were given.
            out = np.concatenate((self._out, cleaned))
            self._out = out[near.size:]
            return out[:near.size]

    def set_delay_ms(self, delay_ms: int) -> None:
        if delay_ms < 0:
            raise ValueError(f"echo delay must be >= 0 ms, got {delay_ms}")
        with self._lock:
            self._open_apm().set_stream_delay_ms(int(delay_ms))

    def close(self) -> None:
        # Dropping the last reference frees the native APM (livekit's handle finaliser).
        with self._lock:
            self._apm = None

    def _open_apm(self) -> Any:
        if self._apm is None:
            raise RuntimeError("the echo canceller is closed")
        return self._apm


def load_echo_canceller(*, auto_gain_control: bool = False, delay_ms: int | None = None,
                        apm_module: str = APM_MODULE) -> EchoCanceller:
    """The WebRTC echo canceller, or an AudioError of one line that says why it is unavailable
    and what to do (the caller then goes on without echo cancellation)."""
    try:
        return WebRtcEchoCanceller(auto_gain_control=auto_gain_control, delay_ms=delay_ms,
                                   apm_module=apm_module)
    except (ImportError, OSError, AttributeError, TypeError, RuntimeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioError(f"echo cancellation unavailable: {reason}; install it with "
                         f"{INSTALL_HINT} or set audio.echo_cancellation = \"off\"") from exc


def erle_db(mic: np.ndarray, cleaned: np.ndarray) -> float:
    """Echo return loss enhancement: how many dB quieter the canceller made the echo. Measure it
    over a stretch where only the far end plays (near-end speech there would count as echo),
    with ``cleaned`` shifted back by the canceller's latency."""
    mic_power = float(np.mean(np.square(mic, dtype=np.float64)))
    if mic_power == 0.0:
        raise ValueError("ERLE needs a stretch where the microphone hears some echo")
    # The APM's int16 output can be exact silence; count that as the quantisation floor, not
    # as infinite enhancement.
    floor_power = 1.0 / (12 * _INT16_SCALE**2)
    cleaned_power = float(np.mean(np.square(cleaned, dtype=np.float64)))
    return 10.0 * float(np.log10(mic_power / max(cleaned_power, floor_power)))


def _frame(rtc: Any) -> tuple[Any, np.ndarray]:
    """A 10 ms mono frame and a writable int16 view of its buffer."""
    buffer = bytearray(FRAME_SAMPLES * 2)
    frame = rtc.AudioFrame(buffer, SAMPLE_RATE_HZ, 1, FRAME_SAMPLES)
    return frame, np.frombuffer(buffer, dtype=np.int16)


def _mono_float32(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"the echo canceller takes mono 1-D audio, got shape {samples.shape}")
    return samples


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(samples * _INT16_SCALE), -32768, 32767).astype(np.int16)
