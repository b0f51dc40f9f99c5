"""The operational log: schema, privacy, rotation, retention, crash safety, reading back."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from edgevox.catalog import ModelStore
from edgevox.errors import ConfigError, EdgevoxError
from edgevox.events import Event
from edgevox.trust.commands import add_commands, parse_since
from edgevox.trust.oplog import (
    LOG_NAME,
    OperationalLog,
    log_files,
    model_fingerprints,
    read_records,
    record_from_events,
    redact,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO_ROOT / "docs/schemas/oplog-turn.v1.json").read_text(encoding="utf-8"))
MODELS = {"vietasr-streaming-ctc": "unknown", "silero-vad": "1a153a22f4509e292a94e67d6f9b85e8"
          "deb25b4988682b7e174c65279d8788e3"}
TRANSCRIPT = "gọi cho số 0912 345 678 lúc mười lăm giờ, email an.nguyen@example.vn"
REPLY = "Đã hẹn giờ 15 phút cho bạn."


def validate(record: dict) -> None:
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(record)


def turn_events(turn_id: int = 1, t0: float | None = None, transcript: str = TRANSCRIPT
                ) -> list[Event]:
    """A complete turn with a tool call, at known monotonic times from ``t0``."""
    t0 = time.monotonic() - 10 if t0 is None else t0
    spec = [
        (0.0, "listening", {}),
        (0.5, "speech_started", {"preroll_ms": 300}),
        (1.0, "partial_transcript", {"text": "gọi cho", "audio_s": 0.5}),
        (3.0, "end_of_turn", {"eot_delay_ms": 420, "reason": "smart_turn",
                              "probability_complete": 0.93}),
        (3.05, "final_transcript", {"text": transcript, "audio_s": 2.5, "decode_s": 0.12,
                                    "finalize_s": 0.03, "partials": ["gọi cho"]}),
        (3.4, "llm_first_token", {}),
        (3.6, "tool_call", {"name": "set_timer",
                            "arguments": {"minutes": 15, "label": "gọi 0912345678"}}),
        (3.7, "tool_result", {"name": "set_timer", "result": {"message": "hẹn 15 phút"}}),
        (4.0, "speaking_started", {}),
        (6.0, "speaking_finished", {"text": REPLY}),
    ]
    return [Event(kind, turn_id, data, t0 + dt) for dt, kind, data in spec]


def test_committed_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_record_from_events_validates_and_measures_stages(tmp_path):
    with OperationalLog(tmp_path, privacy="full") as oplog:
        written = oplog.write(record_from_events(turn_events(7), MODELS))
    [record] = list(read_records(tmp_path))
    assert record == written
    validate(record)
    assert record["turn_id"] == 7
    assert record["session_id"] == oplog.session_id
    assert record["models"] == MODELS
    assert record["eot_delay_ms"] == 420 and record["eot_reason"] == "smart_turn"
    assert record["speech_ms"] == 2500.0
    assert record["duration_ms"] == 6000.0
    assert record["latencies_ms"] == {
        "asr_decode_ms": 120.0, "asr_finalize_ms": 30.0, "llm_first_token_ms": 350.0,
        "tools_ms": 100.0, "voice_to_voice_ms": 1420.0, "speaking_ms": 2000.0}
    assert record["tool_calls"] == [{"name": "set_timer",
                                     "arguments": {"minutes": 15, "label": "gọi 0912345678"},
                                     "result": {"message": "hẹn 15 phút"}, "ok": True,
                                     "duration_ms": 100.0}]
    assert record["transcript"] == {"chars": len(TRANSCRIPT), "text": TRANSCRIPT}
    assert record["reply"] == {"chars": len(REPLY), "text": REPLY}
    started = datetime.fromisoformat(record["started_at"])
    ended = datetime.fromisoformat(record["ended_at"])
    assert ended - started == timedelta(seconds=6)
    assert abs((datetime.now(timezone.utc) - ended).total_seconds() - 4) < 2


def test_barge_in_error_and_orphan_result_are_recorded(tmp_path):
    t0 = time.monotonic()
    events = [Event("end_of_turn", 3, {"eot_delay_ms": 800, "reason": "silence"}, t0),
              Event("final_transcript", 3, {"text": "thời tiết"}, t0 + 0.1),
              Event("tool_result", 3, {"name": "weather", "error": "timeout"}, t0 + 0.2),
              Event("speaking_started", 3, {}, t0 + 0.5),
              Event("interrupted", 3, {"heard_text": "Hôm nay"}, t0 + 0.9),
              Event("error", 3, {"stage": "tts", "message": "voice crashed"}, t0 + 1.0)]
    with OperationalLog(tmp_path, privacy="full") as oplog:
        record = oplog.write(record_from_events(events, {}))
    validate(record)
    assert record["interrupted"] is True
    assert record["reply"]["text"] == "Hôm nay"
    assert record["latencies_ms"]["speaking_ms"] == 400.0
    assert record["tool_calls"][0]["ok"] is False
    assert record["tool_calls"][0]["error"] == "timeout"
    assert record["errors"] == [{"stage": "tts", "message": "voice crashed", "at_ms": 1000.0}]


def test_events_of_two_turns_are_refused():
    with pytest.raises(ValueError, match="several turns"):
        record_from_events([Event("listening", 1), Event("listening", 2)], {})


@pytest.mark.parametrize("privacy", ["off", "redacted", "full"])
def test_privacy_modes(tmp_path, privacy):
    with OperationalLog(tmp_path, privacy=privacy) as oplog:
        oplog.write(record_from_events(turn_events(), MODELS))
    line = (tmp_path / LOG_NAME).read_text(encoding="utf-8")
    record = json.loads(line)
    validate(record)
    assert record["privacy"] == privacy
    call = record["tool_calls"][0]
    assert call["arguments"]["minutes"] == 15  # numbers that are not text stay usable
    if privacy == "off":
        assert "transcript" not in record and "reply" not in record
        assert call["arguments"]["label"] == "[omitted]"
        assert call["result"] == {"message": "[omitted]"}
        assert "0912" not in line and "gọi" not in line
    elif privacy == "redacted":
        text = record["transcript"]["text"]
        assert record["transcript"]["chars"] == len(TRANSCRIPT)
        assert "[phone]" in text and "[email]" in text and "gọi cho số" in text
        assert "mười lăm" not in text  # spoken numbers are masked too
        assert not re.search(r"\d", text + record["reply"]["text"] + call["arguments"]["label"])
        assert "0912" not in line and "an.nguyen" not in line
    else:
        assert record["transcript"]["text"] == TRANSCRIPT
        assert call["arguments"]["label"] == "gọi 0912345678"


def test_redact_masks_numbers_mails_and_phone_numbers():
    assert redact("số +84 912-345-678 nhé") == "số [phone] nhé"
    assert redact("gửi tới a.b+c@mail.com.vn") == "gửi tới [email]"
    assert redact("phòng 204 lúc 10 giờ 30") == "phòng ### lúc ## giờ ##"
    assert redact("hẹn giờ hai mươi lăm phút") == "hẹn giờ ## phút"


def test_invalid_privacy_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="privacy"):
        OperationalLog(tmp_path, privacy="everything")


def test_rotation_at_max_bytes_keeps_n_files(tmp_path):
    max_bytes, keep = 3000, 2
    with OperationalLog(tmp_path, privacy="full", max_bytes=max_bytes, keep_files=keep) as oplog:
        for turn in range(1, 41):
            oplog.write(record_from_events(turn_events(turn), MODELS))
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(LOG_NAME))
    assert names == [LOG_NAME, f"{LOG_NAME}.1", f"{LOG_NAME}.2"]
    for path in log_files(tmp_path):
        assert 0 < path.stat().st_size <= max_bytes
    turns = [r["turn_id"] for r in read_records(tmp_path)]
    assert turns == list(range(turns[0], 41))  # the newest turns, in order, none lost between
    assert turns[0] > 1  # the oldest ones were rotated out


def test_retention_deletes_old_and_surplus_rotated_files(tmp_path):
    with OperationalLog(tmp_path, privacy="off", max_bytes=1500, keep_files=3) as oplog:
        for turn in range(1, 20):
            oplog.write(record_from_events(turn_events(turn), {}))
    rotated = {p.name for p in tmp_path.glob(f"{LOG_NAME}.*")}
    assert rotated == {f"{LOG_NAME}.1", f"{LOG_NAME}.2", f"{LOG_NAME}.3"}
    old = time.time() - 3 * 86_400
    os.utime(tmp_path / f"{LOG_NAME}.3", (old, old))
    (tmp_path / f"{LOG_NAME}.9").write_text("", encoding="utf-8")  # beyond keep_files
    os.utime(tmp_path / LOG_NAME, (old, old))  # the active file is never deleted by age
    with OperationalLog(tmp_path, keep_files=3, keep_days=2):
        pass
    assert {p.name for p in tmp_path.glob(f"{LOG_NAME}*")} == {
        LOG_NAME, f"{LOG_NAME}.1", f"{LOG_NAME}.2"}


_WRITER = textwrap.dedent("""
    import sys, time
    from edgevox.events import Event
    from edgevox.trust.oplog import OperationalLog, record_from_events
    log = OperationalLog(sys.argv[1], privacy="full", max_bytes=200_000, keep_files=50)
    turn = 0
    while True:
        turn += 1
        t0 = time.monotonic()
        events = [Event("end_of_turn", turn, {"eot_delay_ms": 300}, t0),
                  Event("final_transcript", turn, {"text": "xin chào " * 300}, t0 + 0.1)]
        log.write(record_from_events(events, {}))
