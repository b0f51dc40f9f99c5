"""The bench's ``room`` case: the whole agent on a loudspeaker in simulated rooms.

Why it exists: on a device with a loudspeaker the agent hears itself. Whether it then interrupts
itself, answers itself or acts on its own words, whether a person can still cut in, and whether
an "ừ" passes, is decided by the echo canceller, the VAD, the streaming ASR and the floor policy
together, in real time. So this case runs the real agent (real models, real WebRTC canceller) on
a :class:`~edgevox.bench.roomdevice.RoomDevice` paced like a sound card, in the simulator's
rooms, and scores what happened against the simulator's ground truth.

Each *condition* is one way of keeping the agent's voice out: ``aec`` (edgevox's echo canceller,
full duplex, barge-in on) and ``no_aec`` (no canceller: the half-duplex listener). Each condition
plays the same *scenarios*, every one a spoken reply (``say``, so the LLM does not choose what
plays) of one of :data:`REPLIES_VI`:

* ``echo_only``: nobody else speaks. An interruption is a false barge-in; a turn is an echo turn.
* ``barge_in``: a real recording (Common Voice, or ``--clips``) starts 0.8-1.6 s into the reply.
  Detected when the reply is interrupted after the speech reaches the mic; the delay runs from
  that onset to the last sample the loudspeaker played; the words the agent then heard are
  scored (double-talk WER) against the clip's reference, beside the same clips heard clean.
* ``backchannel``: a 0.25-0.5 s voiced stretch of a recording (the stand-in described in
  :func:`edgevox.bench.room.voiced_segment`) 0.8-1.6 s into the reply. It passes when the reply
  plays on and no turn comes of it.

A turn is an *echo turn* when nobody but the agent was speaking as it began: every spoken turn in
an ``echo_only`` or ``backchannel`` scenario after the stand-in ended, and in a ``barge_in``
scenario every spoken turn that began more than 0.2 s before the person's onset or more than 1 s
after their speech's reverberant tail ended (while the agent answered). Before a room's
scenarios one unscored reply lets the canceller learn the room, as a device on a shelf has long
since done. Noise alternates 20 and 10 dB SNR; the talker stands at one of three positions per
room.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edgevox.audio import SAMPLE_RATE_HZ
from edgevox.bench.scoring import word_error_rate
from edgevox.errors import EdgevoxError
from edgevox.events import Event, FinalTranscript, Interrupted, Resumed

Kind = Literal["echo_only", "barge_in", "backchannel"]
Condition = Literal["aec", "no_aec"]
CONDITIONS: tuple[Condition, ...] = ("aec", "no_aec")
KIND_CYCLE: tuple[Kind, ...] = ("echo_only", "barge_in", "backchannel", "echo_only", "barge_in",
                                "echo_only")
"""Scenario kinds in turn per room: half echo-only, a third barge-in, a sixth backchannel; any
four replies in a room hold all three kinds."""
SNRS_DB = (20.0, 10.0)
TALKER_POSITIONS = 3
USER_START_S = (0.8, 1.6)
BACKCHANNEL_S = (0.25, 0.5)
AFTER_USER_S = 1.0  # a turn beginning this long after the person's clip ended is the agent's
BEFORE_USER_S = 0.2  # a VAD may fire on a soft lead-in this much before the speech's onset
SETTLE_S = 1.5  # after the reply (or the person) ends: the echo tail and end of turn
SCENARIO_TIMEOUT_S = 120.0

REPLIES_VI = (
    "Cửa hàng mở cửa từ tám giờ sáng đến mười giờ tối, và hôm nay có chương trình giảm giá "
    "cho mọi khách hàng thân thiết.",
    "Ngày mai trời nhiều mây, có mưa rào vào buổi chiều, nhiệt độ từ hai mươi bốn đến ba mươi "
    "độ, bạn nhớ mang theo áo mưa nhé.",
    "Tôi đã đặt báo thức lúc sáu giờ ba mươi sáng mai. Bạn có muốn tôi nhắc thêm lịch họp "
    "lúc chín giờ không?",
    "Quầy thuốc ở tầng hai, đi thẳng qua khu thực phẩm rồi rẽ phải, cạnh thang máy, mở cửa "
    "đến chín giờ tối.",
    "Đây là câu chuyện về một chú mèo nhỏ sống bên bờ sông, ngày nào cũng ngồi chờ những "
    "chiếc thuyền đánh cá trở về.",
    "Hóa đơn tháng này của bạn là ba trăm hai mươi nghìn đồng, hạn thanh toán là ngày mười "
    "lăm, bạn có thể trả tại quầy hoặc qua ứng dụng.",
)
"""What the agent says in the scenarios: everyday answers of four to eight seconds."""


@dataclass(frozen=True)
class Scenario:
    """One simulated reply and what the person does during it."""

    room: str
    kind: Kind
    reply: str
    seed: int
    snr_db: float
    clip: str | None = None
    clip_text: str | None = None
    user_start_s: float = 0.0
    """After the loudspeaker's first sample."""
    segment_s: float = 0.0
    """The backchannel stand-in's length."""
    talker: int = 0
    """Where the person stands (see :meth:`~edgevox.bench.room.Room.moved_talker`)."""


