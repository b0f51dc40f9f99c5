"""The daemon end to end: the real agent (real models) behind the real HTTP + WebSocket server on
loopback, driven by aiohttp's client like a kiosk app.

One daemon serves the whole module (the models load once). It runs on its own event loop in a
thread; each test drives it with ``asyncio.run``. Replies are spoken with the English
``piper-en_US-joe-medium`` voice, the only one these machines can fetch: it exercises the audio
path, not Vietnamese quality. Tests that register tools run last, since registered tools
replace the built-in ones for the rest of the daemon's life.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import aiohttp
import numpy as np
import psutil
import pytest

from edgevox.catalog import ModelStore
from edgevox.config import ServerConfig, load_config
from edgevox.errors import EdgevoxError
from edgevox.runtime.build import build_voice_or_none
from edgevox.server.api import check_bind, run_daemon, serve
from edgevox.server.clients import AudioInput
from edgevox.server.daemon import Daemon, SystemdNotifier
from edgevox.tools.registry import APOLOGY_TIMEOUT

pytestmark = [pytest.mark.models, pytest.mark.slow]

MODELS = ("vietasr-streaming-ctc", "silero-vad", "smart-turn-v3.2", "qwen2.5-coder-1.5b-q4km",
          "piper-en_US-joe-medium")
TOKEN = "kiosk-secret-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT_BYTES = 64 * 1024
TOOL_TIMEOUT_S = 2.0
LOAD_TIMEOUT_S = 600
TURN_TIMEOUT_S = 180
WARMUP_TURNS = 5
SOAK_TURNS = 100
MEMORY_GROWTH_LIMIT_MB = 50
LONG_TEXT = ("Xin chào quý khách, chào mừng quý khách đến với cửa hàng của chúng tôi, "
             "hôm nay chúng tôi có rất nhiều chương trình khuyến mãi hấp dẫn.")
OPEN_DOOR = {
    "name": "open_door",
    "description": "Open one of the shop's doors.",
    "parameters": {"door": {"type": "string", "enum": ["front", "back"], "required": True}},
    "examples": [{"text": "mở cửa sau giúp tôi", "args": {"door": "back"}}],
}


def _config(tmp: Path, tool_timeout_s: float = TOOL_TIMEOUT_S, **server):
    return load_config(environ={}, overrides={
        "tts": {"voice": "piper-en_US-joe-medium"},
        "llm": {"tool_timeout_s": tool_timeout_s},
        "log": {"dir": str(tmp / "logs"), "disclose_ai": False},
        "server": {"host": "127.0.0.1", "port": 0, "token": TOKEN,
                   "max_message_bytes": LIMIT_BYTES, **server},
    })


class RunningDaemon:
    """The daemon on its own event loop and thread, with a datagram socket standing in for
    systemd's notification socket."""

    def __init__(self, config, notify_path: Path) -> None:
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(notify_path))
        self.notify.settimeout(0.5)
        self.notified: list[str] = []
        threading.Thread(target=self._read_notifications, daemon=True).start()
        self.daemon = Daemon(config)
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        notifier = SystemdNotifier({"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "200000"})
        self.thread = threading.Thread(target=self.loop.run_until_complete,
                                       args=(run_daemon(self.daemon, self.stop, notifier),))
        self.thread.start()

    def _read_notifications(self) -> None:
        while self.notify.fileno() >= 0:
            try:
                self.notified.append(self.notify.recv(256).decode())
            except TimeoutError:
                continue
            except OSError:
                return  # closed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.daemon.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while self.daemon.state == "loading" and time.monotonic() < deadline:
            assert self.thread.is_alive(), "the daemon stopped while loading"
            time.sleep(0.5)
        assert self.daemon.state == "ready", self.daemon.error

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=60)
        self.notify.close()


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    for model_id in MODELS:
        model_dir(model_id)
    tmp = tmp_path_factory.mktemp("server")
    running = RunningDaemon(_config(tmp), tmp / "notify")
    try:
        running.wait_ready()
        yield running
    finally:
        running.close()
    # Clean shutdown: the loop ended and the agent's workers are gone.
    assert not running.thread.is_alive()
    alive = {t.name for t in threading.enumerate()}
    assert not alive & {"edgevox-listen", "edgevox-think", "edgevox-speak", "edgevox-events"}


class Session:
    """A WebSocket client that keeps every message it received, in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[dict | bytes] = []

    async def send(self, **message) -> None:
        await self.ws.send_str(json.dumps(message, ensure_ascii=False))

    async def expect(self, predicate: Callable[[dict], bool], after: int = 0,
                     timeout_s: float = TURN_TIMEOUT_S) -> dict:
        """The first JSON message from index ``after`` on that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout_s
        index = after
        while True:
            while index < len(self.messages):
                item = self.messages[index]
                index += 1
                if isinstance(item, dict) and predicate(item):
                    return item
            await self.receive_one(max(0.01, deadline - time.monotonic()))

    async def receive_one(self, timeout_s: float = TURN_TIMEOUT_S) -> None:
        msg = await self.ws.receive(timeout=timeout_s)
        if msg.type == aiohttp.WSMsgType.TEXT:
            self.messages.append(json.loads(msg.data))
        elif msg.type == aiohttp.WSMsgType.BINARY:
            self.messages.append(msg.data)
        else:
            raise AssertionError(f"connection ended ({msg.type}, {msg.data}); last messages: "
                                 f"{self.texts()[-5:]}")

    async def accepted(self, request: str, **fields) -> int:
        start = len(self.messages)
        await self.send(type=request, **fields)
        reply = await self.expect(lambda m: m["type"] in ("accepted", "error"), start)
        assert reply["type"] == "accepted", reply
        return reply["turn_id"]

    async def turn_done(self, turn_id: int) -> dict:
        return await self.expect(lambda m: is_event(m, "speaking_finished", turn_id))

    def texts(self) -> list[dict]:
        return [m for m in self.messages if isinstance(m, dict)]

    def index(self, predicate: Callable[[dict], bool], after: int = 0) -> int:
        return next(i for i, m in enumerate(self.messages) if i >= after and isinstance(m, dict)
                    and predicate(m))


def is_event(message: dict, kind: str, turn_id: int | None = None) -> bool:
    return (message["type"] == "event" and message["event"] == kind
            and (turn_id is None or message["turn_id"] == turn_id))


async def connect(http: aiohttp.ClientSession, url: str) -> Session:
    return Session(await http.ws_connect(f"{url}/ws", headers=AUTH))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 900))


