"""Microphone and speaker on one clock: a full-duplex sound device with echo cancellation.

An echo canceller must know exactly what the loudspeaker played and when, relative to what the
microphone captured. With two separate streams the two clocks drift and the output latency is a
guess; with one duplex stream each callback plays a block and captures a block, so the far end
handed to the canceller is the very block written to the speaker. ``edgevox run`` uses
:class:`DuplexDevice`; where a device cannot do duplex, or no canceller loads, the caller falls
back to separate streams and a half-duplex agent (:func:`edgevox.runtime.build.echo_mode`).

The stream runs at the voice's rate (PortAudio's ALSA plug layer converts when the hardware
differs); captured audio is resampled to the pipeline's 16 kHz inside the callback, cleaned, and
handed on without blocking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.audio.echo import RESAMPLER_QUALITY, EchoCanceller
from edgevox.audio.sink import DEFAULT_MAX_QUEUED_MS, QueuedSink, import_sounddevice
from edgevox.errors import AudioError

log = logging.getLogger(__name__)


class DuplexSink(QueuedSink):
    """A speaker whose output and a microphone whose input are exchanged block for block, on
    one clock: each block played is handed to the echo canceller as its far end at the moment
    the block captured beside it is cleaned.

    Playback runs from the start; what the microphone hears goes nowhere until :meth:`start`
    names where: 16 kHz mono float32 blocks, echo-cancelled when a ``canceller`` is given. That
    target runs on the device's clock (an audio callback) and must not block (the agent's
    ``feed_audio`` does not). Subclasses drive :meth:`_exchange` from their clock.
    """

    def __init__(self, sample_rate_hz: int, *, canceller: EchoCanceller | None = None,
                 block_ms: int = 20, max_queued_ms: int = DEFAULT_MAX_QUEUED_MS) -> None:
        super().__init__(sample_rate_hz, block_ms, max_queued_ms)
        self.canceller = canceller
        self._on_audio: Callable[[np.ndarray], None] | None = None

    def start(self, on_audio: Callable[[np.ndarray], None]) -> None:
        """Hand the microphone's audio to ``on_audio`` from now on."""
        self._on_audio = on_audio

    def _exchange(self, far: np.ndarray, far_rate_hz: int, near: np.ndarray) -> np.ndarray:
        """``far`` was just played and ``near`` (16 kHz) captured beside it: cancel the echo,
        hand the microphone's audio on, and return it."""
        if self.canceller is not None:
            self.canceller.far_end(far, far_rate_hz)
            if near.size:
                near = self.canceller.process(near)
        target = self._on_audio
        if target is not None and near.size:
            target(near)
        return near

    def close(self) -> None:
        """Stop playback and release the canceller."""
        super().close()
        if self.canceller is not None:
            self.canceller.close()


class DuplexDevice(DuplexSink):
    """The agent's speaker and its microphone on one PortAudio duplex stream (see
    :class:`DuplexSink`)."""

    def __init__(self, sample_rate_hz: int, *, canceller: EchoCanceller | None = None,
                 input_device: int | str | None = None,
                 output_device: int | str | None = None, block_ms: int = 20,
                 max_queued_ms: int = DEFAULT_MAX_QUEUED_MS) -> None:
        super().__init__(sample_rate_hz, canceller=canceller, block_ms=block_ms,
                         max_queued_ms=max_queued_ms)
        import soxr

        sd = import_sounddevice()
        # The canceller's quality: HQ's streaming output comes in bursts up to 40 ms late.
        self._to_pipeline = soxr.ResampleStream(sample_rate_hz, SAMPLE_RATE_HZ, 1,
                                                dtype="float32", quality=RESAMPLER_QUALITY)
        device = (input_device, output_device)
        try:
            sd.check_input_settings(device=input_device, channels=1, dtype="float32",
                                    samplerate=sample_rate_hz)
            sd.check_output_settings(device=output_device, channels=1, dtype="float32",
                                     samplerate=sample_rate_hz)
            self._stream = sd.Stream(samplerate=sample_rate_hz, blocksize=self.block_samples,
                                     device=device, channels=1, dtype="float32",
                                     latency="low", callback=self._callback)
            self._stream.start()
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioError(f"no full-duplex audio at {sample_rate_hz} Hz on input "
                             f"{input_device or 'default'} / output {output_device or 'default'}"
                             f": {exc}") from exc
        if canceller is not None:
            latency_s = sum(self._stream.latency)  # input + output, as PortAudio reports them
            canceller.set_delay_ms(round(latency_s * 1000))

    def _callback(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any,
                  status: Any) -> None:
        if status:
            log.debug("duplex audio status: %s", status)
        played, _ = self._pull(frames)
        outdata[:, 0] = played
        self._exchange(played, self.sample_rate_hz,
                       self._to_pipeline.resample_chunk(indata[:, 0].copy()))

    def close(self) -> None:
        """Stop both directions and release the canceller."""
        super().close()
        self._stream.close()
