"""The understanding stage: a small GGUF model turns a request into one tool call or a reply.

``LlamaEngine`` runs the model (prefix cache, streaming, cancellation, grammar-constrained greedy
decoding); ``Understander`` builds the prompt and grammar from the registered tools and reads
the answer back. llama_cpp itself is imported only when an engine is created.
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