def plan_scenarios(replies: int, clips: list[dict[str, Any]], rooms: Iterable[str],
                   seed: int = 0) -> list[Scenario]:
    """``replies`` scenarios spread over ``rooms`` in turn, grouped by room, from ``seed``."""
    rooms = sorted(rooms)
    if not clips:
        raise EdgevoxError("the room case needs recordings of speech (--clips DIR)")
    rng = np.random.default_rng(seed)
    per_room: dict[str, list[Scenario]] = {name: [] for name in rooms}
    clip_cycle = itertools.cycle(clips)
    for index in range(replies):
        room = rooms[index % len(rooms)]
        position = len(per_room[room])
        kind = KIND_CYCLE[position % len(KIND_CYCLE)]
        # One talker position per round of KIND_CYCLE, so every kind meets every position.
        talker = position // len(KIND_CYCLE) % TALKER_POSITIONS
        scenario = Scenario(room=room, kind=kind, reply=REPLIES_VI[index % len(REPLIES_VI)],
                            seed=seed * 10_000 + index, snr_db=SNRS_DB[index % len(SNRS_DB)],
                            talker=talker)
        if kind != "echo_only":
            clip = next(clip_cycle)
            scenario = replace(scenario, clip=clip["path"], clip_text=clip.get("text"),
                               user_start_s=round(float(rng.uniform(*USER_START_S)), 3),
                               segment_s=round(float(rng.uniform(*BACKCHANNEL_S)), 3)
                               if kind == "backchannel" else 0.0)
        per_room[room].append(scenario)
    return [s for name in rooms for s in per_room[name]]


# --------------------------------------------------------------------------------------------
# Running


