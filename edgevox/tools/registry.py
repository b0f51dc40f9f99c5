"""Tools the assistant may call, declared three ways, held one way.

An application declares a tool as a typed Python function (signature + docstring, ``Literal``
for enums, ``Annotated[int, Field(ge=.., le=..)]`` for bounds), as a pydantic model, or in the
JSON format of ``tools.json`` (``{"tools": [{"name", "description", "parameters": {...}}]}``,
each parameter with ``type`` integer/string/boolean, ``enum``, ``minimum``/``maximum``,
``pattern``, ``required``; a JSON-schema ``{"type": "object", "properties": ...}`` block works
too). Every form becomes a :class:`Tool`: a flat list of :class:`Param` that the grammar and the
prompt are built from, plus a pydantic model that validates arguments after generation.

Calling a tool never crashes a conversation: :meth:`ToolRegistry.start` runs it on its own
thread under a timeout (:class:`PendingCall`), and an exception or a timeout becomes a short
Vietnamese apology the assistant can speak.

This is the lower layer: the LLM stage (:mod:`edgevox.llm`) builds its prompt and grammar from
these tools and imports this module, never the other way round.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import re
import threading
import time
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

import pydantic
from pydantic import BaseModel, Field

from edgevox.errors import ToolError

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

logger = logging.getLogger(__name__)

REPLY_TOOL = "say"
"""Name of the pseudo-tool whose string argument is the spoken reply (so no tool may take it)."""

PARAM_TYPES = ("integer", "string", "boolean")
DEFAULT_TIMEOUT_S = 5.0

APOLOGY_FAILED = "Xin lỗi, tôi chưa làm được việc này."
APOLOGY_TIMEOUT = "Xin lỗi, việc này đang mất quá nhiều thời gian, bạn thử lại sau nhé."
APOLOGY_INVALID = "Xin lỗi, tôi chưa hiểu rõ yêu cầu, bạn nói lại giúp tôi nhé."

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Param:
    """One argument of a tool, in the few shapes a spoken command needs."""

    name: str
    type: str
    required: bool = True
    description: str = ""
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None

    @property
    def clock_time(self) -> bool:
        """A 24-hour ``HH:MM`` string: its pattern admits "07:30" and "23:05" but not words."""
        if self.type != "string" or not self.pattern:
            return False
        samples = ("07:30", "23:05")
        return all(re.search(self.pattern, s) for s in samples) and not re.search(self.pattern, "")


@dataclass(frozen=True)
class Example:
    """A request and the arguments it should produce; few-shot material for the prompt."""

    text: str
    args: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Tool:
    """A registered tool: its schema, the model that validates its arguments, its function."""

    name: str
    description: str
    params: tuple[Param, ...]
    args_model: type[BaseModel]
    func: Callable[..., Any] | None = None
    examples: tuple[Example, ...] = ()
    confirm: bool = False
    """Always ask "… phải không?" and act only on a yes (a door lock, a payment, a call)."""
    readback: str | None = None
    """How the confirming question says the call, in Vietnamese, with ``{param}`` fields
    (``"mở khóa {door}"``); without it a built-in or a generic question is used."""

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Arguments checked and coerced by the tool's pydantic model; :class:`ToolError`."""
        try:
            model = self.args_model.model_validate(dict(args))
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from None
        return model.model_dump(exclude_unset=True)


@dataclass(frozen=True)
class ToolResult:
    """What came of a call: the value on success, else an apology ready to be spoken."""

    tool: str
    ok: bool
    value: Any = None
    spoken: str | None = None
    error: str | None = None


# --- building tools ----------------------------------------------------------------------------


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ToolError(f"{what}: name {name!r} must be an identifier (letters, digits, '_')")
    return name


