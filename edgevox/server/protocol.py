"""The daemon's wire protocol: what a client may send, checked before anything acts on it.

Every client message is one JSON object with a ``type``; each type is a strict pydantic model
(unknown fields are errors, so a typo such as ``"reslt"`` is reported instead of silently meaning
"no result"). :func:`parse_client_message` turns any bad input into a :class:`ProtocolError`
whose one-line message goes back to the client as ``{"type": "error", ...}``. Messages the
daemon sends are built by the small functions at the end, so their shapes live in one place
(and in ``docs/api.md``).

Audio travels as binary WebSocket frames of 16-bit little-endian mono PCM in both directions.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.errors import EdgevoxError
from edgevox.events import Event

MAX_TEXT_CHARS = 2000
MAX_TOOLS = 64
MIN_INPUT_RATE_HZ = 8_000
MAX_INPUT_RATE_HZ = 48_000

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=MAX_TEXT_CHARS)]


class ProtocolError(EdgevoxError):
    """A client message that cannot be acted on; the message says what to send instead."""


class NotReadyError(ProtocolError):
    """The agent is still loading (or failed to load); GET /health says which."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AudioStart(_Message):
    """Binary frames of s16le mono PCM at ``sample_rate_hz`` follow, until ``audio_end``."""

    type: Literal["audio_start"]
    sample_rate_hz: int = Field(SAMPLE_RATE_HZ, ge=MIN_INPUT_RATE_HZ, le=MAX_INPUT_RATE_HZ)


class AudioEnd(_Message):
    """The audio stream ended: a turn still open is finished as if the speaker had stopped."""

    type: Literal["audio_end"]


class TextTurn(_Message):
    """A typed request, answered like a spoken one."""

    type: Literal["text"]
    text: Text


class Say(_Message):
    """Speak ``text`` as its own turn, without the LLM."""

    type: Literal["say"]
    text: Text


class RegisterTools(_Message):
    """Serve these tools (``tools.json`` format) instead of the built-in ones."""

    type: Literal["register_tools"]
    tools: list[dict[str, Any]] = Field(max_length=MAX_TOOLS)
    include_builtin: bool = False


class ToolResultMessage(_Message):
    """The answer to a ``tool_call``: a ``result`` to speak, or an ``error``."""

    type: Literal["tool_result"]
    call_id: str = Field(min_length=1, max_length=64)
    result: Any = None
    error: str | None = None


class Interrupt(_Message):
    """Stop speaking now and cancel the turn in flight and those still waiting."""

    type: Literal["interrupt"]


class NewSession(_Message):
    """Forget the conversation (a new customer at the kiosk)."""

    type: Literal["new_session"]


ClientMessage = Annotated[
    AudioStart | AudioEnd | TextTurn | Say | RegisterTools | ToolResultMessage | Interrupt
    | NewSession,
    Field(discriminator="type"),
]
_CLIENT_MESSAGE = TypeAdapter(ClientMessage)
CLIENT_TYPES = ("audio_start", "audio_end", "text", "say", "register_tools", "tool_result",
                "interrupt", "new_session")


class SayRequest(_Message):
    """Body of ``POST /say``."""

    text: Text


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"][1:] if p != "type") or "message"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown field '{where}'")
        else:
            problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def _load_object(raw: str | bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise ProtocolError(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                            f"column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} must be a JSON object")
    return data


def parse_client_message(raw: str) -> ClientMessage:
    """A validated client message from a WebSocket text frame; :class:`ProtocolError` if bad."""
    data = _load_object(raw, "message")
    kind = data.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError(f"unknown message type {kind!r}; send one of: "
                            f"{', '.join(CLIENT_TYPES)}")
    try:
        return _CLIENT_MESSAGE.validate_python(data)
    except ValidationError as exc:
        raise ProtocolError(f"bad '{kind}' message: {_describe(exc)}") from None


def parse_say_request(raw: bytes) -> SayRequest:
    """The body of ``POST /say``; :class:`ProtocolError` if it is not ``{"text": "..."}``."""
    data = _load_object(raw, "request body")
    try:
        return SayRequest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        raise ProtocolError(f'expected {{"text": "..."}}: {problems}') from None


# --- audio -----------------------------------------------------------------------------------


def pcm16_to_float(data: bytes) -> np.ndarray:
    """s16le samples -> float32 in [-1, 1] (``data`` must hold whole samples)."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    """float32 samples in [-1, 1] -> s16le bytes, clipped rather than wrapped."""
    clipped: np.ndarray = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


# --- server -> client ------------------------------------------------------------------------


def event_message(event: Event) -> dict[str, Any]:
    """An agent event: ``{"type": "event", "event": <event type>, "turn_id", "t", ...data}``."""
    return {**event.to_json(), "type": "event", "event": event.type}


def error_message(message: str, request: str | None = None) -> dict[str, Any]:
    """Bad input or a refused request; ``request`` names the message type it answers."""
    out: dict[str, Any] = {"type": "error", "message": message}
    if request:
        out["request"] = request
    return out


def tool_call_message(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "call_id": call_id, "name": name, "args": args}


def tools_registered_message(names: list[str]) -> dict[str, Any]:
    return {"type": "tools_registered", "names": names}


def accepted_message(request: str, turn_id: int) -> dict[str, Any]:
    """A typed turn or a ``say`` was queued as turn ``turn_id``."""
    return {"type": "accepted", "request": request, "turn_id": turn_id}


def audio_out_start_message(sample_rate_hz: int) -> dict[str, Any]:
    return {"type": "audio_out_start", "sample_rate_hz": sample_rate_hz}


def audio_out_end_message() -> dict[str, Any]:
    return {"type": "audio_out_end"}
