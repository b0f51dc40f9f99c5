"""Speech recognisers backed by sherpa-onnx.

The rest of edgevox sees only two small protocols: a :class:`Recognizer` makes one
:class:`RecognizerStream` per user turn; the stream takes 16 kHz float32 audio as it arrives,
reports a growing partial transcript (streaming models) and returns the final text on
:meth:`RecognizerStream.finish`. edgevox decides where a turn ends (VAD + Smart Turn), so
sherpa's own endpoint detection is always off.

``sherpa_onnx`` is imported only when a recogniser is built, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from edgevox.asr.vietasr import CHUNK_SIZE, NUM_LEFT_CHUNKS
from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.errors import AudioError, ConfigError, ModelError

if TYPE_CHECKING:
    import sherpa_onnx

logger = logging.getLogger(__name__)

# Silence appended before the last decode so the final words reach the encoder: a streaming
# model only decodes whole chunks (the WeNet CTC model needs 43 feature frames, about 0.45 s,
# beyond what it has consumed), so without padding the end of the utterance would be dropped.
WENET_TAIL_PADDING_S = 0.5
# Streaming Zipformers look further ahead; k2-fsa's examples pad their streams by 0.66 s.
TRANSDUCER_TAIL_PADDING_S = 0.66
# BPE word-start marker; sherpa usually turns it into a space already, but not for every model.
_WORD_MARKER = "\u2581"

RECOGNIZER_KINDS = ("wenet_ctc", "online_transducer", "offline_transducer")
_TRANSDUCER_PARTS = ("encoder", "decoder", "joiner")
_DECODING_METHODS = {
    "wenet_ctc": ("greedy_search",),
    "online_transducer": ("greedy_search", "modified_beam_search"),
    "offline_transducer": ("greedy_search", "modified_beam_search"),
}


class RecognizerStream(Protocol):
    """One utterance being recognised."""

    def accept(self, samples: np.ndarray) -> None:
        """Feed float32 mono samples at 16 kHz in [-1, 1]; any length, including zero."""

    def partial(self) -> str:
        """The current hypothesis (NFC); ``""`` before any words or for offline models."""

    def finish(self) -> str:
        """Decode what is left and return the final text (NFC); the stream is done after."""


class Recognizer(Protocol):
    """A loaded model that makes streams; build one with :func:`load_recognizer`."""

    sample_rate_hz: int
    streaming: bool  # True: partial() grows while audio arrives; False: text only at finish()

    def create_stream(self) -> RecognizerStream:
        """Start a new utterance."""


def clean_text(text: str) -> str:
    """Turn decoder output into space-separated words in NFC, keeping the model's casing."""
    return unicodedata.normalize("NFC", " ".join(text.replace(_WORD_MARKER, " ").split()))


@dataclass(frozen=True)
class TransducerFiles:
    """The files of a (Zipformer) transducer; the field names are sherpa-onnx's argument names."""

    encoder: Path
    decoder: Path
    joiner: Path
    tokens: Path


def _load(factory: Callable[..., Any], label: Path, **options: Any) -> Any:
    """Call a sherpa-onnx recogniser constructor at edgevox's sample rate, paths as the ``str``
    its bindings need, and log how long the load took (a start-up cost that matters on boards)."""
    started = time.perf_counter()
    recognizer = factory(sample_rate=SAMPLE_RATE_HZ,
                         **{k: str(v) if isinstance(v, Path) else v for k, v in options.items()})
    logger.info("loaded %s in %.2f s", label, time.perf_counter() - started)
    return recognizer


def _as_samples(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples)
    if array.dtype.kind in "iu":
        raise AudioError("recogniser expects float samples in [-1, 1]; divide int16 PCM by 32768")
    array = array.astype(np.float32, copy=False)
    if array.ndim != 1:
        raise AudioError(
            f"recogniser expects mono audio as a 1-D array, got shape {array.shape}; "
            "downmix to one channel first"
        )
    return array