# --- HTTP and security -------------------------------------------------------------------------


def test_health_and_info(server):
    async def scenario():
        async with aiohttp.ClientSession(headers=AUTH) as http:
            async with http.get(f"{server.url}/health") as r:
                health = await r.json()
                assert r.status == 200
            async with http.get(f"{server.url}/info") as r:
                info = await r.json()
        return health, info

    health, info = run(scenario())
    assert health["ok"] is True and health["status"] == "ready"
    assert health["models_loaded"] is True and health["speech_output"] == "audio"
    assert health["uptime_s"] > 0
    assert info["voice"] == {"id": "piper-en_US-joe-medium", "language": "en",
                             "sample_rate_hz": 22050}
    models = {m["id"]: m for m in info["models"]}
    assert set(MODELS) <= set(models)
    assert models["qwen2.5-coder-1.5b-q4km"]["license"]
    assert all(m["installed"] for m in models.values())
    names = {t["name"] for t in info["tools"]}
    assert {"set_timer", "control_device"} <= names


def test_token_is_required_on_http_and_websocket(server):
    async def scenario():
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                async with http.get(f"{server.url}/health", headers=headers) as r:
                    assert r.status == 401
                    assert "token" in (await r.json())["error"]
                    assert r.headers["WWW-Authenticate"].startswith("Bearer")
            async with http.post(f"{server.url}/say", json={"text": "a"}) as r:
                assert r.status == 401
            for url in (f"{server.url}/ws", f"{server.url}/ws?token=wrong"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
                    await http.ws_connect(url)
                assert failed.value.status == 401
            # Browsers cannot set headers on a WebSocket: the token may come in the query.
            ws = await http.ws_connect(f"{server.url}/ws?token={TOKEN}")
            await ws.send_str("{}")
            reply = await ws.receive_json(timeout=10)
            assert reply["type"] == "error"
            await ws.close()
            async with http.get(f"{server.url}/nowhere", headers=AUTH) as r:
                assert r.status == 404 and "error" in await r.json()

    run(scenario())


def test_refuses_network_bind_without_token(tmp_path):
    for host in ("127.0.0.1", "::1", "localhost"):
        check_bind(ServerConfig(host=host))
    check_bind(ServerConfig(host="0.0.0.0", token=TOKEN))
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(EdgevoxError, match="without a token"):
            check_bind(ServerConfig(host=host))
    # The real entry point refuses before loading anything.
    config = _config(tmp_path, host="0.0.0.0", token=None)
    with pytest.raises(EdgevoxError, match="without a token"):
        serve(config)


def test_text_only_without_a_vietnamese_voice(tmp_path):
    store = ModelStore()
    config = load_config(environ={})  # the default voice: Vietnamese, from Hugging Face only
    if store.is_ready(store.catalog.get(config.tts.voice)):
        pytest.skip(f"{config.tts.voice} is installed here")
    assert build_voice_or_none(config, store) is None


def test_audio_input_resamples_to_16k_blocks():
    rate = 48_000
    t = np.arange(rate) / rate  # 1 s of a 440 Hz tone, sent in odd-sized chunks
    pcm = (np.sin(2 * np.pi * 440 * t) * 16000).astype("<i2").tobytes()
    stream = AudioInput(rate)
    blocks = [b for i in range(0, len(pcm), 9601) for b in stream.blocks(pcm[i:i + 9601])]
    blocks += stream.blocks(b"", last=True)
    samples = np.concatenate(blocks)
    assert all(b.size <= 320 and b.dtype == np.float32 for b in blocks)
    assert abs(samples.size - 16_000) <= 1
    spectrum = np.abs(np.fft.rfft(samples[1000:15000]))
    assert abs(np.argmax(spectrum) * 16_000 / 14_000 - 440) < 3


def test_systemd_ready_and_watchdog(server):
    assert server.notified[0] == "READY=1"
    pings = server.notified.count("WATCHDOG=1")
    time.sleep(0.5)  # WATCHDOG_USEC is 0.2 s: a ping every 0.1 s
    assert server.notified.count("WATCHDOG=1") >= pings + 3


# --- robustness ---------------------------------------------------------------------------------


def test_bad_messages_get_errors_and_the_connection_stays(server):
    async def scenario():
        async with aiohttp.ClientSession(headers=AUTH) as http:
            session = await connect(http, server.url)
            bad = [
                ("{not json", "not valid JSON"),
                ("[1, 2]", "JSON object"),
                ('{"type": "dance"}', "unknown message type"),
                ('{"type": "text"}', "text: Field required"),
                ('{"type": "text", "text": "hi", "speed": 2}', "unknown field 'speed'"),
                ('{"type": "audio_start", "sample_rate_hz": 1000}', "sample_rate_hz"),
                ('{"type": "tool_result", "call_id": "nope", "result": 1}', "no tool call"),
                ('{"type": "audio_end"}', "without audio_start"),
                ('{"type": "text", "text": "' + "a" * LIMIT_BYTES + '"}', "over the limit"),
            ]
            for raw, expected in bad:
                start = len(session.messages)
                await session.ws.send_str(raw)
                reply = await session.expect(lambda m: True, start, timeout_s=10)
                assert reply["type"] == "error" and expected in reply["message"], (raw, reply)
            start = len(session.messages)
            await session.ws.send_bytes(b"\0\0" * 160)
            reply = await session.expect(lambda m: True, start, timeout_s=10)
            assert "audio_start first" in reply["message"]
            # Still usable after all that.
            turn_id = await session.accepted("say", text="Xin chào.")
            await session.turn_done(turn_id)

            # Far over the limit, aiohttp closes the socket (1009); the daemon stays up.
            await session.ws.send_bytes(b"\0" * (4 * LIMIT_BYTES + 2))
            closed = await session.ws.receive(timeout=10)
            assert closed.type == aiohttp.WSMsgType.CLOSE
            assert closed.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG

            async with http.post(f"{server.url}/say", data=b"{oops") as r:
                assert r.status == 400 and "not valid JSON" in (await r.json())["error"]
            async with http.post(f"{server.url}/say", json={"text": "x" * LIMIT_BYTES}) as r:
                assert r.status == 413 and (await r.json())["error"]
            async with http.get(f"{server.url}/health") as r:
                assert r.status == 200
            again = await connect(http, server.url)
            await again.turn_done(await again.accepted("say", text="Vâng."))
            await again.ws.close()

    run(scenario())


def test_say_streams_audio_and_interrupt_stops_it(server):
    async def scenario():
        async with aiohttp.ClientSession(headers=AUTH) as http:
            session = await connect(http, server.url)
            async with http.post(f"{server.url}/say", json={"text": "Xin chào."}) as r:
                assert r.status == 200
                http_turn = (await r.json())["turn_id"]
            finished = await session.turn_done(http_turn)
            assert finished["text"] == "Xin chào." and finished["interrupted"] is False

            mark = len(session.messages)  # the first turn's audio is before this
            turn_id = await session.accepted("say", text=LONG_TEXT)
            start = await session.expect(lambda m: m["type"] == "audio_out_start", mark)
            assert start["sample_rate_hz"] == 22050
            begin = session.messages.index(start, mark)
            while sum(isinstance(m, bytes) for m in session.messages[begin:]) < 5:
                await session.receive_one()
            await session.send(type="interrupt")
            interrupted = await session.expect(lambda m: is_event(m, "interrupted", turn_id))
            assert interrupted["reason"] == "client"
            finished = await session.turn_done(turn_id)
            assert finished["interrupted"] is True
            end = session.index(lambda m: m["type"] == "audio_out_end", begin)
            frames = [m for m in session.messages[begin:end] if isinstance(m, bytes)]
            assert end < session.messages.index(finished)
            assert not any(isinstance(m, bytes) for m in session.messages[end:])
            audio = np.frombuffer(b"".join(frames), dtype="<i2")
            assert 0.1 < audio.size / 22050 < 10  # cut off: the whole text is ~10 s
            assert np.abs(audio).max() > 1000  # speech, not silence
            await session.ws.close()

    run(scenario())


# --- speech in --------------------------------------------------------------------------------


def _clip(eval_dir: Path, text_part: str) -> tuple[bytes, int]:
    manifest = eval_dir / "asr-cv-vi-dev" / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    row = next(r for r in rows if text_part in r["text"])
    with wave.open(str(eval_dir / "asr-cv-vi-dev" / row["audio"])) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.readframes(w.getnframes()), w.getframerate()


def test_audio_in_gives_turn_events_and_reply_audio(server, eval_dir):
    pcm, rate = _clip(eval_dir, "Bây giờ là mấy giờ")
    frame_bytes = rate // 10 * 2  # 100 ms frames
    silence = b"\0\0" * rate * 2

    async def scenario():
        async with aiohttp.ClientSession(headers=AUTH) as http:
            session = await connect(http, server.url)
            other = await connect(http, server.url)
            await session.send(type="audio_start", sample_rate_hz=rate)
            await other.send(type="audio_start", sample_rate_hz=rate)
            refused = await other.expect(lambda m: m["type"] == "error", timeout_s=10)
            assert "one audio stream" in refused["message"]
            data = pcm + silence
            for i in range(0, len(data), frame_bytes):
                await session.ws.send_bytes(data[i:i + frame_bytes])
            await session.send(type="audio_end")
            started = await session.expect(lambda m: is_event(m, "speech_started"))
            turn_id = started["turn_id"]
            final = await session.expect(lambda m: is_event(m, "final_transcript", turn_id))
            assert "giờ" in final["text"]
            speaking = await session.expect(lambda m: is_event(m, "speaking_started", turn_id))
            finished = await session.turn_done(turn_id)
            order = [session.messages.index(m) for m in (started, final, speaking, finished)]
            assert order == sorted(order)
            audio_start = session.index(lambda m: m["type"] == "audio_out_start")
            audio_end = session.index(lambda m: m["type"] == "audio_out_end")
            # audio frames and event messages travel separately: the reply audio comes after
            # the transcript and ends before the turn is reported finished
            assert order[1] < audio_start < audio_end < order[3]
            frames = [m for m in session.messages[audio_start:audio_end] if isinstance(m, bytes)]
            assert sum(len(f) for f in frames) > 22050  # at least half a second of reply
            # The display-only client saw the same turn.
            await other.turn_done(turn_id)
            await session.ws.close()
            await other.ws.close()

    run(scenario())


def test_client_disconnecting_mid_turn_leaves_the_daemon_usable(server):
    async def scenario():
        async with aiohttp.ClientSession(headers=AUTH) as http:
            leaving = await connect(http, server.url)
            await leaving.send(type="audio_start", sample_rate_hz=16000)
            await leaving.ws.send_bytes(b"\0\0" * 1600)
            turn_id = await leaving.accepted("text", text="tắt đèn")
            await leaving.expect(lambda m: is_event(m, "llm_first_token", turn_id))
            await leaving.ws.close()  # mid-turn, holding the audio stream

            staying = await connect(http, server.url)
            async with http.get(f"{server.url}/health") as r:
                health = await r.json()
            assert health["streaming_audio"] is False and health["clients"] == 1
            await staying.send(type="audio_start", sample_rate_hz=16000)
            await staying.send(type="audio_end")
            next_turn = await staying.accepted("text", text="bật quạt")
            await staying.turn_done(turn_id)  # the abandoned turn still finished
            finished = await staying.turn_done(next_turn)
            assert finished["text"]
            assert not [m for m in staying.texts() if m["type"] == "error"]
            await staying.ws.close()

    run(scenario())


def test_health_answers_while_the_agent_is_stalled(model_dir, eval_dir, tmp_path):
    """The event loop never waits on the agent, however stuck the agent is.

    A daemon of its own (its tools and its long tool timeout must not leak into the others)
    is stalled on purpose: its think worker waits on a tool call the app never answers, typed
    turns wait behind it, spoken turns fill the agent's turn queue, one more spoken turn finds
    it full, and more audio than the agent buffers follows. A client then ends its audio
    stream. ``/health`` and the systemd watchdog, which share the loop with that
    ``audio_end``, must go on answering."""
    for model_id in MODELS:
        model_dir(model_id)
    pcm, rate = _clip(eval_dir, "Bây giờ là mấy giờ")
    utterance = pcm + b"\0\0" * rate * 2  # 2 s of silence ends the turn
    backlog = b"\0\0" * rate * 12  # more than the agent's 10 s audio queue holds
    frame_bytes = rate // 10 * 2  # 100 ms frames

    async def scenario(running: RunningDaemon) -> None:
        async with aiohttp.ClientSession(headers=AUTH) as http:
            app = await connect(http, running.url)
            await app.send(type="register_tools", tools=[OPEN_DOOR])
            await app.expect(lambda m: m["type"] == "tools_registered")
            await app.accepted("text", text="mở cửa trước")
            await app.expect(lambda m: m["type"] == "tool_call")  # never answered
            for text in ("xin chào", "cảm ơn"):
                await app.accepted("text", text=text)
            await app.send(type="audio_start", sample_rate_hz=rate)
            for _ in range(3):  # the third finds the agent's turn queue full
                start = len(app.messages)
                for i in range(0, len(utterance), frame_bytes):
                    await app.ws.send_bytes(utterance[i:i + frame_bytes])
                await app.expect(lambda m: is_event(m, "final_transcript"), start)
            for i in range(0, len(backlog), frame_bytes):
                await app.ws.send_bytes(backlog[i:i + frame_bytes])
            await app.send(type="audio_end")
            # Until /health reports the stream released, the daemon may not have read the
            # audio_end yet; once it does, the loop has come back from acting on it.
            deadline = time.monotonic() + 10
            while True:
                started = time.monotonic()
                try:
                    async with http.get(f"{running.url}/health",
                                        timeout=aiohttp.ClientTimeout(total=1.0)) as r:
                        health = await r.json()
                except asyncio.TimeoutError:
                    pytest.fail(f"GET /health took over 1 s after audio_end ("
                                f"{time.monotonic() - started:.1f} s so far): the event loop "
                                "is blocked")
                assert r.status == 200 and health["ok"], health
                if not health["streaming_audio"]:
                    break
                assert time.monotonic() < deadline, "the daemon never acted on audio_end"
                await asyncio.sleep(0.05)
            pings = running.notified.count("WATCHDOG=1")
            await asyncio.sleep(0.5)  # a ping every 0.1 s
            assert running.notified.count("WATCHDOG=1") >= pings + 3
            await app.ws.close()

    running = RunningDaemon(_config(tmp_path, tool_timeout_s=120), tmp_path / "notify")
    try:
        running.wait_ready()
        run(scenario(running))
    finally:
        running.close()


def test_many_turns_do_not_grow_memory(server):
    """100 typed turns through the LLM and a tool after a warm-up; RSS must stay within a bound.

    RSS also counts pages of the memory-mapped GGUF, which grow as the LLM first touches them;
    the warm-up turns touch them first, and anonymous memory (RSS less file-backed pages) is
    printed beside it to tell the two apart."""
    process = psutil.Process()
    commands = ("tắt đèn", "bật đèn")

    def memory_mb() -> tuple[float, float]:
        info = process.memory_info()
        return info.rss / 1e6, (info.rss - info.shared) / 1e6

    async def scenario():
        async with aiohttp.ClientSession(headers=AUTH) as http:
            session = await connect(http, server.url)
            samples = []
            started = time.monotonic()
            for i in range(WARMUP_TURNS + SOAK_TURNS):
                # A fresh session each turn keeps the prompt the same size, so the test
                # measures leaks rather than history re-evaluation.
                await session.send(type="new_session")
                turn_id = await session.accepted("text", text=commands[i % 2])
                finished = await session.turn_done(turn_id)
                assert finished["text"], finished
                session.messages.clear()  # the client must not be what grows
                if i + 1 >= WARMUP_TURNS:
                    samples.append(memory_mb())
            await session.ws.close()
            return samples, time.monotonic() - started

    samples, elapsed_s = run(scenario())
    rss, anon = ([s[k] for s in samples] for k in (0, 1))
    print(f"\n{WARMUP_TURNS}+{SOAK_TURNS} text turns in {elapsed_s:.0f} s; after warm-up / max / "
          f"last: RSS {rss[0]:.0f} / {max(rss):.0f} / {rss[-1]:.0f} MB, anonymous "
          f"{anon[0]:.0f} / {max(anon):.0f} / {anon[-1]:.0f} MB")
    assert max(rss) - rss[0] < MEMORY_GROWTH_LIMIT_MB


# --- tools (last: registered tools replace the built-in ones) --------------------------------


def test_registered_tool_round_trip_and_timeout(server):
    async def scenario():
        async with aiohttp.ClientSession(headers=AUTH) as http:
            app = await connect(http, server.url)
            await app.send(type="register_tools", tools=[{"name": "bad name!"}])
            error = await app.expect(lambda m: m["type"] == "error", timeout_s=30)
            assert error["request"] == "register_tools" and "identifier" in error["message"]

            await app.send(type="register_tools", tools=[OPEN_DOOR])
            registered = await app.expect(lambda m: m["type"] == "tools_registered")
            assert registered["names"] == ["open_door"]

            turn_id = await app.accepted("text", text="mở cửa trước")
            call = await app.expect(lambda m: m["type"] == "tool_call")
            assert call["name"] == "open_door" and call["args"] == {"door": "front"}
            await app.send(type="tool_result", call_id=call["call_id"],
                           result="Đã mở cửa trước.")
            result = await app.expect(lambda m: is_event(m, "tool_result", turn_id))
            assert result["ok"] is True
            finished = await app.turn_done(turn_id)
            assert finished["text"] == "Đã mở cửa trước."
            assert app.index(lambda m: is_event(m, "tool_call", turn_id)) \
                < app.messages.index(result)

            # An app that never answers: the agent apologises after the timeout.
            start = len(app.messages)
            turn_id = await app.accepted("text", text="mở cửa sau")
            call = await app.expect(lambda m: m["type"] == "tool_call", start)
            result = await app.expect(lambda m: is_event(m, "tool_result", turn_id))
            assert result["ok"] is False and result["error"] == "timeout"
            finished = await app.turn_done(turn_id)
            assert APOLOGY_TIMEOUT in finished["text"]
            start = len(app.messages)
            await app.send(type="tool_result", call_id=call["call_id"], result="late")
            late = await app.expect(lambda m: m["type"] == "error", start, timeout_s=10)
            assert "timed out" in late["message"]

            # The same app reconnecting gets its tools back at once (no prompt re-evaluation).
            await app.ws.close()
            again = await connect(http, server.url)
            started = time.monotonic()
            await again.send(type="register_tools", tools=[OPEN_DOOR])
            await again.expect(lambda m: m["type"] == "tools_registered")
            assert time.monotonic() - started < 1.0
            async with http.get(f"{server.url}/info") as r:
                tools = (await r.json())["tools"]
            assert tools == [{"name": "open_door", "description": OPEN_DOOR["description"],
                              "source": "client"}]
            await again.ws.close()

    run(scenario())


# --- signals ----------------------------------------------------------------------------------


def test_sigterm_stops_the_daemon_cleanly(tmp_path, model_dir):
    for model_id in MODELS:
        model_dir(model_id)
    notify_path = tmp_path / "notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(60)
    code = ("import argparse, logging, sys; from edgevox.server.commands import add_commands; "
            "logging.basicConfig(); "
            "p = argparse.ArgumentParser(); add_commands(p.add_subparsers()); "
            "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "EDGEVOX_LOG__ENABLED": "false"}
    process = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", "0"], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert notify.recv(256) == b"READY=1"
        process.send_signal(signal.SIGTERM)  # while the models are still loading
        assert process.wait(timeout=60) == 0
        assert notify.recv(256) == b"STOPPING=1"
        stderr = process.stderr.read()
        assert "serving on http://127.0.0.1:" in stderr and "Traceback" not in stderr
    finally:
        process.kill()
        notify.close()
