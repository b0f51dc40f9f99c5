"""edgevox: an on-device Vietnamese voice agent runtime.

The embedding API, in five lines::

    import edgevox

    tools = edgevox.ToolRegistry()
    tools.function(open_door)                      # any typed Python function
    with edgevox.open_agent(tools=tools) as agent:  # microphone-free: you feed the audio
        agent.feed_audio(samples)                  # 16 kHz mono float32; events via subscribe()

Importing this package is cheap on purpose: native engines (sherpa-onnx, llama.cpp, Piper,
onnxruntime) load only when the stage that needs them starts, so ``edgevox --help`` is instant
and a small board never pays for a backend it does not use. The names below resolve lazily.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_config": "edgevox.config",
    "Config": "edgevox.config",
    "Event": "edgevox.events",
    "ToolRegistry": "edgevox.tools.registry",
    "open_agent": "edgevox.runtime.session",
    "EdgevoxError": "edgevox.errors",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'edgevox' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
