"""The call syntax: how the model writes a tool call, and how edgevox reads it back.

A request ends in exactly one line in a terse, Python-like syntax that a small model knows well
and that costs few tokens::

    set_timer(300)
    control_device("light", "on", room="bedroom")
    get_date(lunar=true)
    say("Xin chào! Tôi giúp gì được cho bạn?")

Required arguments are positional in declaration order, optional ones are ``key=value`` in
declaration order, and ``say("...")`` (:data:`~edgevox.tools.registry.REPLY_TOOL`) is the
spoken reply when no tool fits. :mod:`edgevox.llm.grammar` makes the model write only this;
the prompt's examples are written with :func:`format_call`, and :func:`parse_call` reads the
model's line back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from edgevox.errors import ToolError
from edgevox.tools.registry import REPLY_TOOL, Param, Tool


def quote(text: str) -> str:
    """A string value in the call syntax (strings cannot hold quotes or backslashes)."""
    return '"' + text + '"'


_VALUE = re.compile(r'"[^"\\\n]*"|true|false|-?\d+')
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")


def parse_call(text: str, tools: Mapping[str, Tool]) -> tuple[str, dict[str, Any]]:
    """Read ``name(args)`` back into a tool name and named arguments.

    The grammar guarantees the shape, so a failure here means the text did not come from it:
    :class:`ToolError`.
    """
    text = text.strip()
    name, paren, rest = text.partition("(")
    if not paren or not rest.endswith(")"):
        raise ToolError(f"not a tool call: {text!r}")
    body = rest[:-1]
    if name == REPLY_TOOL:
        match = _VALUE.fullmatch(body)
        if not match or not body.startswith('"'):
            raise ToolError(f"bad reply: {text!r}")
        return name, {"text": body[1:-1]}
    tool = tools.get(name)
    if tool is None:
        raise ToolError(f"unknown tool {name!r}")
    required = [p.name for p in tool.params if p.required]
    args: dict[str, Any] = {}
    pos = 0
    while pos < len(body):
        key_match = _KEY.match(body, pos)
        if key_match:
            key = key_match.group(1)
            pos = key_match.end()
        elif len(args) < len(required):
            key = required[len(args)]
        else:
            raise ToolError(f"too many arguments in {text!r}")
        value_match = _VALUE.match(body, pos)
        if not value_match:
            raise ToolError(f"bad argument value in {text!r}")
        args[key] = json.loads(value_match.group())
        pos = value_match.end()
        if body.startswith(", ", pos):
            pos += 2
        elif pos != len(body):
            raise ToolError(f"bad argument list in {text!r}")
    return name, args


def format_value(param: Param, value: Any) -> str:
    """One argument value in the call syntax."""
    if param.type == "boolean":
        return "true" if value else "false"
    if param.type == "integer":
        return str(int(value))
    return quote(str(value))


def format_call(tool: Tool, args: Mapping[str, Any]) -> str:
    """The call syntax for ``tool`` with ``args`` (used for few-shot examples)."""
    parts = [format_value(p, args[p.name]) for p in tool.params if p.required]
    parts += [
        f"{p.name}={format_value(p, args[p.name])}"
        for p in tool.params
        if not p.required and args.get(p.name) is not None
    ]
    return f"{tool.name}({', '.join(parts)})"