class _TimedCanceller:
    """The echo canceller as the device uses it, with the time it takes counted."""

    def __init__(self, canceller: Any) -> None:
        self.inner = canceller
        self.latency_ms = canceller.latency_ms
        self.busy_s = 0.0
        self.audio_s = 0.0

    def far_end(self, samples: np.ndarray, sample_rate_hz: int) -> None:
        started = time.perf_counter()
        self.inner.far_end(samples, sample_rate_hz)
        self.busy_s += time.perf_counter() - started

    def process(self, near: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        out: np.ndarray = self.inner.process(near)
        self.busy_s += time.perf_counter() - started
        self.audio_s += near.size / SAMPLE_RATE_HZ
        return out

    def set_delay_ms(self, delay_ms: int) -> None:
        self.inner.set_delay_ms(delay_ms)

    def close(self) -> None:
        self.inner.close()


def run_condition(condition: Condition, scenarios: list[Scenario], *, config, store, synthesizer,
                  calibration: np.ndarray,
                  say: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """Play every scenario on a fresh agent in ``condition``; one row per scenario.
    ``calibration`` sets the device's volume once (see :class:`~edgevox.bench.room.RoomStream`)."""
    from edgevox.audio.echo import load_echo_canceller
    from edgevox.bench.roomdevice import RoomDevice
    from edgevox.runtime.build import build_agent

    canceller = _TimedCanceller(load_echo_canceller()) if condition == "aec" else None
    device = RoomDevice(synthesizer.sample_rate_hz, canceller=canceller)
    agent = build_agent(config, device, store=store, synthesizer=synthesizer,
                        echo="on" if canceller else "off")
    rows = []
    with agent:
        device.start(agent.feed_audio)
        for room_name, group in itertools.groupby(scenarios, key=lambda s: s.room):
            warm_up = Scenario(room=room_name, kind="echo_only", reply=REPLIES_VI[-1], seed=99_999,
                               snr_db=SNRS_DB[0])
            _play(agent, device, warm_up, calibration)
            for scenario in group:
                rows.append(_play(agent, device, scenario, calibration))
                say(f"room/{condition}: {len(rows)}/{len(scenarios)} {scenario.room} "
                    f"{scenario.kind}: {_outcome(rows[-1])}")
    cost = (canceller.busy_s / canceller.audio_s) if canceller and canceller.audio_s else None
    return {"rows": rows, "aec_rtf": cost}


def _speech_16k(synthesizer, text: str) -> np.ndarray:
    import soxr

    audio = np.concatenate(list(synthesizer.synthesize(text)))
    return np.asarray(soxr.resample(audio, synthesizer.sample_rate_hz, SAMPLE_RATE_HZ),
                      dtype=np.float32)


def _user_audio(scenario: Scenario) -> np.ndarray | None:
    from edgevox.audio.source import read_wav
    from edgevox.bench.room import voiced_segment

    if scenario.clip is None:
        return None
    audio, _ = read_wav(Path(scenario.clip))
    if scenario.kind == "backchannel":
        return np.asarray(voiced_segment(audio, scenario.segment_s))
    return np.asarray(audio, dtype=np.float32)


def _play(agent, device, scenario: Scenario, calibration: np.ndarray) -> dict[str, Any]:
    """One reply in one room; the events it caused and the room's ground truth, scored."""
    from edgevox.bench.room import ROOMS, RoomStream

    if not agent.wait_idle(timeout_s=SCENARIO_TIMEOUT_S):
        raise EdgevoxError("the agent did not become idle between room scenarios")
    agent.new_session()
    room = ROOMS[scenario.room].moved_talker(scenario.talker)
    user = _user_audio(scenario)
    stream = RoomStream(room, calibration, user=user, user_start_s=scenario.user_start_s,
                        noise_snr_db=scenario.snr_db, seed=scenario.seed,
                        user_after_playback=True)
    subscription = agent.subscribe(maxsize=100_000)
    device.use(stream)
    clock_t0 = time.monotonic()  # mic sample 0 of this stream, on the device's paced clock
    reply = agent.say(scenario.reply)
    _wait(device, reply.done.is_set, "the reply to end")
    heard_until = device.mic_samples
    if user is not None:  # the person may go on after the reply stopped
        heard_until = max(heard_until, stream.user_end_sample or 0)
    _wait(device, lambda: device.mic_samples >= heard_until + SETTLE_S * SAMPLE_RATE_HZ,
          "the echo tail and the person to be heard out")
    if not agent.wait_idle(timeout_s=SCENARIO_TIMEOUT_S):  # echo turns are answered too
        raise EdgevoxError("the agent did not finish what a room scenario caused")
    subscription.close()
    events = list(subscription)
    return _score(scenario, events, reply.turn_id, stream, device.heard(), clock_t0,
                  device.canceller)


def _wait(device, done: Callable[[], bool], what: str) -> None:
    """Poll ``done`` on the device's clock; EdgevoxError when the device died or time ran out."""
    deadline = time.monotonic() + SCENARIO_TIMEOUT_S
    while not done():
        if device.failure is not None:
            raise EdgevoxError(f"the simulated room device stopped: {device.failure}")
        if time.monotonic() > deadline:
            raise EdgevoxError(f"timed out after {SCENARIO_TIMEOUT_S:.0f} s waiting for {what}")
        time.sleep(0.05)


def _score(scenario: Scenario, events: list[Event], reply_id: int, stream, heard: np.ndarray,
           clock_t0: float, canceller) -> dict[str, Any]:
    def mic_sample(t: float) -> int:
        return round((t - clock_t0) * SAMPLE_RATE_HZ)

    truth, user_end = stream.recorded(), stream.user_end_sample

    row: dict[str, Any] = {"room": scenario.room, "kind": scenario.kind,
                           "snr_db": scenario.snr_db, "clip": scenario.clip and
                           Path(scenario.clip).name}
    barged = [e for e in events if e.type == "interrupted" and e.turn_id == reply_id
              and Interrupted.of(e).reason == "barge_in"]
    barged_at = mic_sample(barged[0].t) if barged else None  # the mic sample it happened at
    row["interrupted"] = barged_at is not None
    row["pauses_s"] = [Resumed.of(e).paused_s for e in events
                       if e.type == "resumed" and e.turn_id == reply_id]
    row["interrupted_s"] = None if barged_at is None else round(barged_at / SAMPLE_RATE_HZ, 3)
    onset = truth.user_onset_sample
    speech_turns = {e.turn_id: e for e in events
                    if e.type == "turn_queued" and e.data["source"] == "speech"}
    started_at = {}
    for e in events:
        if e.type == "speech_started" and e.turn_id not in started_at:
            started_at[e.turn_id] = mic_sample(e.t)
    finals = {e.turn_id: FinalTranscript.of(e).text for e in events
              if e.type == "final_transcript"}
    echo_turns, own_turns = [], []
    for turn_id in speech_turns:
        begun = started_at.get(turn_id, 0)
        if onset is None or user_end is None:
            mine = False
        elif scenario.kind == "backchannel":
            mine = begun <= user_end + AFTER_USER_S * SAMPLE_RATE_HZ
        else:
            mine = (onset - BEFORE_USER_S * SAMPLE_RATE_HZ <= begun
                    <= user_end + AFTER_USER_S * SAMPLE_RATE_HZ)
        (own_turns if mine else echo_turns).append(turn_id)
    row["echo_turns"] = len(echo_turns)
    row["echo_turn_texts"] = [finals.get(t, "") for t in echo_turns]
    row["echo_tool_calls"] = sum(1 for e in events if e.type == "tool_call"
                                 and e.turn_id in echo_turns)
    if scenario.kind == "barge_in":
        detected = barged_at is not None and onset is not None and barged_at >= onset
        # The reply's last sample: what played up to the interruption and the block after it
        # (the answer that follows plays later, into the same stream).
        cut = barged_at + 2 * SAMPLE_RATE_HZ // 50 if barged_at is not None else 0
        played = np.flatnonzero(truth.played[:max(0, cut)])
        stopped = int(played[-1]) + 1 if played.size else 0
        row["detected"] = bool(detected)
        row["delay_s"] = round((stopped - onset) / SAMPLE_RATE_HZ, 3) if detected else None
        row["false_barge_in"] = row["interrupted"] and not detected
        row["heard"] = " ".join(finals.get(t, "") for t in sorted(own_turns)).strip()
        row["reference"] = scenario.clip_text
    elif scenario.kind == "backchannel":
        row["passed"] = not row["interrupted"] and not own_turns
        row["backchannel_events"] = sum(1 for e in events if e.type == "backchannel")
    else:
        row["false_barge_in"] = row["interrupted"]
    if canceller is not None and scenario.kind == "echo_only":
        erle = scenario_erle_db(truth, heard, canceller.latency_ms)
        row["erle_db"] = None if erle is None else round(erle, 2)
    return row


def scenario_erle_db(truth, heard: np.ndarray, latency_ms: int) -> float | None:
    """ERLE of a device in a room: its microphone (``truth``, a
    :class:`~edgevox.bench.room.Rendering`) against what it handed on (``heard``, the
    canceller's output ``latency_ms`` late), over the far-end-only samples; None when there
    are none."""
    from edgevox.audio.echo import erle_db

    lag = latency_ms * SAMPLE_RATE_HZ // 1000
    length = min(truth.mic.size, heard.size - lag)
    if length <= 0:
        return None
    mask = truth.far_end_only[:length]
    if not mask.any():
        return None
    return erle_db(truth.mic[:length][mask], heard[lag:lag + length][mask])


def _outcome(row: dict[str, Any]) -> str:
    parts = []
    if row.get("interrupted"):
        parts.append(f"interrupted at {row['interrupted_s']} s")
    if row.get("pauses_s"):
        parts.append(f"paused and resumed ({', '.join(f'{p} s' for p in row['pauses_s'])})")
    if row.get("delay_s") is not None:
        parts.append(f"barge-in delay {row['delay_s']} s")
    if row.get("echo_turns"):
        parts.append(f"{row['echo_turns']} echo turn(s) {row['echo_turn_texts']}")
    if "passed" in row:
        parts.append("backchannel passed" if row["passed"] else "backchannel NOT passed")
    if row.get("erle_db") is not None:
        parts.append(f"ERLE {row['erle_db']} dB")
    return ", ".join(parts) or "ok"


# --------------------------------------------------------------------------------------------
# Figures


def summarise(condition: Condition, rows: list[dict[str, Any]], wers: dict[str, float],
              aec_rtf: float | None) -> dict[str, list[list[float]]]:
    """The condition's metrics (``room.*`` with the canceller, ``room.no_aec.*`` without), each
    a list of one pass's samples, as the other cases give them; ``wers`` as
    :func:`clean_wers` gives them."""
    prefix = "room." if condition == "aec" else "room.no_aec."
    metrics: dict[str, list[list[float]]] = {}

    def put(name: str, values: list[float]) -> None:
        if values:
            metrics[prefix + name] = [[float(v) for v in values]]

    by_kind = {kind: [r for r in rows if r["kind"] == kind] for kind in KIND_CYCLE}
    silent = by_kind["echo_only"]
    if silent:
        put("false_barge_in_rate", [sum(r["false_barge_in"] for r in silent) / len(silent)])
        if condition == "aec":
            put("false_pause_rate", [sum(bool(r["pauses_s"]) for r in silent) / len(silent)])
    barge = by_kind["barge_in"]
    if barge:
        put("barge_in_detect_rate", [sum(r["detected"] for r in barge) / len(barge)])
        put("barge_in_delay_s", [r["delay_s"] for r in barge if r["delay_s"] is not None])
        scored = [r for r in barge if r.get("reference")]
        if scored:
            wer = word_error_rate([r["reference"] for r in scored], [r["heard"] for r in scored])
            put("double_talk_wer", [wer])
            if "clean" in wers:
                put("double_talk_wer_gap", [wer - wers["clean"]])
    if condition == "aec":  # one figure for both conditions
        for name, value in wers.items():
            metrics[f"room.{name}_wer"] = [[value]]
    chats = by_kind["backchannel"]
    if chats:
        put("backchannel_pass_rate", [sum(r["passed"] for r in chats) / len(chats)])
        if condition == "aec":
            put("backchannel_pause_s", [p for r in chats for p in r["pauses_s"]])
    put("echo_turns", [sum(r["echo_turns"] for r in rows)])
    put("echo_tool_calls", [sum(r["echo_tool_calls"] for r in rows)])
    put("erle_db", [r["erle_db"] for r in rows if r.get("erle_db") is not None])
    if aec_rtf is not None:
        put("aec_rtf", [aec_rtf])
    return metrics


def clean_wers(config, store, scenarios: list[Scenario],
               calibration: np.ndarray) -> dict[str, float]:
    """WER of the barge-in scenarios' clips with no reply playing, by a listener of their own
    (the agent's models and settings): ``clean`` in each scenario's room, talker position and
    noise (what double talk is compared with: the room alone costs the recogniser too), ``dry``
    as recorded. Empty without references."""
    from edgevox.bench.room import ROOMS, render
    from edgevox.runtime.build import build_listener
    from edgevox.runtime.listener import transcribe

    scored = [s for s in scenarios if s.kind == "barge_in" and s.clip_text]
    if not scored:
        return {}
    listener = build_listener(config, store)

    def heard(audio: np.ndarray) -> str:
        step = SAMPLE_RATE_HZ // 50  # 20 ms blocks, as a device hands them on
        blocks = (audio[i:i + step] for i in range(0, audio.size, step))
        return transcribe(listener, blocks).text

    references = [s.clip_text or "" for s in scored]
    dry, clean = [], []
    for s in scored:
        clip = _user_audio(s)
        assert clip is not None  # a barge-in scenario always has its recording
        dry.append(heard(clip))
        room = ROOMS[s.room].moved_talker(s.talker)
        alone = render(room, calibration, user=clip, user_start_s=s.user_start_s,
                       noise_snr_db=s.snr_db, seed=s.seed)  # the reply is left out below
        clean.append(heard((alone.user + alone.noise).astype(np.float32)))
    return {"clean": word_error_rate(references, clean), "dry": word_error_rate(references, dry)}


def run_case(spec: dict[str, Any], config, store, synthesizer,
             say: Callable[[str], None]) -> dict[str, Any]:
    """Every condition over the planned scenarios: metrics, and the rows as case info."""
    from edgevox.bench.room import ROOMS

    scenarios = plan_scenarios(spec["room_replies"], spec["clips"], ROOMS, seed=spec["seed"])
    calibration = _speech_16k(synthesizer, REPLIES_VI[0])  # the device's volume, set once
    wers = clean_wers(config, store, scenarios, calibration)
    metrics: dict[str, list[list[float]]] = {}
    info: dict[str, Any] = {"replies_per_condition": len(scenarios),
                            "kinds": {k: sum(s.kind == k for s in scenarios)
                                      for k in dict.fromkeys(KIND_CYCLE)},
                            "rooms": sorted(ROOMS), "conditions": {}}
    for condition in CONDITIONS:
        outcome = run_condition(condition, scenarios, config=config, store=store,
                                synthesizer=synthesizer, calibration=calibration, say=say)
        metrics.update(summarise(condition, outcome["rows"], wers, outcome["aec_rtf"]))
        info["conditions"][condition] = outcome["rows"]
    return {"metrics": metrics, "info": info}