""")


def _bytes_written(log_dir):
    """The log files' total size; a file rotated away between listing and stat counts 0."""
    total = 0
    for path in log_dir.glob(f"{LOG_NAME}*"):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


def test_sigkill_mid_writing_leaves_a_readable_log(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 25
        while _bytes_written(tmp_path) < 600_000:
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer too slow"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert len(log_files(tmp_path)) > 2  # it rotated while writing
    complete = 0
    for path in log_files(tmp_path):
        lines = path.read_bytes().split(b"\n")
        for line in lines[:-1]:
            json.loads(line)  # every complete line parses
            complete += 1
        assert lines[-1] == b"" or path.name == LOG_NAME  # only the live file may be torn
    turns = [r["turn_id"] for r in read_records(tmp_path)]
    assert len(turns) == complete
    assert turns == list(range(1, len(turns) + 1))


def test_torn_last_line_is_skipped_and_ended_by_the_next_writer(tmp_path):
    with OperationalLog(tmp_path) as oplog:
        oplog.write(record_from_events(turn_events(1), {}))
    with (tmp_path / LOG_NAME).open("ab") as fh:
        fh.write(b'{"schema":"oplog-turn.v1","turn_id":2,"sess')  # a crash mid-write
    assert [r["turn_id"] for r in read_records(tmp_path)] == [1]
    with OperationalLog(tmp_path) as oplog:
        oplog.write(record_from_events(turn_events(3), {}))
    assert [r["turn_id"] for r in read_records(tmp_path)] == [1, 3]


def test_read_records_since_filters_by_turn_start(tmp_path):
    now = time.monotonic()
    with OperationalLog(tmp_path) as oplog:
        for turn, age_s in ((1, 3 * 86_400), (2, 3600), (3, 60)):
            oplog.write(record_from_events(turn_events(turn, now - age_s), {}))
    utc_now = datetime.now(timezone.utc)
    assert [r["turn_id"] for r in read_records(tmp_path)] == [1, 2, 3]
    assert [r["turn_id"] for r in read_records(tmp_path, utc_now - timedelta(days=2))] == [2, 3]
    assert [r["turn_id"] for r in read_records(tmp_path, utc_now - timedelta(minutes=30))] == [3]
    assert list(read_records(tmp_path, utc_now + timedelta(minutes=1))) == []


def test_model_fingerprints_from_the_real_catalogue(tmp_path):
    store = ModelStore(root=tmp_path)
    zipformer = store.catalog.get("zipformer-vi-2025-04-20")
    listing = "".join(f"{f.sha256}  {f.name}\n" for f in sorted(zipformer.files,
                                                               key=lambda f: f.name))
    assert model_fingerprints(store, ["silero-vad", "piper-vi_VN-vais1000-medium",
                                      "zipformer-vi-2025-04-20"]) == {
        "silero-vad": MODELS["silero-vad"],
        "piper-vi_VN-vais1000-medium": "unknown",  # BLAKE3-pinned: sha256 known once pulled
        "zipformer-vi-2025-04-20": hashlib.sha256(listing.encode()).hexdigest(),
    }


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="edgevox")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_log_export_and_tail_commands(tmp_path, capsys):
    logs = tmp_path / "logs"
    now = time.monotonic()
    with OperationalLog(logs, privacy="redacted") as oplog:
        for turn, age_s in ((1, 2 * 86_400), (2, 600), (3, 30)):
            oplog.write(record_from_events(turn_events(turn, now - age_s), MODELS))
    out = tmp_path / "export.jsonl"
    assert _cli(["log", "export", "--since", "24h", "--dir", str(logs), "--out", str(out)]) == 0
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["turn_id"] for r in exported] == [2, 3]
    for record in exported:
        validate(record)
    capsys.readouterr()
    assert _cli(["log", "tail", "-n", "2", "--dir", str(logs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "turn 2" in lines[0] and "turn 3" in lines[1]
    assert "tool set_timer" in lines[1] and "voice to voice 1420 ms" in lines[1]
    with pytest.raises(EdgevoxError, match="--since"):
        _cli(["log", "export", "--since", "last tuesday", "--dir", str(logs)])
    with pytest.raises(EdgevoxError, match="no operational log"):
        _cli(["log", "tail", "--dir", str(tmp_path / "missing")])


def test_parse_since_durations_and_dates():
    now = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2026-11-01T08:00+07:00") == datetime(2026, 11, 1, 1, 0,
                                                             tzinfo=timezone.utc)
    local = parse_since("2026-11-01")
    assert local.tzinfo is not None and (local.year, local.month, local.day) == (2026, 11, 1)
