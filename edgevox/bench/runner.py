"""The `edgevox bench` driver: each case in a fresh process, real stages, real recordings.

A *case* is one subprocess that loads only what it measures (``asr``, ``llm``, ``tts``) or the
whole agent (``agent``), so its peak RSS, read by the parent from the child's own rusage
(:func:`os.wait4`), belongs to that case alone. Inside a case, warm-up passes over the inputs are
run and discarded, then ``runs`` measured passes are recorded; every sample keeps the index of
the pass it came from so the report can state the run-to-run spread.

The driver builds stages with :mod:`edgevox.runtime.build` and reads latencies from the agent's
own events (see :func:`turn_breakdown`), exactly as the CLI and the daemon run them: nothing of
the pipeline is re-implemented here.

Run as ``python -m edgevox.bench.runner SPEC RESULT LAUNCHED_AT`` it is the child side.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgevox.bench.metrics import BREAKDOWN, CASES
from edgevox.bench.scoring import word_error_rate
from edgevox.catalog import ModelStore
from edgevox.config import Config
from edgevox.errors import AudioError, ConfigError, EdgevoxError, ModelError
from edgevox.events import Event
from edgevox.runtime.timeline import TurnTimeline, split_turns

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
ASR_CORPUS = "asr-cv-vi-dev"
SAMPLE_SPEECH_ID = "sample-vi-speech"
SUBSTITUTE_VOICE_ID = "piper-en_US-joe-medium"
SUBSTITUTE_VOICE_NOTE = (
    "The configured Vietnamese voice is not installed, so TTS and end-to-end figures use the "
    f"English Piper voice {SUBSTITUTE_VOICE_ID} relabelled to read Vietnamese phonemes "
    "(espeak-ng 'vi'). Piper medium voices share one phoneme map, so the model does the same "
    "work a Vietnamese medium voice would: the timings stand in for it, the pronunciation does not."
)
AGENT_BLOCK_MS = 20  # what a microphone callback delivers
CASE_TIMEOUT_S = 3600.0
TG_TOKENS = 16  # generation-speed sample: greedy tokens after the fixed text
_POLL_S = 0.1

# Requests for the LLM case: tool calls and chit-chat in everyday spoken Vietnamese.
REQUESTS_VI = (
    "hẹn giờ năm phút",
    "bạn tên là gì",
    "bật đèn phòng khách",
    "đặt báo thức lúc sáu giờ rưỡi sáng",
    "bây giờ là mấy giờ",
    "thời tiết ở Đà Nẵng hôm nay thế nào",
    "tăng âm lượng lên tám mươi",
    "kể cho tôi một câu chuyện thật ngắn",
)

# Text for the TTS case and for the LLM's prompt-throughput sample: numbers, dates, times and
# long sentences, the hard parts of Vietnamese speech output.
PARAGRAPHS = (
    "Dạ, hôm nay là thứ Hai, ngày 15/9/2025. Ở Hà Nội trời nhiều mây, nhiệt độ từ 24 đến "
    "31 độ C, độ ẩm khoảng 78%, chiều tối có thể có mưa rào và dông rải rác, bạn nhớ mang "
    "theo áo mưa khi ra ngoài nhé.",
    "Chuyến tàu SE1 khởi hành lúc 19:30 từ ga Hà Nội và dự kiến đến ga Sài Gòn lúc 04:15 "
    "sáng ngày 17/9. Giá vé giường nằm khoang bốn là 1.250.000 đồng, vé ngồi mềm điều hoà "
    "là 890.000 đồng, trẻ em dưới 6 tuổi được miễn phí nếu đi cùng người lớn.",
    "Tôi đã đặt báo thức lúc 6 giờ 45 phút sáng mai, bật đèn phòng khách ở mức 60% và hạ "
    "nhiệt độ điều hoà phòng ngủ xuống 26 độ; nếu bạn muốn tôi nhắc uống thuốc vào lúc "
    "8 giờ tối mỗi ngày trong tuần này thì hãy nói lại cho tôi biết nhé.",
    "Theo số liệu năm 2024, dân số TP.HCM vào khoảng 9,5 triệu người, diện tích hơn "
    "2.095 km², và thành phố có 16 quận, 1 thành phố trực thuộc cùng 5 huyện ngoại thành "
    "trải dài từ Củ Chi ở phía tây bắc cho tới Cần Giờ giáp biển Đông ở phía đông nam.",
)
PROMPT_SAMPLE_TEXT = " ".join(PARAGRAPHS[:2])


# --------------------------------------------------------------------------------------------
# What to measure


@dataclass(frozen=True)
class Plan:
    """What one bench invocation measures (see docs/benchmarks.md, "Protocol")."""

    quick: bool = False
    runs: int = 3
    """Measured passes over each case's inputs."""
    warmup: int = 1
    """Passes run first and discarded (page cache, allocator, onnxruntime first calls)."""
    cases: tuple[str, ...] = CASES
    asr_clips: int | None = None
    """Recordings per ASR pass (None: all of them)."""
    agent_clips: int = 8
    """Recordings per agent pass, each one spoken turn fed at real-time pace."""
    llm_requests: int = len(REQUESTS_VI)
    tts_paragraphs: int = len(PARAGRAPHS)
    room_replies: int = 60
    """Simulated replies per echo condition in the ``room`` case (one pass, see
    :mod:`edgevox.bench.roomcase`)."""


