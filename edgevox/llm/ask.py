"""``edgevox ask``: requests in, one JSON answer per request out.

``edgevox ask --tools FILE "text"`` prints ``{"tool": NAME, "args": {...}}`` or ``{"tool": null,
"reply": "..."}`` (with ``"confirm": {"tool": ..., "args": ...}`` when the reply is a question
asked before that call, and ``"declined"`` when a call the model wrote was answered instead);
with ``--jsonl`` it reads ``{"text": ...}`` lines on stdin and answers each
on its own line, loading the model once. Every object carries ``ttft_s`` (request -> first
output token), ``total_s`` (request -> validated call or complete reply), ``n_eval_tokens``
(prompt tokens evaluated: the request's own, the prefix being cached) and ``n_out_tokens``.
A malformed input line gets ``{"error": ...}`` and the next line is read.

The fixed prompt prefix is evaluated once per model and prompt and its KV cache kept under
``$EDGEVOX_HOME/cache/llm-prefix``, so a one-shot ``edgevox ask`` does not pay for it again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TextIO

from edgevox.errors import ConfigError, EdgevoxError
from edgevox.llm.decide import ActPolicy
from edgevox.llm.engine import LlamaEngine
from edgevox.llm.understand import Understander
from edgevox.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)


def prefix_state_dir() -> Path:
    """Where the KV cache of the fixed prompt prefix is kept between runs."""
    from edgevox.catalog import edgevox_home

    return edgevox_home() / "cache" / "llm-prefix"


def _answer(understander: Understander, text: str) -> dict[str, Any]:
    result = understander.ask(text)
    out = result.to_dict()
    out["n_eval_tokens"] = result.stats.evaluated_tokens
    out["n_out_tokens"] = result.stats.generated_tokens
    return out


def _request_text(line: str) -> str:
    """The request in one JSONL line; ValueError says what is wrong with the line."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError('expected an object with a string "text"')
    if not data["text"].strip():
        raise ValueError('"text" is empty')
    return data["text"]


def ask_main(
    tools_file: Path,
    text: str | None,
    jsonl: bool,
    model_path: Path,
    n_threads: int,
    n_ctx: int,
    stdin: TextIO,
    stdout: TextIO,
    policy: ActPolicy | None = None,
) -> int:
    """Run ``edgevox ask``; returns the exit code. Setup problems raise :class:`EdgevoxError`."""
    if jsonl == (text is not None):
        raise ConfigError("give either a request text or --jsonl (requests on stdin), not both")
    if text is not None and not text.strip():
        raise ConfigError("the request text is empty")
    tools = ToolRegistry.from_file(tools_file)
    with LlamaEngine(model_path, n_threads=n_threads, n_ctx=n_ctx) as engine:
        understander = Understander(engine, tools, state_dir=prefix_state_dir(), policy=policy)
        if text is not None:
            stdout.write(json.dumps(_answer(understander, text), ensure_ascii=False) + "\n")
            stdout.flush()
            return 0
        failures = 0
        for number, line in enumerate(stdin, 1):
            if not line.strip():
                continue
            try:
                out = _answer(understander, _request_text(line))
            except ValueError as exc:
                out = {"error": f"line {number}: {exc}"}
                failures += 1
            except EdgevoxError as exc:
                logger.warning("line %d: %s", number, exc)
                out = {"error": f"line {number}: {exc}"}
                failures += 1
            stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            stdout.flush()
        return 1 if failures else 0
