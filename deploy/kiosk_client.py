"""A small kiosk client for `edgevox serve` (see docs/api.md), with aiohttp only.

It registers a tool (``open_door``) that the agent calls back, streams a WAV file in at the pace
of a microphone (or sends a typed request with ``--text``), prints every event, answers tool
calls, and saves the reply audio to a WAV file. Use it as a template for a kiosk app.

    python deploy/kiosk_client.py request.wav --out reply.wav
    python deploy/kiosk_client.py --text "mở cửa trước" --out reply.wav
    EDGEVOX_TOKEN=... python deploy/kiosk_client.py request.wav --url http://kiosk.local:8765

The saved reply is synthetic speech: label it as AI-generated wherever you use it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import wave
from pathlib import Path

import aiohttp

FRAME_MS = 100
TRAILING_SILENCE_S = 1.5  # lets the daemon hear that the speaker stopped
TYPED_TURN_START = 100_001  # typed and `say` turns are numbered from here; spoken ones below

TOOLS = [{
    "name": "open_door",
    "description": "Open one of the shop's doors.",
    "parameters": {"door": {"type": "string", "enum": ["front", "back"], "required": True}},
    "examples": [{"text": "mở cửa sau giúp tôi", "args": {"door": "back"}}],
}]
DOOR_VI = {"front": "cửa trước", "back": "cửa sau"}


def open_door(door: str) -> str:
    """The kiosk's real action goes here; the returned sentence is what the agent says."""
    return f"Đã mở {DOOR_VI[door]}."


def read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path)) as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"{path}: need a 16-bit mono WAV (convert it with sox or ffmpeg)")
        return w.readframes(w.getnframes()), w.getframerate()


async def stream_wav(ws: aiohttp.ClientWebSocketResponse, pcm: bytes, rate_hz: int) -> None:
    """Send audio the way a microphone would: one frame every FRAME_MS."""
    frame_bytes = rate_hz * FRAME_MS // 1000 * 2
    data = pcm + b"\0\0" * int(rate_hz * TRAILING_SILENCE_S)
    await ws.send_json({"type": "audio_start", "sample_rate_hz": rate_hz})
    for i in range(0, len(data), frame_bytes):
        await ws.send_bytes(data[i:i + frame_bytes])
        await asyncio.sleep(FRAME_MS / 1000)
    await ws.send_json({"type": "audio_end"})


async def run(args: argparse.Namespace) -> int:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    reply_audio = bytearray()
    reply_rate_hz = 0
    async with aiohttp.ClientSession(headers=headers) as http, \
            http.ws_connect(f"{args.url.rstrip('/')}/ws") as ws:
        await ws.send_json({"type": "register_tools", "tools": TOOLS})
        sender = None
        typed_turn = None
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                reply_audio += msg.data
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            kind = message["type"]
            if kind == "tools_registered":
                print(f"tools registered: {', '.join(message['names'])}")
                if args.text:
                    await ws.send_json({"type": "text", "text": args.text})
                else:
                    sender = asyncio.create_task(stream_wav(ws, *read_wav(args.wav)))
            elif kind == "tool_call":
                print(f"tool call: {message['name']}({json.dumps(message['args'])})")
                try:
                    answer = {"result": open_door(**message["args"])}
                except Exception as exc:  # the agent turns an error into a spoken apology
                    answer = {"error": str(exc)}
                await ws.send_json({"type": "tool_result", "call_id": message["call_id"],
                                    **answer})
            elif kind == "accepted":
                typed_turn = message["turn_id"]
            elif kind == "audio_out_start":
                reply_rate_hz = message["sample_rate_hz"]
            elif kind == "error":
                print(f"error: {message['message']}", file=sys.stderr)
                if message.get("request") in ("register_tools", "text", "audio_start"):
                    return 1
            elif kind == "event":
                event = {k: v for k, v in message.items() if k not in ("type", "event")}
                print(f"{message['event']:<20} {json.dumps(event, ensure_ascii=False)}")
                ours = message["turn_id"] == typed_turn if args.text \
                    else message["turn_id"] < TYPED_TURN_START
                if message["event"] == "speaking_finished" and ours:
                    break  # our turn was answered
        if sender is not None:
            sender.cancel()
    if reply_audio and args.out:
        with wave.open(str(args.out), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(reply_rate_hz)
            w.writeframes(bytes(reply_audio))
        print(f"reply audio: {args.out} ({len(reply_audio) / 2 / reply_rate_hz:.1f} s)")
    elif args.out:
        print("no reply audio (the daemon runs text-only: no Vietnamese voice installed)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wav", type=Path, nargs="?", help="16-bit mono WAV to speak")
    parser.add_argument("--text", help="send a typed request instead of audio")
    parser.add_argument("--out", type=Path, help="save the reply audio to this WAV file")
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--token", default=os.environ.get("EDGEVOX_TOKEN"),
                        help="the daemon's token (default: $EDGEVOX_TOKEN)")
    args = parser.parse_args()
    if not args.wav and not args.text:
        parser.error("give a WAV file or --text")
    try:
        return asyncio.run(run(args))
    except aiohttp.ClientError as exc:
        print(f"cannot talk to the daemon at {args.url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