class _OnlineStream:
    """A sherpa ``OnlineStream`` decoded eagerly: every ``accept`` runs all ready chunks."""

    def __init__(self, recognizer: sherpa_onnx.OnlineRecognizer, tail_padding_s: float) -> None:
        self._recognizer = recognizer
        self._stream = recognizer.create_stream()
        self._tail_padding = np.zeros(round(tail_padding_s * SAMPLE_RATE_HZ), dtype=np.float32)
        self._final: str | None = None

    def accept(self, samples: np.ndarray) -> None:
        if self._final is not None:
            raise RuntimeError("accept() called after finish(); create a new stream per turn")
        array = _as_samples(samples)
        if array.size:
            self._stream.accept_waveform(SAMPLE_RATE_HZ, array)
            self._decode_ready()

    def partial(self) -> str:
        if self._final is not None:
            return self._final
        return clean_text(self._recognizer.get_result(self._stream))

    def finish(self) -> str:
        if self._final is None:
            self._stream.accept_waveform(SAMPLE_RATE_HZ, self._tail_padding)
            self._stream.input_finished()
            self._decode_ready()
            self._final = clean_text(self._recognizer.get_result(self._stream))
        return self._final

    def _decode_ready(self) -> None:
        while self._recognizer.is_ready(self._stream):
            self._recognizer.decode_stream(self._stream)


class SherpaOnlineRecognizer:
    """Streaming recognition with ``sherpa_onnx.OnlineRecognizer``: partials grow with audio."""

    sample_rate_hz = SAMPLE_RATE_HZ
    streaming = True

    def __init__(self, recognizer: sherpa_onnx.OnlineRecognizer, tail_padding_s: float) -> None:
        """Wrap an already built sherpa recogniser; prefer :meth:`wenet_ctc` or
        :func:`load_recognizer`, which also switch endpoint detection off."""
        self._recognizer = recognizer
        self._tail_padding_s = tail_padding_s

    @classmethod
    def wenet_ctc(
        cls,
        model: Path,
        tokens: Path,
        num_threads: int,
        chunk_size: int = CHUNK_SIZE,
        num_left_chunks: int = NUM_LEFT_CHUNKS,
    ) -> SherpaOnlineRecognizer:
        """A WeNet-layout streaming CTC model, such as the one :mod:`edgevox.asr.vietasr` builds.

        ``chunk_size`` and ``num_left_chunks`` must match the model's ``chunk_size`` and
        ``left_chunks`` metadata (sherpa does not read them itself); the defaults fit vietasr.
        Only greedy search exists for streaming CTC in sherpa-onnx.
        """
        import sherpa_onnx

        recognizer = _load(
            sherpa_onnx.OnlineRecognizer.from_wenet_ctc,
            model,
            tokens=tokens,
            model=model,
            chunk_size=chunk_size,
            num_left_chunks=num_left_chunks,
            num_threads=num_threads,
            enable_endpoint_detection=False,
            decoding_method="greedy_search",
        )
        return cls(recognizer, WENET_TAIL_PADDING_S)

    def create_stream(self) -> RecognizerStream:
        return _OnlineStream(self._recognizer, self._tail_padding_s)


class _OfflineStream:
    """Buffers a whole utterance (a VAD segment) and decodes it once in ``finish``."""

    def __init__(self, recognizer: sherpa_onnx.OfflineRecognizer) -> None:
        self._recognizer = recognizer
        self._chunks: list[np.ndarray] = []
        self._final: str | None = None

    def accept(self, samples: np.ndarray) -> None:
        if self._final is not None:
            raise RuntimeError("accept() called after finish(); create a new stream per turn")
        self._chunks.append(_as_samples(samples).copy())

    def partial(self) -> str:
        return self._final or ""

    def finish(self) -> str:
        if self._final is None:
            audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
            self._chunks.clear()
            if audio.size == 0:
                self._final = ""
            else:
                stream = self._recognizer.create_stream()
                stream.accept_waveform(SAMPLE_RATE_HZ, audio)
                self._recognizer.decode_stream(stream)
                self._final = clean_text(stream.result.text)
        return self._final