FULL = Plan()
# Quick: fewer inputs and passes, and no LLM-only process: loading the LLM and evaluating its
# prompt prefix is the largest fixed cost, so it is paid once (in the agent process, which then
# also takes the LLM throughput samples).
QUICK = Plan(quick=True, runs=2, warmup=1, cases=("asr", "tts", "agent", "room"), asr_clips=8,
             agent_clips=2, llm_requests=2, tts_paragraphs=2, room_replies=12)
ROOM_SEED = 14


def make_plan(quick: bool = False, runs: int | None = None, warmup: int | None = None,
              cases: Sequence[str] | None = None) -> Plan:
    """The full or quick plan with the caller's overrides; ConfigError on impossible values."""
    plan = QUICK if quick else FULL
    if runs is not None:
        if runs < 1:
            raise ConfigError(f"--runs must be at least 1, got {runs}")
        plan = replace(plan, runs=runs)
    if warmup is not None:
        if warmup < 0:
            raise ConfigError(f"--warmup must be 0 or more, got {warmup}")
        plan = replace(plan, warmup=warmup)
    if cases is not None:
        unknown = [c for c in cases if c not in CASES]
        if unknown or not cases:
            raise ConfigError(f"unknown bench case(s) {', '.join(unknown) or '(none)'}; "
                              f"choose from: {', '.join(CASES)}")
        plan = replace(plan, cases=tuple(c for c in CASES if c in cases))
    return plan


@dataclass(frozen=True)
class Clip:
    """One recording, with its reference transcript when a manifest gives one."""

    path: Path
    text: str | None = None


def default_audio_dir() -> Path:
    """``$EDGEVOX_EVAL_DIR/asr-cv-vi-dev``, else ``../shared/eval/asr-cv-vi-dev`` beside the
    checkout (real Common Voice speech; never shipped with the package)."""
    root = Path(os.environ.get("EDGEVOX_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval"))
    return root / ASR_CORPUS


def find_clips(audio_dir: Path | None, store: ModelStore) -> tuple[list[Clip], str]:
    """The recordings to measure with, and where they came from.

    ``audio_dir`` holds WAV files, listed by a ``manifest.jsonl`` (``{"audio": name, "text":
    reference}`` per line) when there is one, else taken in name order. Without it, the eval
    corpus is used, else the catalogue's sample recording.
    """
    directory = audio_dir or default_audio_dir()
    if directory.is_dir():
        clips = _clips_in(directory)
        if clips:
            return clips, str(directory)
    if audio_dir is not None:
        raise AudioError(f"--audio-dir {audio_dir}: no WAV files found; pass a folder of WAV "
                         "recordings (optionally with manifest.jsonl)")
    try:
        sample = store.path(SAMPLE_SPEECH_ID) / "sample.wav"
    except ModelError:
        raise AudioError(f"no recordings to benchmark with: the eval corpus is not at "
                         f"{directory}; pass --audio-dir DIR, set EDGEVOX_EVAL_DIR, or run "
                         f"`edgevox models pull {SAMPLE_SPEECH_ID}`") from None
    return [Clip(sample)], f"catalogue model {SAMPLE_SPEECH_ID}"


