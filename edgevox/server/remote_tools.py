"""Tools a kiosk app registers over the WebSocket, and the round trips that run them.

An app's tools *replace* the built-in, simulated home tools (which would otherwise claim to
switch lights the kiosk does not have). Each call of such a tool becomes a ``tool_call``
message to the app, and the app's ``tool_result`` is what the agent speaks. The call waits on
one of the agent's tool threads, never on the event loop: the loop only forwards the message
and settles the waiting future when the answer (or the app's disconnection) arrives.

Registered tools stay after the app disconnects (calls then fail at once with a spoken apology),
so an app that reconnects and registers the same tools gets them back instantly, without the
seconds it takes the LLM to re-read its prompt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgevox.errors import ToolError
from edgevox.server.clients import Client
from edgevox.server.protocol import (
    ProtocolError,
    RegisterTools,
    ToolResultMessage,
    tool_call_message,
)
from edgevox.tools.registry import Tool, ToolRegistry, tool_from_spec

if TYPE_CHECKING:
    from edgevox.runtime.agent import Agent

log = logging.getLogger(__name__)

_BUILTIN_KEY = "builtin"


@dataclasses.dataclass
class _Registration:
    """The client tool set now served and the connection that answers its calls."""

    key: str
    owner: Client | None


class RemoteTools:
    """The tool set the agent serves and the calls waiting for an app's answer.

    ``call_soon(func, *args)`` runs ``func`` on the event loop from any thread and returns False
    once the loop is gone; a tool call uses it to send its ``tool_call``. Other methods run on
    the event loop.
    """

    def __init__(self, builtin: ToolRegistry, timeout_s: float,
                 call_soon: Callable[..., bool]) -> None:
        self.builtin = builtin
        self._timeout_s = timeout_s
        self._call_soon = call_soon
        self._registration = _Registration(_BUILTIN_KEY, None)
        self._lock = asyncio.Lock()
        self._calls: dict[str, tuple[Client, concurrent.futures.Future[Any]]] = {}

    def source(self, tool: Tool) -> str:
        """Where a served tool comes from: ``builtin`` or ``client``."""
        return "builtin" if self.builtin.get(tool.name) is tool else "client"

    async def register(self, agent: Agent, client: Client, message: RegisterTools) -> list[str]:
        """Serve ``message``'s tools, answered by ``client``; returns the names now served."""
        key = json.dumps([message.tools, message.include_builtin], sort_keys=True) \
            if message.tools else _BUILTIN_KEY
        async with self._lock:
            if key == self._registration.key:  # the same app again: keep the evaluated prompt
                self._registration.owner = client
                return list(agent.tools)
            registration = _Registration(key, client)
            tools = []
            for i, spec in enumerate(message.tools):
                tool = tool_from_spec(spec, f"tool #{i + 1}")
                tools.append(dataclasses.replace(tool, func=self._remote(registration,
                                                                          tool.name)))
            builtin = list(self.builtin.values()) if message.include_builtin or not tools else []
            registry = ToolRegistry([*builtin, *tools])
            log.info("client %d registers tools %s; re-reading the prompt", client.number,
                     ", ".join(registry))
            await asyncio.to_thread(agent.replace_tools, registry)
            self._registration = registration
            return list(registry)

    def _remote(self, registration: _Registration, name: str) -> Callable[..., Any]:
        """A tool function that asks the registering app to run the call and waits."""
        timeout_s = self._timeout_s

        def call(**args: Any) -> Any:  # a tool thread of the agent
            client = registration.owner
            if client is None or client.closed:
                raise ToolError(f"the app that registered {name} is not connected")
            call_id = uuid.uuid4().hex[:16]
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            self._calls[call_id] = (client, future)
            try:
                if not self._call_soon(client.send, tool_call_message(call_id, name, args)):
                    raise ToolError("the daemon is stopping")
                return future.result(timeout=timeout_s)
            except concurrent.futures.TimeoutError:  # not yet the builtin on Python 3.10
                # The builtin, so the registry reports it as the timeout it is, whichever of
                # its own wait and this one ends first.
                raise TimeoutError(f"the app did not answer {name} within {timeout_s:g} s") \
                    from None
            finally:
                self._calls.pop(call_id, None)

        return call

    def result(self, client: Client, message: ToolResultMessage) -> None:
        """``client`` answers a ``tool_call``: the waiting tool returns (or raises) it."""
        entry = self._calls.get(message.call_id)
        if entry is None or entry[0] is not client:
            raise ProtocolError(f"no tool call {message.call_id!r} is waiting for an answer "
                                "from this client (it may have timed out)")
        _settle(entry[1], message.result, message.error)

    def client_gone(self, client: Client) -> None:
        """Fail at once the calls ``client`` was to answer, instead of at their timeout."""
        for call_id, (owner, future) in list(self._calls.items()):
            if owner is client:
                _settle(future, error=f"the app that answers {call_id} disconnected")

    def fail_all(self, error: str) -> None:
        for _, future in list(self._calls.values()):
            _settle(future, error=error)


def _settle(future: concurrent.futures.Future[Any], result: Any = None,
            error: str | None = None) -> None:
    try:
        if error is not None:
            future.set_exception(ToolError(error))
        else:
            future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass  # the caller gave up already (timeout)
