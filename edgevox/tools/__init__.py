"""Tools the assistant can call: declared as functions, pydantic models or JSON, validated and
invoked safely (:mod:`edgevox.tools.registry`), and turned into a GBNF grammar
(:mod:`edgevox.tools.gbnf`)."""

from __future__ import annotations

from edgevox.tools.registry import Example, Param, Tool, ToolRegistry, ToolResult

__all__ = ["Example", "Param", "Tool", "ToolRegistry", "ToolResult"]
