"""Speech recognition: the :class:`Recognizer` protocol and its sherpa-onnx backends.

``load_recognizer(kind, model_dir, num_threads)`` is the entry point; ``build_sherpa_model``
turns the model inside the ``viet-asr`` wheel into edgevox's default streaming model. Importing
this package loads no native engine.
"""

from __future__ import annotations

from edgevox.asr.sherpa import (
    RECOGNIZER_KINDS,
    Recognizer,
    RecognizerStream,
    SherpaOfflineRecognizer,
    SherpaOnlineRecognizer,
    load_recognizer,
)
from edgevox.asr.vietasr import build_sherpa_model

__all__ = [
    "RECOGNIZER_KINDS",
    "Recognizer",
    "RecognizerStream",
    "SherpaOfflineRecognizer",
    "SherpaOnlineRecognizer",
    "build_sherpa_model",
    "load_recognizer",
]