def _check_param(param: Param, where: str) -> Param:
    _check_name(param.name, where)
    if param.type not in PARAM_TYPES:
        raise ToolError(
            f"{where}: parameter {param.name!r} has type {param.type!r}; use one of "
            + ", ".join(PARAM_TYPES)
        )
    if param.enum and (param.type != "string" or not all(isinstance(v, str) for v in param.enum)):
        raise ToolError(f"{where}: parameter {param.name!r}: enum values must be strings")
    if any('"' in v or "\\" in v or "\n" in v for v in param.enum):
        raise ToolError(f"{where}: parameter {param.name!r}: enum values cannot hold quotes")
    if (param.minimum is not None or param.maximum is not None) and param.type != "integer":
        raise ToolError(f"{where}: parameter {param.name!r}: minimum/maximum need an integer")
    if param.minimum is not None and param.maximum is not None and param.minimum > param.maximum:
        raise ToolError(f"{where}: parameter {param.name!r}: minimum is above maximum")
    if param.pattern is not None:
        if param.type != "string":
            raise ToolError(f"{where}: parameter {param.name!r}: pattern needs a string")
        try:
            re.compile(param.pattern)
        except re.error as exc:
            raise ToolError(f"{where}: parameter {param.name!r}: bad pattern: {exc}") from None
    return param


def _model_for(name: str, params: Sequence[Param]) -> type[BaseModel]:
    """A strict pydantic model validating the arguments described by ``params``."""
    fields: dict[str, Any] = {}
    for p in params:
        annotation: Any
        if p.enum:
            annotation = Literal[p.enum]  # type: ignore[valid-type]
        elif p.type == "integer":
            annotation = Annotated[int, Field(ge=p.minimum, le=p.maximum, strict=True)]
        elif p.type == "boolean":
            annotation = Annotated[bool, Field(strict=True)]
        else:
            annotation = Annotated[str, Field(pattern=p.pattern, strict=True)]
        fields[p.name] = (annotation, ...) if p.required else (annotation | None, None)
    config = pydantic.ConfigDict(extra="forbid")
    return pydantic.create_model(f"{name}_args", __config__=config, **fields)


