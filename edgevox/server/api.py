"""The HTTP + WebSocket API (docs/api.md) in front of the :class:`~edgevox.server.daemon.Daemon`,
and ``edgevox serve``, which runs it.

Each route and each WebSocket message maps to one daemon method. The middleware makes every
failure a JSON ``{"error": "..."}`` (never a traceback) and checks the token; bad WebSocket
messages are answered with an ``error`` message and the connection stays.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from edgevox.catalog import ModelStore
from edgevox.config import Config, ServerConfig
from edgevox.errors import BusyError, ConfigError, EdgevoxError
from edgevox.server.clients import Client, spawn
from edgevox.server.daemon import SHUTDOWN_TIMEOUT_S, Daemon, SystemdNotifier
from edgevox.server.protocol import (
    AudioEnd,
    AudioStart,
    ClientMessage,
    Interrupt,
    NewSession,
    NotReadyError,
    RegisterTools,
    Say,
    TextTurn,
    ToolResultMessage,
    accepted_message,
    error_message,
    parse_client_message,
    parse_say_request,
    tools_registered_message,
)

log = logging.getLogger(__name__)

HARD_LIMIT_FACTOR = 4  # WebSocket messages above this many times the limit close the socket
WS_HEARTBEAT_S = 30.0
INTERNAL_ERROR = "internal error; see the daemon's log"

DAEMON = web.AppKey("daemon", Daemon)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- middleware ------------------------------------------------------------------------------


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure is JSON ``{"error": "..."}`` with a 4xx/5xx status, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items()
                   if k.lower() not in ("content-type", "content-length")}
        return web.json_response({"error": exc.text or exc.reason}, status=exc.status,
                                 headers=headers)
    except NotReadyError as exc:
        return web.json_response({"error": str(exc)}, status=503)
    except BusyError as exc:
        return web.json_response({"error": str(exc)}, status=429)
    except EdgevoxError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": INTERNAL_ERROR}, status=500)


def _token_ok(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


@web.middleware
async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With a token configured, every request carries it: ``Authorization: Bearer <token>``,
    or ``?token=`` on the WebSocket upgrade (browsers cannot set headers there)."""
    expected = request.app[DAEMON].config.server.token
    if expected:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and _token_ok(expected, given.strip())
        if not ok and request.path == "/ws":
            ok = _token_ok(expected, request.query.get("token"))
        if not ok:
            raise web.HTTPUnauthorized(
                text="missing or wrong token: send 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": 'Bearer realm="edgevox"'})
    log.debug("%s %s", request.method, request.path)  # never the query: it may hold the token
    return await handler(request)


# --- HTTP routes -----------------------------------------------------------------------------


async def _health(request: web.Request) -> web.Response:
    body = request.app[DAEMON].health()
    return web.json_response(body, status=200 if body["ok"] else 503)


async def _info(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(request.app[DAEMON].info))


async def _say(request: web.Request) -> web.Response:
    body = parse_say_request(await request.read())
    return web.json_response({"turn_id": request.app[DAEMON].say(body.text)})


async def _new_session(request: web.Request) -> web.Response:
    request.app[DAEMON].new_session()
    return web.json_response({"ok": True})


# --- the WebSocket ---------------------------------------------------------------------------


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    daemon = request.app[DAEMON]
    limit = daemon.config.server.max_message_bytes
    ws = web.WebSocketResponse(max_msg_size=limit * HARD_LIMIT_FACTOR, heartbeat=WS_HEARTBEAT_S)
    await ws.prepare(request)
    client = daemon.clients.connect(ws)
    writer = asyncio.create_task(client.write_loop())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:  # e.g. over the hard limit: aiohttp closed it
                log.info("client %d: connection closed: %s", client.number, msg.data)
                break
            size = len(msg.data) if msg.type == WSMsgType.BINARY else len(msg.data.encode())
            if size > limit:
                client.send(error_message(f"message of {size} bytes is over the limit of "
                                          f"{limit} bytes; send smaller messages"))
                continue
            try:
                _receive(daemon, client, msg)
            except Exception:  # a bug must cost one message, not the connection
                log.exception("client %d: message failed", client.number)
                client.send(error_message(INTERNAL_ERROR))
    finally:
        daemon.disconnect(client)
        writer.cancel()
    return ws