def _clips_in(directory: Path) -> list[Clip]:
    manifest = directory / "manifest.jsonl"
    if not manifest.is_file():
        return [Clip(path) for path in sorted(directory.glob("*.wav"))]
    clips = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            clips.append(Clip(directory / item["audio"], item.get("text")))
        except (json.JSONDecodeError, KeyError, TypeError):
            raise AudioError(f"{manifest}:{number}: expected {{\"audio\": FILE, \"text\": ...}}"
                             ) from None
    return clips


# --------------------------------------------------------------------------------------------
# Which voice speaks


@dataclass(frozen=True)
class VoiceChoice:
    """The Piper voice the TTS and agent cases use, and whether it is a stand-in."""

    configured: str
    used: str
    path: str | None
    """A ``.onnx`` for :func:`~edgevox.runtime.build.build_synthesizer`; None: the configured."""
    substituted: bool
    note: str | None = None


def as_vietnamese(voice_dir: Path, work_dir: Path) -> Path:
    """The voice in ``voice_dir``, relabelled as Vietnamese in ``work_dir`` if it is not.

    Read by an English espeak-ng voice, Vietnamese text comes out as spelled letters (2.6 times
    the phonemes); relabelled, the model sees the phoneme sequences a Vietnamese medium voice
    would, so its timings stand in for one.
    """
    models = list(voice_dir.glob("*.onnx"))
    if len(models) != 1:
        return voice_dir  # PiperSynthesizer.from_dir explains what is wrong
    model = models[0]
    config_path = model.with_name(model.name + ".json")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("language", {}).get("family") == "vi":
        return voice_dir
    config["espeak"] = {"voice": "vi"}
    config["language"] = {"code": "vi_VN", "family": "vi"}
    (work_dir / model.name).symlink_to(model.resolve())
    (work_dir / config_path.name).write_text(json.dumps(config), encoding="utf-8")
    return work_dir


def choose_voice(config: Config, store: ModelStore, work_dir: Path) -> VoiceChoice:
    """The configured voice when installed, else the relabelled stand-in (said in the report)."""
    configured = config.tts.voice
    if configured.endswith(".onnx"):
        if not Path(configured).is_file():
            raise ModelError(f"tts.voice {configured}: no such file")
        return VoiceChoice(configured, configured, configured, False)
    try:
        store.path(configured)
        return VoiceChoice(configured, configured, None, False)
    except ModelError as missing:
        try:
            stand_in = store.path(SUBSTITUTE_VOICE_ID)
        except ModelError:
            raise ModelError(f"{missing}; for timings only, `edgevox models pull "
                             f"{SUBSTITUTE_VOICE_ID}` also lets the bench run") from None
    voice_dir = as_vietnamese(stand_in, work_dir)
    onnx = next(voice_dir.glob("*.onnx"))
    return VoiceChoice(configured, SUBSTITUTE_VOICE_ID, str(onnx), True, SUBSTITUTE_VOICE_NOTE)


# --------------------------------------------------------------------------------------------
# Speaking


def speak_all(synth, paragraphs: Sequence[str] = PARAGRAPHS, max_clause_chars: int = 120,
              first_clause_chars: int = 36):
    """Speak each paragraph into a sink that consumes as fast as audio comes, so only
    synthesis is timed; returns one :class:`~edgevox.tts.SpeechTimings` per paragraph."""
    from edgevox.audio.sink import MemorySink
    from edgevox.tts import clause_chunker, speak_text

    timings = []
    for paragraph in paragraphs:
        with MemorySink(synth.sample_rate_hz, realtime=False) as sink:
            timings.append(speak_text(paragraph, synth, sink,
                                      clause_chunker(synth, max_clause_chars,
                                                     first_clause_chars)))
    return timings