class SherpaOfflineRecognizer:
    """Non-streaming recognition (``sherpa_onnx.OfflineRecognizer``) for offline transducers
    such as k2-fsa's ``sherpa-onnx-zipformer-vi-2025-04-20``: run it on VAD segments."""

    sample_rate_hz = SAMPLE_RATE_HZ
    streaming = False

    def __init__(self, recognizer: sherpa_onnx.OfflineRecognizer) -> None:
        self._recognizer = recognizer

    def create_stream(self) -> RecognizerStream:
        return _OfflineStream(self._recognizer)


def load_recognizer(
    kind: str, model_dir: Path, num_threads: int, decoding_method: str = "greedy_search"
) -> Recognizer:
    """Build the recogniser of ``kind`` from the files in ``model_dir``.

    ``wenet_ctc`` needs ``model.onnx`` and ``tokens.txt``. The transducer kinds need
    ``tokens.txt`` and an encoder, decoder and joiner: ``encoder.onnx`` etc., or, as in k2-fsa's
    release tarballs, one ``encoder*.onnx`` (where both a float and an ``.int8.onnx`` export
    exist, the int8 one, which is faster on the small CPUs edgevox targets). Everything is
    checked before sherpa-onnx sees it, because sherpa exits the process on a missing file.
    """
    if kind not in RECOGNIZER_KINDS:
        raise ConfigError(f"unknown ASR kind {kind!r}; choose one of {', '.join(RECOGNIZER_KINDS)}")
    if decoding_method not in _DECODING_METHODS[kind]:
        raise ConfigError(
            f"decoding method {decoding_method!r} is not available for {kind}; "
            f"use {' or '.join(_DECODING_METHODS[kind])}"
        )
    if num_threads < 1:
        raise ConfigError(f"ASR num_threads must be at least 1, got {num_threads}")
    if not model_dir.is_dir():
        raise ModelError(f"ASR model directory {model_dir} does not exist; pull the model first")
    tokens = _require_file(model_dir / "tokens.txt")
    if kind == "wenet_ctc":
        return SherpaOnlineRecognizer.wenet_ctc(
            _require_file(model_dir / "model.onnx"), tokens, num_threads
        )
    files = TransducerFiles(
        tokens=tokens, **{name: _find_part(model_dir, name) for name in _TRANSDUCER_PARTS}
    )
    return _load_transducer(files, num_threads, decoding_method, kind == "online_transducer")


def _load_transducer(
    files: TransducerFiles, num_threads: int, decoding_method: str, streaming: bool
) -> Recognizer:
    """A (Zipformer) transducer: streaming ones run with endpointing off and tail padding,
    offline ones decode whole VAD segments and have neither."""
    import sherpa_onnx

    options = {**asdict(files), "num_threads": num_threads, "decoding_method": decoding_method}
    if streaming:
        recognizer = _load(
            sherpa_onnx.OnlineRecognizer.from_transducer,
            files.encoder,
            enable_endpoint_detection=False,
            **options,
        )
        return SherpaOnlineRecognizer(recognizer, TRANSDUCER_TAIL_PADDING_S)
    return SherpaOfflineRecognizer(
        _load(sherpa_onnx.OfflineRecognizer.from_transducer, files.encoder, **options)
    )


def _require_file(path: Path) -> Path:
    if not path.is_file() or path.stat().st_size == 0:
        state = "is empty" if path.is_file() else "is missing"
        raise ModelError(f"ASR model file {path} {state}; pull or rebuild the model")
    return path


def _find_part(model_dir: Path, name: str) -> Path:
    exact = model_dir / f"{name}.onnx"
    if exact.is_file():
        return _require_file(exact)
    candidates = sorted(model_dir.glob(f"{name}*.onnx"))
    int8 = [path for path in candidates if path.name.endswith(".int8.onnx")]
    if len(int8) == 1:
        return _require_file(int8[0])
    if len(candidates) == 1:
        return _require_file(candidates[0])
    if not candidates:
        raise ModelError(
            f"ASR model file {exact} is missing (no {name}*.onnx in {model_dir}); "
            "pull or rebuild the model"
        )
    names = ", ".join(path.name for path in candidates)
    raise ModelError(f"several {name} files in {model_dir} ({names}); keep only one")
