"""Text to speech with Piper voices (VITS models run by onnxruntime, phonemes from espeak-ng).

Everything about a voice (sample rate, espeak-ng voice, language, speakers, default scales) is
read from its ``.onnx.json``, so any Piper voice works; edgevox's default is the Vietnamese
``vi_VN-vais1000-medium``. Piper's own loader gives onnxruntime default options, which spin as
many threads as the machine has cores; on a small board that starves ASR and the LLM, so the
session is built here with the requested thread count and spinning off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edgevox.errors import ConfigError, EdgevoxError, ModelError
from edgevox.tts.chunker import split_long

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

# Piper synthesises a whole sentence in one model call, so a sentence thousands of characters
# long would take seconds before any audio and a lot of memory. Longer input is cut into pieces
# of at most this many characters, preferably at punctuation.
DEFAULT_MAX_PIECE_CHARS = 300

_PIPER_INPUTS = {"input", "input_lengths", "scales"}


class Synthesizer(Protocol):
    """Turns text into speech, streaming audio as it is produced."""

    @property
    def sample_rate_hz(self) -> int:
        """Rate of the audio blocks ``synthesize`` yields."""
        ...

    @property
    def language(self) -> str:
        """ISO 639-1 code of the language the voice speaks, e.g. ``"vi"``."""
        ...

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        """Yield float32 mono blocks in [-1, 1], one per sentence, as soon as each is ready.

        Empty or blank text yields nothing.
        """
        ...

    def spoken_text(self, text: str) -> str:
        """The words the voice will actually read for ``text`` (numbers, units... spelled out).

        Synthesis time grows with this text, not with the written one, so the clause chunker
        measures clauses by it.
        """
        ...


class PiperSynthesizer:
    """A Piper voice loaded with onnxruntime on the CPU."""

    def __init__(
        self,
        model_path: str | Path,
        config_path: str | Path | None = None,
        num_threads: int = 2,
        normalize: Callable[[str], str] | None = None,
        *,
        speaker: int | str | None = None,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        volume: float = 1.0,
        max_piece_chars: int = DEFAULT_MAX_PIECE_CHARS,
    ):
        """Load a voice; raises ModelError naming the file if it is missing or unusable.

        Args:
            model_path: the voice's ``.onnx`` file.
            config_path: its JSON config; default ``<model_path>.json``.
            num_threads: onnxruntime intra-op threads.
            normalize: text normaliser applied before phonemisation (numbers, dates, units to
                words). None picks the one for the voice's language: ``edgevox.text.normalize_vi``
                for Vietnamese, none otherwise.
            speaker: speaker id or name, for multi-speaker voices (default: the voice's).
            length_scale: speaking time scale, > 1 slower (default: the voice's).
            noise_scale: generator noise (default: the voice's).
            noise_w_scale: phoneme duration noise (default: the voice's).
            volume: gain applied after Piper's peak normalisation.
            max_piece_chars: longest text given to one model call (see DEFAULT_MAX_PIECE_CHARS).
        """
        if num_threads < 1:
            raise ConfigError(f"TTS threads must be at least 1, got {num_threads}")
        self._model_path = Path(model_path)
        self._config_path = (
            Path(config_path)
            if config_path is not None
            else self._model_path.with_name(self._model_path.name + ".json")
        )
        self._max_piece_chars = max_piece_chars
        config_dict = _read_voice_config(self._model_path, self._config_path)
        config = _parse_voice_config(config_dict, self._config_path)
        self._language = _voice_language(config_dict)
        self._normalize = normalize
        self._syn_config = _synthesis_config(
            config,
            self._config_path,
            speaker=speaker,
            length_scale=length_scale,
            noise_scale=noise_scale,
            noise_w_scale=noise_w_scale,
            volume=volume,
        )
        self._voice = _load_voice(self._model_path, self._config_path, config, num_threads)
        logger.info(
            "loaded Piper voice %s (%s, %d Hz, %d threads)",
            self._model_path.name,
            self._language,
            self.sample_rate_hz,
            num_threads,
        )

    @classmethod
    def from_dir(cls, directory: str | Path, **kwargs: Any) -> PiperSynthesizer:
        """Load the one voice in ``directory`` (a ``.onnx`` with its ``.onnx.json``)."""
        directory = Path(directory)
        models = sorted(
            path
            for path in directory.glob("*.onnx")
            if path.with_name(path.name + ".json").is_file()
        )
        if len(models) != 1:
            found = ", ".join(path.name for path in models) or "none"
            raise ModelError(
                f"expected exactly one Piper voice (.onnx with its .onnx.json) in {directory}, "
                f"found {found}; pass the voice's .onnx path instead"
            )
        return cls(models[0], **kwargs)

    @property
    def sample_rate_hz(self) -> int:
        """Rate of the audio blocks ``synthesize`` yields, from the voice config."""
        return int(self._voice.config.sample_rate)

    @property
    def language(self) -> str:
        """ISO 639-1 code of the voice's language, e.g. ``"vi"`` or ``"en"``."""
        return self._language

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        """Normalise ``text`` and yield float32 audio one sentence (or long piece) at a time.

        Generation is lazy: a consumer that stops iterating stops synthesis after the current
        sentence.
        """
        if not text.strip():
            return
        spoken = self.spoken_text(text)
        for piece in split_long(spoken, self._max_piece_chars):
            for chunk in self._voice.synthesize(piece, syn_config=self._syn_config):
                if chunk.audio_float_array.size:
                    yield chunk.audio_float_array

    def spoken_text(self, text: str) -> str:
        """``text`` normalised for this voice's language (see :class:`Synthesizer`)."""
        return self._normalizer()(text).strip()

    def warm_up(self) -> None:
        """Run one short synthesis so the first real request does not pay onnxruntime's setup."""
        for _ in self._voice.synthesize("a, b.", syn_config=self._syn_config):
            pass

    def _normalizer(self) -> Callable[[str], str]:
        if self._normalize is None:
            if self._language == "vi":
                from edgevox.text import normalize_vi  # only Vietnamese voices need it

                self._normalize = normalize_vi
            else:
                self._normalize = _unchanged
        return self._normalize


def _unchanged(text: str) -> str:
    return text


def _read_voice_config(model_path: Path, config_path: Path) -> dict[str, Any]:
    if not model_path.is_file():
        raise ModelError(
            f"Piper voice model not found: {model_path}. "
            "Fetch the voice with `edgevox models pull <voice id>`, or give the path of an "
            "existing .onnx voice"
        )
    if not config_path.is_file():
        raise ModelError(
            f"Piper voice config not found: {config_path}. Every Piper voice needs its "
            ".onnx.json next to the .onnx; fetch the voice again with "
            "`edgevox models pull <voice id>`"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"Piper voice config {config_path} is not readable JSON ({exc}); "
            "fetch the voice again with `edgevox models pull <voice id>`"
        ) from exc
    if not isinstance(config, dict):
        raise ModelError(
            f"Piper voice config {config_path} is not a JSON object; "
            "fetch the voice again with `edgevox models pull <voice id>`"
        )
    return config


def _parse_voice_config(config_dict: dict[str, Any], config_path: Path) -> Any:
    """The config as a ``piper.PiperConfig``; raises ModelError naming the file if invalid."""
    try:
        from piper import PiperConfig  # native engine: loaded only when TTS starts
    except ImportError as exc:
        raise EdgevoxError(
            f"Piper TTS is not installed ({exc}): pip install piper-tts onnxruntime"
        ) from exc
    try:
        return PiperConfig.from_dict(config_dict)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(
            f"Piper voice config {config_path} is invalid (missing or bad field {exc}); "
            "fetch the voice again with `edgevox models pull <voice id>`"
        ) from exc


def _load_voice(model_path: Path, config_path: Path, config: Any, num_threads: int) -> Any:
    """Build a ``piper.PiperVoice`` around an onnxruntime session with our thread settings."""
    import onnxruntime  # a dependency of piper-tts, already checked by the config parse
    from piper import PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Spinning threads burn idle cores that ASR and the LLM need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's own error types (InvalidProtobuf, Fail, ...)
        raise ModelError(
            f"Piper voice model {model_path} cannot be loaded ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]}); the file is corrupt or incomplete: "
            "delete it and fetch it again with `edgevox models pull <voice id>`"
        ) from exc
    inputs = {node.name for node in session.get_inputs()}
    if not inputs >= _PIPER_INPUTS:
        raise ModelError(
            f"{model_path} is not a Piper voice (its inputs are {sorted(inputs)}, expected "
            f"{sorted(_PIPER_INPUTS)}); give the path of a Piper .onnx voice"
        )
    voice = PiperVoice(session=session, config=config)
    try:
        voice.phonemize("a")
    except Exception as exc:  # espeak-ng reports an unknown voice as a bare RuntimeError
        raise ModelError(
            f"Piper voice {model_path} needs the espeak-ng voice "
            f"{config.espeak_voice!r}, which cannot be used ({exc}); check 'espeak.voice' in "
            f"{config_path}"
        ) from exc
    return voice


def _voice_language(config_dict: dict[str, Any]) -> str:
    """The voice's language family, from ``language.family`` or else the espeak voice name."""
    language = config_dict.get("language")
    if isinstance(language, dict) and isinstance(language.get("family"), str):
        return language["family"].lower()
    espeak_voice = str(config_dict.get("espeak", {}).get("voice", ""))
    return espeak_voice.split("-")[0].lower()


def _synthesis_config(
    config: Any,
    config_path: Path,
    *,
    speaker: int | str | None,
    length_scale: float | None,
    noise_scale: float | None,
    noise_w_scale: float | None,
    volume: float,
) -> Any:
    from piper import SynthesisConfig

    speaker_id: int | None
    if speaker is None:
        speaker_id = None
    elif isinstance(speaker, str):
        if speaker not in config.speaker_id_map:
            names = ", ".join(sorted(config.speaker_id_map)) or "none (single-speaker voice)"
            raise ConfigError(
                f"voice {config_path.name} has no speaker {speaker!r}; its speakers: {names}"
            )
        speaker_id = int(config.speaker_id_map[speaker])
    elif not 0 <= speaker < max(config.num_speakers, 1):
        raise ConfigError(
            f"voice {config_path.name} has {config.num_speakers} speaker(s); "
            f"speaker id {speaker} is out of range"
        )
    else:
        speaker_id = speaker
    return SynthesisConfig(
        speaker_id=speaker_id,
        length_scale=length_scale,
        noise_scale=noise_scale,
        noise_w_scale=noise_w_scale,
        volume=volume,
    )
