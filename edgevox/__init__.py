"""edgevox: an on-device Vietnamese voice agent runtime.

Importing this package is cheap on purpose: native engines (sherpa-onnx, llama.cpp, Piper,
onnxruntime) load only when the stage that needs them starts, so ``edgevox --help`` is instant
and a small board never pays for a backend it does not use.
"""

from __future__ import annotations

__version__ = "0.1.0"
