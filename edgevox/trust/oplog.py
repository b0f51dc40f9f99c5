"""The operational log: one JSON line per completed turn.

What a provider must be able to show after the fact (which models answered, how fast, which
tools ran with which arguments, what failed) is recorded here without touching any stage: the
runtime hands over the :class:`~edgevox.events.Event` objects of a finished turn and
:func:`record_from_events` derives the record from them through the turn's
:class:`~edgevox.runtime.timeline.TurnTimeline`. Records follow the committed JSON Schema
``docs/schemas/oplog-turn.v1.json``.

Durability rules:

* A record is one line written with a single :func:`os.write` on an ``O_APPEND`` descriptor and
  then :func:`os.fsync`'d, so a crash or power cut loses at most the turn being written. If a
  write was torn anyway (a full disk, a killed process mid-write), the next writer first ends
  the broken line, and readers skip any line that is not complete JSON.
* ``edgevox.log`` rotates to ``edgevox.log.1`` (then ``.2`` ... ``.<keep_files>``) before a
  write would take it past ``max_bytes``; rotated files older than ``keep_days`` are deleted.
  Rotation holds an ``flock`` so a CLI and the daemon can share one directory.

Privacy (``off`` | ``redacted`` | ``full``) governs free text: the user's transcript, the reply,
and the strings inside tool arguments and results. ``off`` keeps none of it, ``redacted`` keeps
the text with e-mail addresses, phone numbers and every digit masked (spoken numbers are turned
into digits first, so "không chín một ..." is masked too), ``full`` keeps it verbatim. Audio is
never logged.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from edgevox import __version__
from edgevox.errors import ConfigError
from edgevox.events import EndOfTurn, Error, Event, FinalTranscript
from edgevox.runtime.timeline import ToolSpan, TurnTimeline
from edgevox.text.spoken import to_digits

log = logging.getLogger(__name__)

SCHEMA = "oplog-turn.v1"
LOG_NAME = "edgevox.log"
PRIVACY_MODES = ("off", "redacted", "full")
Privacy = Literal["off", "redacted", "full"]
DEFAULT_MAX_BYTES = 10_000_000
DEFAULT_KEEP_FILES = 5
DEFAULT_KEEP_DAYS = 30
UNKNOWN_SHA256 = "unknown"
_SECONDS_PER_DAY = 86_400
_LOCK_NAME = ".edgevox.log.lock"
_FILE_MODE = 0o640  # transcripts are personal data: not world-readable

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Eight or more digits with at most two separators between them: Vietnamese mobile and landline
# numbers ("0912 345 678", "+84 912-345-678", "(028) 3829 1234"), not "10 giờ 30".
_PHONE = re.compile(r"(?<!\w)[+(]?\d(?:[ .\-()]{0,2}\d){7,}(?!\w)")
_DIGIT = re.compile(r"\d")


# --------------------------------------------------------------------------------------------
# Building a record


def redact(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers and all digits (spoken ones too) masked."""
    text = _EMAIL.sub("[email]", to_digits(text))
    text = _PHONE.sub("[phone]", text)
    return _DIGIT.sub("#", text)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds")


def _ms(seconds: float) -> float:
    return round(max(0.0, seconds) * 1000, 1)


def _text(value: object) -> dict[str, Any]:
    text = str(value)
    return {"chars": len(text), "text": text}


def model_fingerprints(store, model_ids: Iterable[str]) -> dict[str, str]:
    """``{model id: sha256}`` naming the exact bytes of each model, for the log's ``models``.

    A one-file model's value is that file's sha256 (comparable with the catalogue and upstream);
    a model of several files gets the sha256 of its ``sha256sum``-style listing (lines
    ``<sha256>  <name>`` sorted by name). ``unknown`` where a file's hash is not recorded yet.
    """
    out = {}
    for model_id in model_ids:
        entry = store.catalog.get(model_id)
        hashes = {f.name: store.expected_sha256(entry, f) for f in entry.files}
        if not all(hashes.values()):
            out[model_id] = UNKNOWN_SHA256
        elif len(hashes) == 1:
            out[model_id] = next(iter(hashes.values()))
        else:
            listing = "".join(f"{h}  {n}\n" for n, h in sorted(hashes.items()))
            out[model_id] = hashlib.sha256(listing.encode()).hexdigest()
    return out