# --------------------------------------------------------------------------------------------
# Reading the agent's events


def turn_breakdown(events: Sequence[Event]) -> dict[str, Any]:
    """One turn's row for the report, from its events (all with the same turn id): what was
    heard, done and said, and, for a spoken turn answered with audio, voice to voice and its
    consecutive parts as :class:`~edgevox.runtime.timeline.TurnTimeline` defines them."""
    timeline = TurnTimeline(events)
    spans = timeline.tool_spans()
    row: dict[str, Any] = {
        "transcript": timeline.transcript,
        "tool": spans[0].name if spans else None,
        "reply": timeline.reply,
        "errors": [e.message for e in timeline.errors],
    }
    row.update(timeline.breakdown() or {})
    if timeline.llm_ttft_s is not None:
        row["llm_ttft_s"] = timeline.llm_ttft_s
    return row


# --------------------------------------------------------------------------------------------
# Parent side: run the cases, gather their results


@dataclass
class CaseOutcome:
    """What one case's process returned, or why it failed."""

    case: str
    ok: bool
    wall_s: float
    peak_rss_mib: float | None
    result: dict[str, Any]
    error: str | None = None


def _preflight(config: Config, store: ModelStore, cases: Sequence[str]) -> None:
    """Fail before any process starts when a model a case needs is not installed."""
    needed = []
    if {"asr", "agent", "room"} & set(cases):
        needed += [config.asr.model] + ([config.vad.model] if config.vad.backend == "silero"
                                        else [])
        if config.turn.smart_turn == "on":
            needed.append(config.turn.model)
    if {"llm", "agent", "room"} & set(cases):
        needed.append(config.llm.model)
    for model_id in dict.fromkeys(needed):
        store.path(model_id)