def _receive(daemon: Daemon, client: Client, msg: WSMessage) -> None:
    """Act on one WebSocket message; bad input is answered with an error message."""
    request = None
    try:
        if msg.type == WSMsgType.BINARY:
            daemon.audio_frame(client, msg.data)
            return
        message = parse_client_message(msg.data)
        request = message.type
        if isinstance(message, AudioStart):
            daemon.audio_start(client, message.sample_rate_hz)
        elif isinstance(message, AudioEnd):
            daemon.audio_end(client)
        elif isinstance(message, ToolResultMessage):
            daemon.tools.result(client, message)
        elif isinstance(message, Interrupt):
            daemon.interrupt()
        else:
            # In arrival order behind a slow register_tools, and off the reader, so tool
            # results and interrupts still get through meanwhile.
            spawn(client.tasks, _serially(daemon, client, message))
    except EdgevoxError as exc:
        client.send(error_message(str(exc), request))


async def _serially(daemon: Daemon, client: Client, message: ClientMessage) -> None:
    async with client.serial:
        try:
            if isinstance(message, TextTurn):
                client.send(accepted_message("text", daemon.ask_text(message.text)))
            elif isinstance(message, Say):
                client.send(accepted_message("say", daemon.say(message.text)))
            elif isinstance(message, RegisterTools):
                names = await daemon.register_tools(client, message)
                client.send(tools_registered_message(names))
            elif isinstance(message, NewSession):
                daemon.new_session()
        except EdgevoxError as exc:
            client.send(error_message(str(exc), message.type))
        except Exception:
            log.exception("client %d: %s failed", client.number, message.type)
            client.send(error_message(INTERNAL_ERROR, message.type))


# --- the application -------------------------------------------------------------------------


async def _close_clients(app: web.Application) -> None:
    for client in app[DAEMON].clients:
        await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"daemon stopping")


async def _close_daemon(app: web.Application) -> None:
    await app[DAEMON].close()


def create_app(daemon: Daemon) -> web.Application:
    """The aiohttp application serving ``daemon``; closing the app closes the agent."""
    app = web.Application(middlewares=[_json_errors, _authenticate],
                          client_max_size=daemon.config.server.max_message_bytes)
    app[DAEMON] = daemon
    app.router.add_get("/health", _health)
    app.router.add_get("/info", _info)
    app.router.add_post("/say", _say)
    app.router.add_post("/session/new", _new_session)
    app.router.add_get("/ws", _websocket)
    app.on_shutdown.append(_close_clients)
    app.on_cleanup.append(_close_daemon)
    return app


# --- running ---------------------------------------------------------------------------------


def check_bind(server: ServerConfig) -> None:
    """Refuse to expose the agent to the network without a token."""
    if not server.token and not server.is_loopback():
        raise ConfigError(
            f"refusing to listen on {server.host!r} without a token: anyone on the network "
            "could drive the assistant. Set server.token in edgevox.toml (or "
            "EDGEVOX_SERVER__TOKEN), or keep the default host 127.0.0.1")


def check_models(config: Config, store: ModelStore) -> None:
    """Fail at once, naming the pull command, when a model the agent needs is missing (rather
    than after the others took a minute to load)."""
    ids = [config.asr.model, config.llm.model]
    if config.vad.backend == "silero":
        ids.append(config.vad.model)
    if config.turn.smart_turn == "on":
        ids.append(config.turn.model)
    for model_id in ids:
        store.path(model_id)


async def run_daemon(daemon: Daemon, stop: asyncio.Event,
                     notifier: SystemdNotifier | None = None) -> None:
    """Serve until ``stop`` is set, then close every client and the agent."""
    server = daemon.config.server
    notifier = notifier or SystemdNotifier({})
    runner = web.AppRunner(create_app(daemon), handle_signals=False, access_log=None,
                           shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    watchdog = None
    try:
        try:
            await web.TCPSite(runner, server.host, server.port).start()
        except OSError as exc:
            raise EdgevoxError(f"cannot listen on {server.host}:{server.port}: "
                               f"{exc.strerror or exc}; is another edgevox running? choose "
                               "another port with --port") from None
        daemon.port = runner.addresses[0][1]
        log.info("serving on http://%s:%d (loading models)", server.host, daemon.port)
        notifier.notify("READY=1")
        watchdog = asyncio.create_task(notifier.watchdog())
        daemon.start_loading()
        await stop.wait()
        log.info("stopping")
        notifier.notify("STOPPING=1")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        await runner.cleanup()


def serve(config: Config, store: ModelStore | None = None) -> int:
    """`edgevox serve`: run the daemon until SIGTERM or Ctrl-C."""
    check_bind(config.server)
    store = store or ModelStore()
    check_models(config, store)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_daemon(Daemon(config, store), stop, SystemdNotifier())

    asyncio.run(main())
    return 0
