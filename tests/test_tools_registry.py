"""The tool registry (edgevox.tools.registry): three ways to declare a tool, one way to hold it,
and calls that never crash a conversation, each on exactly one thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from edgevox.errors import ToolError
from edgevox.tools.registry import (
    APOLOGY_FAILED,
    APOLOGY_INVALID,
    APOLOGY_TIMEOUT,
    Param,
    ToolRegistry,
    tool_from_spec,
)


def registry(*specs: dict) -> ToolRegistry:
    return ToolRegistry.from_json({"tools": list(specs)})


# --- registry: three ways in, one way out --------------------------------------------------------


def test_registry_from_typed_functions():
    reg = ToolRegistry()

    @reg.function(examples=[("bật quạt", {"device": "fan", "on": True})])
    def switch(
        device: Literal["light", "fan"],
        on: bool,
        level: Annotated[int, Field(ge=0, le=10)] = 5,
        room: str | None = None,
    ) -> str:
        """Switch a device.

        Longer notes that the model does not need.
        """
        return f"{device} {on} {level} {room}"

    tool = reg["switch"]
    assert tool.description == "Switch a device."
    params = {p.name: p for p in tool.params}
    assert params["device"] == Param("device", "string", enum=("light", "fan"))
    assert params["on"].type == "boolean" and params["on"].required
    assert (params["level"].minimum, params["level"].maximum) == (0, 10)
    assert not params["level"].required and not params["room"].required
    assert reg.validate("switch", {"device": "fan", "on": True}) == {"device": "fan", "on": True}
    assert reg.invoke("switch", {"device": "fan", "on": False, "level": 2}).value == (
        "fan False 2 None"
    )


def test_registry_from_pydantic_model():
    class SetVolume(BaseModel):
        """Set speaker volume."""

        level: Annotated[int, Field(ge=0, le=100, description="percent")]

    reg = ToolRegistry()
    tool = reg.model(SetVolume, func=lambda level: level * 2)
    assert tool.name == "set_volume"
    assert tool.params == (Param("level", "integer", True, "percent", (), 0, 100),)
    assert reg.invoke("set_volume", {"level": 21}).value == 42


def test_registry_from_tools_json(eval_dir):
    reg = ToolRegistry.from_file(eval_dir / "tools.json")
    assert len(reg) == 11
    device = {p.name: p for p in reg["control_device"].params}
    assert device["room"].enum[0] == "living_room" and not device["room"].required
    assert reg["set_alarm"].params[0].clock_time
    schema_style = tool_from_spec(
        {
            "type": "function",
            "function": {
                "name": "call_contact",
                "parameters": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                },
            },
        }
    )
    assert schema_style.params == (Param("name", "string"),)


def test_arguments_are_validated():
    reg = registry(
        {
            "name": "set_alarm",
            "parameters": {
                "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                "level": {"type": "integer", "minimum": 0, "maximum": 10, "required": False},
                "mode": {"type": "string", "enum": ["a", "b"], "required": False},
            },
        }
    )
    assert reg.validate("set_alarm", {"time": "06:30", "mode": "b"}) == {
        "time": "06:30",
        "mode": "b",
    }
    for bad in (
        {"time": "6h30"},
        {"time": "06:30", "level": 11},
        {"time": "06:30", "level": "3"},
        {"time": "06:30", "mode": "c"},
        {"time": "06:30", "extra": 1},
        {},
    ):
        with pytest.raises(ToolError):
            reg.validate("set_alarm", bad)
    with pytest.raises(ToolError):
        reg.validate("no_such_tool", {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"tools": {"name": "x"}}', "expected"),
        ('{"tools": [{"name": "bad name"}]}', "identifier"),
        ('{"tools": [{"name": "x", "parameters": {"a": {"type": "float"}}}]}', "type 'float'"),
        (
            '{"tools": [{"name": "x", "parameters": {"a": {"type": "string", "enum": "ab"}}}]}',
            "enum",
        ),
        (
            '{"tools": [{"name": "x", "parameters": {"a": {"type": "integer", "minimum": 5,'
            ' "maximum": 1}}}]}',
            "minimum is above maximum",
        ),
        (
            '{"tools": [{"name": "x", "parameters": {"a": {"type": "string", "pattern": "("}}}]}',
            "bad pattern",
        ),
        ('{"tools": [{"name": "x"}, {"name": "x"}]}', "registered twice"),
        ('{"tools": [{"name": "say"}]}', "reserved"),
        (
            '{"tools": [{"name": "x", "parameters": {"n": {"type": "integer"}},'
            ' "examples": [{"text": "hi", "args": {"n": "one"}}]}]}',
            "example",
        ),
    ],
)
def test_bad_tool_file_raises_tool_error(tmp_path, content, message):
    path = tmp_path / "tools.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ToolError, match=message):
        ToolRegistry.from_file(path)


def test_missing_tool_file_raises_tool_error(tmp_path):
    with pytest.raises(ToolError, match="does not exist"):
        ToolRegistry.from_file(tmp_path / "nope.json")


# --- invoking tools ------------------------------------------------------------------------------


def test_raising_tool_becomes_a_spoken_apology():
    reg = ToolRegistry()

    @reg.function
    def explode(n: int) -> None:
        """Always fails."""
        raise RuntimeError(f"boom {n}")

    result = reg.invoke("explode", {"n": 1})
    assert not result.ok and result.spoken == APOLOGY_FAILED and "boom 1" in result.error


def test_timing_out_tool_becomes_a_spoken_apology():
    reg = ToolRegistry()

    @reg.function
    def slow() -> str:
        """Takes too long."""
        time.sleep(2.0)
        return "late"

    start = time.perf_counter()
    result = reg.invoke("slow", {}, timeout_s=0.2)
    assert time.perf_counter() - start < 1.0
    assert not result.ok and result.spoken == APOLOGY_TIMEOUT


def test_tool_that_times_out_on_its_own_gets_the_timeout_apology():
    reg = ToolRegistry()

    @reg.function
    def door() -> str:
        """Waits on a device that never answers."""
        raise TimeoutError("the door controller did not answer")

    result = reg.invoke("door", {}, timeout_s=5.0)
    assert not result.ok and result.spoken == APOLOGY_TIMEOUT and result.error == "timeout"


def test_async_tool_and_invalid_arguments():
    reg = ToolRegistry()

    @reg.function
    async def fetch(city: str) -> str:
        """Async tools are awaited in the worker thread."""
        await asyncio.sleep(0)
        return city.upper()

    assert reg.invoke("fetch", {"city": "huế"}).value == "HUẾ"
    invalid = reg.invoke("fetch", {"town": "huế"})
    assert not invalid.ok and invalid.spoken and "city" in invalid.error


def test_start_runs_a_call_on_one_thread_and_result_waits_as_long_as_asked():
    reg = ToolRegistry()
    entered, release = threading.Event(), threading.Event()
    ran_on: list[threading.Thread] = []

    @reg.function
    def slow(n: int) -> int:
        """Answers when the test lets it."""
        ran_on.append(threading.current_thread())
        entered.set()
        release.wait(5.0)
        return n * 2

    before = set(threading.enumerate())
    pending = reg.start("slow", {"n": 21}, timeout_s=5.0)
    assert entered.wait(5.0)
    started = set(threading.enumerate()) - before
    assert started == set(ran_on) and len(ran_on) == 1  # the call's own thread and no other
    assert ran_on[0].daemon and ran_on[0].name == "tool-slow"
    assert pending.result(0.05) is None  # still running
    release.set()
    result = pending.result(None)
    assert result is not None and result.ok and result.value == 42
    assert pending.result(0) is result  # settled once


def test_a_call_that_never_returns_settles_as_a_timeout():
    reg = ToolRegistry()
    never = threading.Event()

    @reg.function
    def hang() -> None:
        """Waits on a device that never answers (until the test lets it go)."""
        never.wait(10.0)

    start = time.perf_counter()
    pending = reg.start("hang", {}, timeout_s=0.2)
    assert pending.result(0.05) is None
    result = pending.result(5.0)  # the call's own timeout ends the wait, not wait_s
    assert 0.2 <= time.perf_counter() - start < 1.0
    assert result is not None and not result.ok
    assert (result.spoken, result.error) == (APOLOGY_TIMEOUT, "timeout")
    worker = next(t for t in threading.enumerate() if t.name == "tool-hang")
    assert worker.is_alive()  # abandoned, not killed
    never.set()
    worker.join(5.0)
    assert pending.result(0) is result  # finishing late does not change the outcome


def test_a_call_that_cannot_run_is_settled_without_a_thread():
    reg = ToolRegistry()

    @reg.function
    def double(n: int) -> int:
        """Doubles."""
        return n * 2

    before = threading.active_count()
    pending = reg.start("double", {"n": "two"})
    assert threading.active_count() == before
    result = pending.result(0)
    assert result is not None and not result.ok and result.spoken == APOLOGY_INVALID