def record_from_events(events: Sequence[Event], models: Mapping[str, str]) -> dict[str, Any]:
    """The log record of one finished turn, from its events (any order) and the models in use.

    ``models`` maps model id -> sha256 (see :func:`model_fingerprints`). Every figure comes from
    the turn's :class:`~edgevox.runtime.timeline.TurnTimeline`, so it matches what ``edgevox
    chat --json`` and ``edgevox bench`` report for the same turn. Text is kept verbatim here;
    :class:`OperationalLog` applies its privacy setting when it writes the record.
    """
    if not events:
        raise ValueError("a turn record needs at least one event")
    timeline = TurnTimeline(events)
    start, end = timeline.events[0], timeline.events[-1]
    # Events carry monotonic times; anchor them to the wall clock once, now.
    offset_s = time.time() - time.monotonic()
    final = timeline.last("final_transcript")
    eot = timeline.first("end_of_turn")
    audio_s = FinalTranscript.of(final).audio_s if final is not None else None
    record: dict[str, Any] = {
        "turn_id": start.turn_id,
        "started_at": _iso(start.t + offset_s),
        "ended_at": _iso(end.t + offset_s),
        "duration_ms": _ms(timeline.duration_s),
        "models": dict(models),
        "speech_ms": _ms(audio_s) if isinstance(audio_s, (int, float)) else None,
        "eot_delay_ms": EndOfTurn.of(eot).eot_delay_ms if eot else None,
        "eot_reason": EndOfTurn.of(eot).reason if eot else None,
        "latencies_ms": {name: _ms(value) for name, value in (
            ("asr_decode_ms", timeline.asr_decode_s),
            ("asr_finalize_ms", timeline.asr_finalize_s),
            ("llm_first_token_ms", timeline.llm_first_output_s),
            ("llm_ttft_ms", timeline.llm_ttft_s),
            ("tools_ms", timeline.tools_s),
            ("voice_to_voice_ms", timeline.voice_to_voice_s),
            ("speaking_ms", timeline.speaking_s),
        ) if isinstance(value, (int, float))},
        "interrupted": timeline.interrupted,
        "tool_calls": [_tool_call(span) for span in timeline.tool_spans()],
        "errors": [_error(event, start.t) for event in timeline.events
                   if event.type == "error"],
    }
    transcript = timeline.transcript
    if transcript is not None:
        record["transcript"] = _text(transcript)
    if timeline.reply is not None:
        record["reply"] = _text(timeline.reply)
    return record


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _error(event: Event, start_t: float) -> dict[str, Any]:
    error = Error.of(event)
    return {"stage": _optional_str(error.stage), "message": str(error.message),
            "at_ms": _ms(event.t - start_t)}


def _tool_call(span: ToolSpan) -> dict[str, Any]:
    call: dict[str, Any] = {"name": span.name, "arguments": span.arguments,
                            "result": span.result, "ok": span.ok,
                            "duration_ms": None if span.duration_s is None
                            else _ms(span.duration_s)}
    if span.error is not None:
        call["error"] = span.error
    return call


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, Mapping):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_strings(v, fn) for v in value]
    return value


def _omit(_text: str) -> str:
    return "[omitted]"


def check_privacy(privacy: str) -> None:
    if privacy not in PRIVACY_MODES:
        raise ConfigError(f"log privacy must be one of {', '.join(PRIVACY_MODES)}, "
                          f"not '{privacy}'")


def apply_privacy(record: Mapping[str, Any], privacy: Privacy) -> dict[str, Any]:
    """A copy of ``record`` holding only the text that ``privacy`` allows (see module doc)."""
    check_privacy(privacy)
    out = dict(record)
    if privacy == "full":
        return out
    for key in ("transcript", "reply"):
        if key in out:
            if privacy == "off":
                del out[key]
            else:
                out[key] = {"chars": out[key]["chars"], "text": redact(out[key]["text"])}
    mask = redact if privacy == "redacted" else _omit
    out["tool_calls"] = [
        {**call, **{k: _map_strings(call[k], mask) for k in ("arguments", "result", "error")
                    if k in call}}
        for call in out.get("tool_calls", [])
    ]
    return out


# --------------------------------------------------------------------------------------------
# Writing


def _rotated(directory: Path, index: int) -> Path:
    return directory / f"{LOG_NAME}.{index}"


def _rotated_files(directory: Path) -> list[tuple[int, Path]]:
    """Rotated files as (number, path), lowest number (newest) first."""
    found = []
    for path in directory.glob(f"{LOG_NAME}.*"):
        suffix = path.name[len(LOG_NAME) + 1:]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return sorted(found)