def _params_from_schema(schema: Mapping[str, Any], where: str) -> tuple[Param, ...]:
    """Params from a JSON schema object (pydantic's or a tool file's)."""
    if schema.get("type", "object") != "object":
        raise ToolError(f"{where}: parameters must be an object schema")
    required = set(schema.get("required", ()))
    defs = schema.get("$defs", {})
    params = []
    for pname, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        if "$ref" in prop:  # pydantic puts enums of Enum classes under $defs
            prop = {**defs.get(prop.pop("$ref").rsplit("/", 1)[-1], {}), **prop}
        variants = [v for v in prop.get("anyOf", ()) if v.get("type") != "null"]
        if len(variants) == 1:
            prop = {**variants[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
        elif variants:
            raise ToolError(f"{where}: parameter {pname!r}: union types are not supported")
        params.append(_param_from_spec(pname, prop, pname in required, where))
    return tuple(params)


def _param_from_spec(name: str, spec: Mapping[str, Any], required: bool, where: str) -> Param:
    if not isinstance(spec, Mapping):
        raise ToolError(f"{where}: parameter {name!r} must be an object")
    enum = spec.get("enum", [spec["const"]] if "const" in spec else None)
    ptype = spec.get("type", "string" if enum else None)
    minimum, maximum = spec.get("minimum"), spec.get("maximum")
    if "exclusiveMinimum" in spec:
        minimum = int(spec["exclusiveMinimum"]) + 1
    if "exclusiveMaximum" in spec:
        maximum = int(spec["exclusiveMaximum"]) - 1
    for bound in (minimum, maximum):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
            raise ToolError(f"{where}: parameter {name!r}: bounds must be integers")
    if enum is not None and not isinstance(enum, list | tuple):
        raise ToolError(f"{where}: parameter {name!r}: enum must be a list")
    return _check_param(
        Param(
            name=name,
            type=str(ptype),
            required=bool(required),
            description=str(spec.get("description", "")),
            enum=tuple(enum or ()),
            minimum=minimum,
            maximum=maximum,
            pattern=spec.get("pattern"),
        ),
        where,
    )


def _examples(raw: Iterable[Any], where: str) -> tuple[Example, ...]:
    out = []
    for item in raw:
        if isinstance(item, Example):
            out.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
            out.append(Example(item["text"], dict(item.get("args", {}))))
        elif isinstance(item, Sequence) and len(item) == 2 and isinstance(item[0], str):
            out.append(Example(item[0], dict(item[1])))
        else:
            raise ToolError(f"{where}: an example must be {{'text': ..., 'args': {{...}}}}")
    return tuple(out)


class ToolOptions(TypedDict, total=False):
    """What a tool made from Python code is told instead of reading it off the code; the
    keyword options of :meth:`ToolRegistry.function` and :meth:`ToolRegistry.model`, passed on
    to :func:`tool_from_function` and :func:`tool_from_model`."""

    name: str | None
    """The tool's name; default: the function's, or the model's in snake_case."""
    description: str | None
    """What the prompt says the tool does; default: the docstring's first paragraph."""
    examples: Iterable[Any]
    """Requests and the arguments they should produce (few-shot material for the prompt)."""
    confirm: bool
    """Act only after the person confirms (see :attr:`Tool.confirm`)."""
    readback: str | None
    """The Vietnamese words of the confirming question (see :attr:`Tool.readback`)."""


def _first_paragraph(doc: str | None) -> str:
    return inspect.cleandoc(doc or "").split("\n\n", 1)[0].replace("\n", " ").strip()


def tool_from_function(
    func: Callable[..., Any],
    name: str | None = None,
    description: str | None = None,
    examples: Iterable[Any] = (),
    confirm: bool = False,
    readback: str | None = None,
) -> Tool:
    """A tool from a typed function: parameters from its signature, description from its doc."""
    tool_name = _check_name(name or func.__name__, "tool")
    where = f"tool {tool_name!r}"
    hints = typing.get_type_hints(func, include_extras=True)
    fields: dict[str, Any] = {}
    for pname, p in inspect.signature(func).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ToolError(f"{where}: *args/**kwargs cannot be described to the model")
        if pname not in hints:
            raise ToolError(f"{where}: parameter {pname!r} needs a type annotation")
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[pname] = (hints[pname], default)
    try:
        model = pydantic.create_model(
            f"{tool_name}_args", __config__=pydantic.ConfigDict(extra="forbid"), **fields
        )
        schema = model.model_json_schema()
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError) as exc:
        raise ToolError(f"{where}: unsupported parameter types: {exc}") from None
    return Tool(
        name=tool_name,
        description=description or _first_paragraph(func.__doc__),
        params=_params_from_schema(schema, where),
        args_model=model,
        func=func,
        examples=_examples(examples, where),
        confirm=confirm,
        readback=_readback(readback, where),
    )


def tool_from_model(
    model: type[BaseModel],
    func: Callable[..., Any] | None = None,
    name: str | None = None,
    description: str | None = None,
    examples: Iterable[Any] = (),
    confirm: bool = False,
    readback: str | None = None,
) -> Tool:
    """A tool whose arguments are the fields of a pydantic model (called as ``func(**args)``)."""
    tool_name = _check_name(name or _snake(model.__name__), "tool")
    where = f"tool {tool_name!r}"
    return Tool(
        name=tool_name,
        description=description or _first_paragraph(model.__doc__),
        params=_params_from_schema(model.model_json_schema(), where),
        args_model=model,
        func=func,
        examples=_examples(examples, where),
        confirm=confirm,
        readback=_readback(readback, where),
    )


def _readback(text: Any, where: str) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise ToolError(f"{where}: 'readback' must be a non-empty string")
    return text


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def tool_from_spec(spec: Mapping[str, Any], where: str = "tool") -> Tool:
    """A tool from its JSON description (the ``tools.json`` format or an OpenAI function)."""
    if not isinstance(spec, Mapping):
        raise ToolError(f"{where}: each tool must be a JSON object")
    if spec.get("type") == "function" and isinstance(spec.get("function"), Mapping):
        spec = spec["function"]
    tool_name = _check_name(spec.get("name"), where)
    where = f"{where} ({tool_name!r})"
    raw = spec.get("parameters") or {}
    if not isinstance(raw, Mapping):
        raise ToolError(f"{where}: 'parameters' must be an object")
    if isinstance(raw.get("properties"), Mapping):
        params = _params_from_schema(raw, where)
    else:
        params = tuple(
            _param_from_spec(pname, pspec, bool(pspec.get("required", True)), where)
            if isinstance(pspec, Mapping)
            else _param_from_spec(pname, pspec, True, where)
            for pname, pspec in raw.items()
        )
    return Tool(
        name=tool_name,
        description=str(spec.get("description", "")),
        params=params,
        args_model=_model_for(tool_name, params),
        examples=_examples(spec.get("examples", ()), where),
        confirm=_flag(spec.get("confirm", False), "confirm", where),
        readback=_readback(spec.get("readback"), where),
    )


def _flag(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ToolError(f"{where}: {key!r} must be true or false")
    return value


# --- the registry ------------------------------------------------------------------------------


class ToolRegistry(Mapping[str, Tool]):
    """The tools an assistant may call, by name, in registration order."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def add(self, tool: Tool) -> Tool:
        """Register ``tool``; names are unique and ``say`` is reserved for spoken replies."""
        if tool.name == REPLY_TOOL:
            raise ToolError(f"tool name {REPLY_TOOL!r} is reserved for spoken replies")
        if tool.name in self._tools:
            raise ToolError(f"tool {tool.name!r} is registered twice")
        seen = set()
        for p in tool.params:
            if p.name in seen:
                raise ToolError(f"tool {tool.name!r}: parameter {p.name!r} appears twice")
            seen.add(p.name)
            _check_param(p, f"tool {tool.name!r}")
        for example in tool.examples:
            try:
                tool.validate(example.args)
            except ToolError as exc:
                raise ToolError(f"example {example.text!r}: {exc}") from None
        self._tools[tool.name] = tool
        return tool

    def function(
        self, func: Callable[..., Any] | None = None, **options: Unpack[ToolOptions]
    ) -> Any:
        """Register a typed function; usable as ``@registry.function`` or with options."""

        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.add(tool_from_function(f, **options))
            return f

        return register(func) if func is not None else register

    def model(
        self,
        model: type[BaseModel],
        func: Callable[..., Any] | None = None,
        **options: Unpack[ToolOptions],
    ) -> Tool:
        """Register a tool whose arguments are a pydantic model's fields."""
        return self.add(tool_from_model(model, func, **options))

    @classmethod
    def from_json(cls, data: Any, source: str = "tools") -> ToolRegistry:
        """A registry from parsed JSON: ``{"tools": [...]}`` or a bare list of tools."""
        tools = data.get("tools") if isinstance(data, Mapping) else data
        if not isinstance(tools, list):
            raise ToolError(f'{source}: expected {{"tools": [...]}} or a list of tools')
        return cls(tool_from_spec(spec, f"{source}: tool #{i + 1}") for i, spec in enumerate(tools))

    @classmethod
    def from_file(cls, path: Path) -> ToolRegistry:
        """A registry from a JSON tool file; :class:`ToolError` says what is wrong with it."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ToolError(f"tool file {path} does not exist; pass --tools FILE") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ToolError(f"cannot read tool file {path}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ToolError(
                f"tool file {path} is not valid JSON (line {exc.lineno}: {exc.msg})"
            ) from None
        return cls.from_json(data, str(path))

    def validate(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Validated arguments for a call of ``name``; :class:`ToolError` when they are not."""
        if name not in self._tools:
            raise ToolError(f"unknown tool {name!r}")
        return self._tools[name].validate(args)

    def start(
        self, name: str, args: Mapping[str, Any], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> PendingCall:
        """Validate a call and start it on one new daemon thread; returns at once.

        The caller waits on the :class:`PendingCall` as it likes (a worker that must stay
        responsive to a cancel polls it), and needs no thread of its own for the timeout.
        Arguments that do not validate, or a tool with no function, give a call already settled
        to its apology, with no thread.
        """
        try:
            valid = self.validate(name, args)
        except ToolError as exc:
            return PendingCall.settled(
                ToolResult(name, ok=False, spoken=APOLOGY_INVALID, error=str(exc))
            )
        func = self._tools[name].func
        if func is None:
            return PendingCall.settled(
                ToolResult(name, ok=False, spoken=APOLOGY_FAILED, error="no implementation")
            )
        return PendingCall(name, functools.partial(func, **valid), timeout_s)

    def invoke(
        self, name: str, args: Mapping[str, Any], timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> ToolResult:
        """Validate and run a call, waiting for its outcome; failures become spoken apologies.

        A tool that overruns ``timeout_s`` is abandoned (Python cannot kill a thread; it runs on
        as a daemon thread and its result is dropped).
        """
        outcome = self.start(name, args, timeout_s).result(None)
        assert outcome is not None  # result(None) waits until the call settles
        return outcome


class PendingCall:
    """One tool call running on its own daemon thread, with its timeout.

    The call settles once, on the first of: the tool's outcome (its value, or an exception as
    an apology) when it finishes within ``timeout_s`` of the start, or the timeout apology once
    ``timeout_s`` has passed. A tool that finishes late settles as a timeout however late the
    caller asks, so the outcome never depends on when it is read. Python cannot kill a thread:
    an overrunning tool runs on as a daemon and its value is dropped.
    """

    def __init__(self, tool: str, call: Callable[[], Any] | None, timeout_s: float) -> None:
        """Start ``call`` on a new daemon thread; ``None`` starts nothing (see :meth:`settled`)."""
        self.tool = tool
        self.timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._outcome: ToolResult | None = None
        if call is not None:
            threading.Thread(
                target=self._run, args=(call,), name=f"tool-{tool}", daemon=True
            ).start()

    @classmethod
    def settled(cls, outcome: ToolResult) -> PendingCall:
        """A call decided before anything ran (invalid arguments, no function): no thread."""
        pending = cls(outcome.tool, None, 0.0)
        pending._outcome = outcome
        pending._done.set()
        return pending

    def result(self, wait_s: float | None = None) -> ToolResult | None:
        """The outcome, waiting up to ``wait_s`` seconds for it (``None``: until the call
        settles, at the latest at its timeout); ``None`` when it has not settled by then."""
        remaining = self._deadline - time.monotonic()
        wait = remaining if wait_s is None else min(wait_s, remaining)
        if self._done.wait(max(wait, 0.0)):
            return self._outcome
        if time.monotonic() >= self._deadline:
            return self._settle(self._timeout())
        return None

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            value = call()
            if inspect.iscoroutine(value):
                value = asyncio.run(value)
        except TimeoutError:  # a tool that gave up waiting (a device, a kiosk app) timed out too
            outcome = self._timeout()
        except Exception as exc:
            outcome = ToolResult(self.tool, ok=False, spoken=APOLOGY_FAILED, error=repr(exc))
        else:
            outcome = ToolResult(self.tool, ok=True, value=value)
        self._settle(outcome if time.monotonic() < self._deadline else self._timeout())

    def _timeout(self) -> ToolResult:
        return ToolResult(self.tool, ok=False, spoken=APOLOGY_TIMEOUT, error="timeout")

    def _settle(self, outcome: ToolResult) -> ToolResult:
        """Settle the call unless it has settled already; returns the outcome that stands."""
        with self._lock:
            if self._outcome is None:
                self._outcome = outcome
                self._done.set()
                if outcome.error == "timeout":
                    logger.warning("tool %s timed out after %.1f s", self.tool, self.timeout_s)
                elif not outcome.ok:
                    logger.warning("tool %s failed: %s", self.tool, outcome.error)
            return self._outcome


__all__ = [
    "APOLOGY_FAILED",
    "APOLOGY_INVALID",
    "APOLOGY_TIMEOUT",
    "REPLY_TOOL",
    "Example",
    "Param",
    "PendingCall",
    "Tool",
    "ToolOptions",
    "ToolRegistry",
    "ToolResult",
    "tool_from_function",
    "tool_from_model",
    "tool_from_spec",
]
