"""Tools the assistant can call: declared as functions, pydantic models or JSON, validated and
run safely (:mod:`edgevox.tools.registry`). The LLM stage builds its prompt and grammar from
them (:mod:`edgevox.llm.grammar`); this package never imports it."""

from __future__ import annotations

from edgevox.tools.registry import (
    REPLY_TOOL,
    Example,
    Param,
    PendingCall,
    Tool,
    ToolRegistry,
    ToolResult,
)

__all__ = ["REPLY_TOOL", "Example", "Param", "PendingCall", "Tool", "ToolRegistry", "ToolResult"]
