"""The understanding stage: a small GGUF model turns a request into one tool call or a reply.

Read top-down: ``understand`` (the :class:`Understander`: one request in, one outcome out) uses
``prompt`` (the fixed prefix), ``grammar`` (what the model may write, built from the registered
tools of :mod:`edgevox.tools`), ``calls`` (the call syntax, written and read back) and
``engine`` (:class:`LlamaEngine`: prefix cache, streaming, cancellation, grammar-constrained
greedy decoding). llama_cpp itself is imported only when an engine is created.
"""

from __future__ import annotations

from edgevox.llm.engine import GenerationStats, LlamaEngine, LlamaVocab
from edgevox.llm.understand import ReplyChunk, Understander, Understanding

__all__ = [
    "GenerationStats",
    "LlamaEngine",
    "LlamaVocab",
    "ReplyChunk",
    "Understander",
    "Understanding",
]