def run_bench(config: Config, plan: Plan, *, audio_dir: Path | None = None,
              store: ModelStore | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every case of ``plan`` and return the raw results (see :mod:`edgevox.bench.report`
    for the report built from them)."""
    store = store or ModelStore()
    say = progress or log.info
    _preflight(config, store, plan.cases)
    clips, clips_from = ([], None)
    if {"asr", "agent", "room"} & set(plan.cases):
        clips, clips_from = find_clips(audio_dir, store)
    started = time.time()
    load_start = os.getloadavg()
    outcomes: dict[str, CaseOutcome] = {}
    with tempfile.TemporaryDirectory(prefix="edgevox-bench-") as tmp:
        work_dir = Path(tmp)
        voice = None
        if {"tts", "agent", "room"} & set(plan.cases):
            voice = choose_voice(config, store, work_dir)
        for case in plan.cases:
            spec = _case_spec(case, config, plan, clips, voice)
            say(f"{case}: {_describe_case(case, spec, plan)}")
            outcome = _run_case(case, spec, work_dir)
            outcomes[case] = outcome
            say(f"{case}: {'done' if outcome.ok else 'FAILED'} in {outcome.wall_s:.0f} s"
                + (f" ({outcome.error.splitlines()[-1]})" if outcome.error else ""))
    return {
        "started_at": started,
        "wall_s": time.time() - started,
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "clips_from": clips_from,
        "voice": voice,
        "outcomes": outcomes,
    }


def _case_spec(case: str, config: Config, plan: Plan, clips: list[Clip],
               voice: VoiceChoice | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"case": case, "config": config.model_dump(mode="json"),
                            "runs": plan.runs, "warmup": plan.warmup}
    if case == "asr":
        chosen = clips[: plan.asr_clips] if plan.asr_clips else clips
        spec["clips"] = [{"path": str(c.path), "text": c.text} for c in chosen]
    elif case == "agent":
        spec["clips"] = [{"path": str(c.path), "text": c.text} for c in clips[: plan.agent_clips]]
        spec["voice"] = voice.path if voice else None
        spec["llm_throughput"] = "llm" not in plan.cases
    elif case == "llm":
        spec["requests"] = list(REQUESTS_VI[: plan.llm_requests])
    elif case == "tts":
        spec["paragraphs"] = list(PARAGRAPHS[: plan.tts_paragraphs])
        spec["voice"] = voice.path if voice else None
    elif case == "room":
        spec["clips"] = [{"path": str(c.path), "text": c.text} for c in clips]
        spec["voice"] = voice.path if voice else None
        spec["room_replies"] = plan.room_replies
        spec["seed"] = ROOM_SEED
    return spec


def _describe_case(case: str, spec: dict[str, Any], plan: Plan) -> str:
    if case == "room":
        return (f"{plan.room_replies} simulated replies x (echo canceller, half duplex), "
                "one reply per room first to let the canceller learn it")
    inputs = {"asr": "clips", "agent": "clips", "llm": "requests", "tts": "paragraphs"}[case]
    extra = " + LLM throughput" if spec.get("llm_throughput") else ""
    return (f"{len(spec[inputs])} {inputs} x ({plan.warmup} warm-up + {plan.runs} measured "
            f"passes){extra}")


def _run_case(case: str, spec: dict[str, Any], work_dir: Path,
              timeout_s: float = CASE_TIMEOUT_S) -> CaseOutcome:
    """Run ``case`` in a fresh interpreter and read its peak RSS from its own rusage."""
    spec_path = work_dir / f"{case}.spec.json"
    result_path = work_dir / f"{case}.result.json"
    log_path = work_dir / f"{case}.log"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    launched_at = time.time()
    with log_path.open("wb") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "edgevox.bench.runner", str(spec_path), str(result_path),
             repr(launched_at)],
            stdout=log_file, stderr=subprocess.STDOUT, env=env)
    status, rusage = _wait_child(child, timeout_s)
    wall_s = time.time() - launched_at
    scale = 2**20 if sys.platform == "darwin" else 2**10  # ru_maxrss: bytes there, KiB on Linux
    peak_rss_mib = rusage.ru_maxrss / scale if rusage else None
    if status is None:
        error = f"timed out after {timeout_s:.0f} s"
    elif status != 0 or not result_path.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        error = f"exit status {status}:\n" + "\n".join(tail)
    else:
        result = json.loads(result_path.read_text(encoding="utf-8"))
        own_peak_mib = result.pop("peak_rss_mib", None)
        return CaseOutcome(case, True, wall_s, own_peak_mib or peak_rss_mib, result)
    return CaseOutcome(case, False, wall_s, peak_rss_mib, {}, error)


def _wait_child(child: subprocess.Popen, timeout_s: float):
    """Reap ``child`` with :func:`os.wait4` (its own rusage, not the max over all children).

    Returns (exit status or None on timeout, rusage).
    """
    deadline = time.monotonic() + timeout_s
    timed_out = False
    try:
        while True:
            pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                timed_out = True
                child.kill()
                _, status, rusage = os.wait4(child.pid, 0)
                break
            time.sleep(_POLL_S)
    except BaseException:  # Ctrl-C: never leave a model-sized process behind
        child.kill()
        os.wait4(child.pid, 0)
        child.returncode = -9
        raise
    child.returncode = os.waitstatus_to_exitcode(status)  # keeps Popen from reaping again
    return (None if timed_out else child.returncode), rusage


# --------------------------------------------------------------------------------------------
# Child side: one case


class _Samples:
    """Measured values per metric, one list per measured pass."""

    def __init__(self) -> None:
        self.metrics: dict[str, list[list[float]]] = {}

    def add(self, name: str, run: int, value: float | None) -> None:
        if value is None:
            return
        runs = self.metrics.setdefault(name, [])
        while len(runs) <= run:
            runs.append([])
        runs[run].append(float(value))


def _passes(spec: dict[str, Any]) -> Iterable[int | None]:
    """Pass indices: None for a warm-up pass, else the measured run's number."""
    for index in range(spec["warmup"] + spec["runs"]):
        yield None if index < spec["warmup"] else index - spec["warmup"]


def _case_asr(spec: dict[str, Any], config: Config, launched_at: float) -> dict[str, Any]:
    from edgevox.audio.source import WavFileSource
    from edgevox.runtime.build import build_listener
    from edgevox.runtime.listener import transcribe

    samples = _Samples()
    started = time.perf_counter()
    listener = build_listener(config, ModelStore())
    samples.add("asr.load_s", 0, time.perf_counter() - started)
    clips = spec["clips"]
    texts: list[str] = []
    audio_s = 0.0
    for run in _passes(spec):
        texts, audio_s = [], 0.0
        for clip in clips:
            source = WavFileSource(clip["path"], block_ms=config.asr.chunk_ms)
            result = transcribe(listener, source.blocks())
            texts.append(result.text)
            audio_s += result.audio_s
            if run is not None:
                samples.add("asr.rtf", run, result.rtf)
    refs = [c["text"] for c in clips]
    info = {"clips": [Path(c["path"]).name for c in clips], "audio_s": round(audio_s, 3),
            "wer": round(word_error_rate(refs, texts), 4) if all(refs) else None}
    return {"metrics": samples.metrics, "info": info}


def _llm_throughput(engine, spec: dict[str, Any], samples: _Samples) -> dict[str, Any]:
    """Prompt (prefill) and generation speed of the engine, like llama-bench's pp/tg.

    Prefill: the fixed Vietnamese text evaluated from an empty cache. Generation: greedy tokens
    after it, without a grammar, so every token is one decode step. Leaves the prompt prefix
    evicted, so it runs after anything that relies on the cached prefix; the requests or turns
    before it have warmed the engine, so it has no warm-up pass of its own.
    """
    tokens = engine.tokenize(PROMPT_SAMPLE_TEXT)
    generated = 0
    for run in range(spec["runs"]):
        engine.warm([engine.eos()])  # evict the cache: the whole text is evaluated below
        started = time.perf_counter()
        evaluated = engine.warm(tokens)
        prompt_s = time.perf_counter() - started
        pieces = engine.generate(tokens, None, TG_TOKENS)
        for _ in pieces:
            pass
        generated = engine.last_stats.generated_tokens
        samples.add("llm.prompt_tokens_per_s", run, evaluated / prompt_s)
        samples.add("llm.gen_tokens_per_s", run, engine.last_stats.tokens_per_s)
    return {"prompt_sample_tokens": len(tokens), "gen_sample_tokens": generated}


def _case_llm(spec: dict[str, Any], config: Config, launched_at: float) -> dict[str, Any]:
    from edgevox.runtime.build import build_understander
    from edgevox.tools.home import home_tools

    samples = _Samples()
    started = time.perf_counter()
    understander = build_understander(config, ModelStore(), home_tools())
    samples.add("llm.ready_s", 0, time.perf_counter() - started)
    answers: list[dict[str, Any]] = []
    for run in _passes(spec):
        answers = []
        for text in spec["requests"]:
            result = understander.ask(text)
            answers.append({"request": text, **result.to_dict(),
                            "evaluated_tokens": result.stats.evaluated_tokens,
                            "generated_tokens": result.stats.generated_tokens})
            if run is not None:
                samples.add("llm.request_ttft_s", run, result.ttft_s)
                samples.add("llm.request_total_s", run, result.total_s)
    info = {"prefix_tokens": understander.prefix_tokens, "answers": answers,
            **_llm_throughput(understander.engine, spec, samples)}
    return {"metrics": samples.metrics, "info": info}


def _case_tts(spec: dict[str, Any], config: Config, launched_at: float) -> dict[str, Any]:
    from edgevox.runtime.build import build_synthesizer

    samples = _Samples()
    started = time.perf_counter()
    synth = build_synthesizer(config, ModelStore(), voice=spec["voice"])
    samples.add("tts.load_s", 0, time.perf_counter() - started)
    audio_s: list[float] = []
    for run in _passes(spec):
        timings = speak_all(synth, spec["paragraphs"], config.tts.max_clause_chars,
                            config.tts.first_clause_chars)
        audio_s = [round(t.audio_s, 3) for t in timings]
        if run is not None:
            for t in timings:
                samples.add("tts.first_audio_s", run, t.first_audio_s)
                samples.add("tts.rtf", run, t.rtf)
    info = {"language": synth.language, "sample_rate_hz": synth.sample_rate_hz,
            "audio_s": audio_s}
    return {"metrics": samples.metrics, "info": info}


def _case_agent(spec: dict[str, Any], config: Config, launched_at: float) -> dict[str, Any]:
    from edgevox.audio.sink import MemorySink
    from edgevox.audio.source import WavFileSource
    from edgevox.runtime.build import build_agent, build_synthesizer, echo_mode
    from edgevox.runtime.session import play_file

    samples = _Samples()
    store = ModelStore()
    started = time.perf_counter()
    synth = build_synthesizer(config, store, voice=spec["voice"])
    voice_s = time.perf_counter() - started
    sink = MemorySink(synth.sample_rate_hz, realtime=False)  # latency ends at the first sample
    agent = build_agent(config, sink, store=store, synthesizer=synth,
                        echo=echo_mode(config, loudspeaker=False))
    agent.start()
    samples.add("agent.cold_start_s", 0, time.time() - launched_at)
    info: dict[str, Any] = {"voice_load_s": round(voice_s, 3),
                            "build_s": round(time.perf_counter() - started, 3),
                            "clips": [Path(c["path"]).name for c in spec["clips"]]}
    turns: list[dict[str, Any]] = []
    try:
        for run in _passes(spec):
            for clip in spec["clips"]:
                events = play_file(agent, WavFileSource(clip["path"], block_ms=AGENT_BLOCK_MS))
                if not agent.wait_idle(timeout_s=1.0):  # play_file waited up to 120 s
                    raise EdgevoxError(f"the agent took too long to answer {clip['path']}")
                agent.new_session()  # every turn starts from the same prompt, as a fresh agent
                if run is None:
                    continue
                for timeline in split_turns(events).values():
                    if timeline.resumed:  # its words were answered in the next turn
                        info["turns_resumed"] = info.get("turns_resumed", 0) + 1
                        continue
                    row = turn_breakdown(timeline.events)
                    turns.append({"run": run, "clip": Path(clip["path"]).name, **row})
                    for part in ("voice_to_voice_s", *BREAKDOWN, "llm_ttft_s"):
                        samples.add(f"agent.{part}", run, row.get(part))
    finally:
        agent.close()
    info["turns_without_reply"] = sum(1 for t in turns if "voice_to_voice_s" not in t)
    if spec["llm_throughput"]:
        info.update(_llm_throughput(agent.understander.engine, spec, samples))
        info["prefix_tokens"] = agent.understander.prefix_tokens
    return {"metrics": samples.metrics, "info": info, "turns": turns}


def _case_room(spec: dict[str, Any], config: Config, launched_at: float) -> dict[str, Any]:
    from edgevox.bench.roomcase import run_case
    from edgevox.runtime.build import build_synthesizer

    store = ModelStore()
    synth = build_synthesizer(config, store, voice=spec["voice"])
    return run_case(spec, config, store, synth, say=lambda message: print(message, flush=True))


_CASE_FUNCTIONS = {"asr": _case_asr, "llm": _case_llm, "tts": _case_tts, "agent": _case_agent,
                   "room": _case_room}


def child_main(argv: Sequence[str]) -> int:
    """Run one case from a spec file and write its result file (the parent reads both)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    spec_path, result_path, launched_at = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    config = Config.model_validate(spec["config"])
    try:
        result = _CASE_FUNCTIONS[spec["case"]](spec, config, float(launched_at))
    except EdgevoxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result["peak_rss_mib"] = _own_peak_rss_mib()
    Path(result_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


def _own_peak_rss_mib() -> float | None:
    """This process's own high-water RSS (VmHWM). Linux copies the parent's RSS at fork into a
    child's ru_maxrss, so rusage over-reports a child started from a large process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