class OperationalLog:
    """Appends turn records to ``directory/edgevox.log``; safe across threads and processes."""

    def __init__(self, directory: Path, privacy: Privacy = "redacted",
                 max_bytes: int = DEFAULT_MAX_BYTES, keep_files: int = DEFAULT_KEEP_FILES,
                 keep_days: float = DEFAULT_KEEP_DAYS, session_id: str | None = None) -> None:
        check_privacy(privacy)
        if max_bytes < 1 or keep_files < 0 or keep_days < 0:
            raise ConfigError("log limits must be positive: max_bytes >= 1, keep_files >= 0, "
                              f"keep_days >= 0 (got {max_bytes}, {keep_files}, {keep_days})")
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self.privacy: Privacy = privacy
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self.keep_days = keep_days
        self.session_id = session_id or uuid.uuid4().hex
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o750)
            self._lock_fd = os.open(self.directory / _LOCK_NAME,
                                    os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        except OSError as exc:
            raise ConfigError(f"cannot write the operational log in {self.directory}: "
                              f"{exc.strerror or exc}; choose a writable log directory") from None
        self._fd: int | None = None
        self._lock = threading.Lock()
        self.prune()

    # -- public
    def write(self, record: Mapping[str, Any], session_id: str | None = None) -> dict[str, Any]:
        """Append ``record`` (from :func:`record_from_events`) after applying the privacy
        setting; return the line as written. Raises OSError when the disk refuses it."""
        head = {"schema": SCHEMA, "edgevox_version": __version__,
                "session_id": session_id or self.session_id, "privacy": self.privacy}
        body = apply_privacy(record, self.privacy)
        full = {**head, **{k: v for k, v in body.items() if k not in head and k != "logged_at"},
                "logged_at": _iso(time.time())}
        line = json.dumps(full, ensure_ascii=False, separators=(",", ":"), default=str)
        data = (line + "\n").encode("utf-8")
        with self._lock, self._flock():
            if self._fd is None or self._moved_away():
                self._open()
            assert self._fd is not None
            size = os.fstat(self._fd).st_size
            if size and size + len(data) > self.max_bytes:
                self._rotate()
            view = memoryview(data)
            while view:  # one write in practice; a short write (disk nearly full) continues
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        return full

    def log_turn(self, events: Sequence[Event], models: Mapping[str, str],
                 session_id: str | None = None) -> dict[str, Any] | None:
        """Record one finished turn for the runtime; a failing disk is logged, never raised,
        so the conversation goes on."""
        try:
            return self.write(record_from_events(events, models), session_id)
        except OSError as exc:
            log.error("operational log %s: turn not recorded: %s", self.path, exc)
            return None

    def prune(self) -> list[Path]:
        """Delete rotated files beyond ``keep_files`` or older than ``keep_days``."""
        cutoff = time.time() - self.keep_days * _SECONDS_PER_DAY
        removed = []
        with self._lock, self._flock():
            for index, path in _rotated_files(self.directory):
                try:
                    if index > self.keep_files or path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed.append(path)
                except FileNotFoundError:
                    continue
        for path in removed:
            log.info("operational log: deleted %s (retention)", path)
        return removed

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1

    def __enter__(self) -> OperationalLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals (called with both locks held)
    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        if self._lock_fd < 0:
            raise ValueError("operational log is closed")
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _moved_away(self) -> bool:
        """True when another process rotated the file this descriptor still points at."""
        assert self._fd is not None
        try:
            return os.stat(self.path).st_ino != os.fstat(self._fd).st_ino
        except FileNotFoundError:
            return True

    def _open(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                           _FILE_MODE)
        if os.fstat(self._fd).st_size:
            with self.path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"
            if torn:  # end a line cut short by a crash so the next record stays readable
                os.write(self._fd, b"\n")

    def _rotate(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None
        if self.keep_files == 0:
            self.path.unlink(missing_ok=True)
        else:
            _rotated(self.directory, self.keep_files).unlink(missing_ok=True)
            for index in range(self.keep_files - 1, 0, -1):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(_rotated(self.directory, index),
                               _rotated(self.directory, index + 1))
            os.replace(self.path, _rotated(self.directory, 1))
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the renames themselves survive a power cut
        finally:
            os.close(dir_fd)
        self._open()


# --------------------------------------------------------------------------------------------
# Reading


def log_files(directory: Path) -> list[Path]:
    """The log's files, oldest first: ``edgevox.log.N`` ... ``edgevox.log.1``, ``edgevox.log``."""
    directory = Path(directory)
    files = [path for _, path in reversed(_rotated_files(directory))]
    current = directory / LOG_NAME
    return [*files, current] if current.is_file() else files


def _records_in(path: Path) -> Iterator[dict[str, Any]]:
    """Complete records of one file; a torn or corrupt line is skipped with a warning."""
    try:
        fh = path.open("rb")
    except FileNotFoundError:  # rotated away or pruned since it was listed
        return
    with fh:
        for number, raw in enumerate(fh, 1):
            try:
                record = json.loads(raw) if raw.endswith(b"\n") else None
            except ValueError:
                record = None
            if isinstance(record, dict):
                yield record
            elif raw.strip():
                log.warning("%s:%d: skipped an incomplete or corrupt line", path, number)


def parse_time(value: object) -> float | None:
    """Seconds since the epoch of a record's ISO timestamp, or None if it has none."""
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def read_records(directory: Path, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every readable record in time order across rotated files; with ``since`` (naive means
    local time) only turns that started at or after it."""
    since_ts = since.timestamp() if since is not None else None
    for path in log_files(directory):
        if since_ts is not None:
            try:
                if path.stat().st_mtime < since_ts:  # last written before `since`: all older
                    continue
            except FileNotFoundError:
                continue
        for record in _records_in(path):
            if since_ts is not None:
                started = parse_time(record.get("started_at"))
                if started is None or started < since_ts:
                    continue
            yield record


def tail_records(directory: Path, count: int) -> list[dict[str, Any]]:
    """The last ``count`` records, oldest first, reading only the newest files needed."""
    if count <= 0:
        return []
    out: list[dict[str, Any]] = []
    for path in reversed(log_files(directory)):
        out = list(_records_in(path))[-(count - len(out)):] + out
        if len(out) >= count:
            break
    return out
