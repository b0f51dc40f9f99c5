"""The whole agent on real models: real speech in, tool call or reply, real audio out, barge-in.

The Vietnamese Piper voice cannot be fetched on the machines that run this suite, so the agent
speaks with the English joe voice here: these tests check the pipeline, its events and its
timing, not how the reply sounds.
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time

import numpy as np
import pytest

from edgevox.audio.sink import MemorySink, TranscriptSink
from edgevox.audio.source import read_wav
from edgevox.bench.runner import turn_breakdown
from edgevox.catalog import ModelStore
from edgevox.config import load_config
from edgevox.console import report_turn
from edgevox.errors import BusyError
from edgevox.runtime.agent import join_resumed
from edgevox.runtime.build import build_agent, build_synthesizer
from edgevox.trust.oplog import OperationalLog, read_records, record_from_events

pytestmark = pytest.mark.models
MODELS = ("vietasr-streaming-ctc", "silero-vad", "smart-turn-v3.2", "qwen2.5-coder-1.5b-q4km",
          "piper-en_US-joe-medium")
ASK_TIME = "common_voice_vi_23790300.wav"  # "... Bây giờ là mấy giờ" (what time is it now)
SPEECH = "common_voice_vi_23801915.wav"


@pytest.fixture(scope="module")
def config(model_dir):
    for model_id in MODELS:
        model_dir(model_id)
    return load_config(environ={}, overrides={"tts": {"voice": "piper-en_US-joe-medium"},
                                              "log": {"enabled": False}})


@pytest.fixture(scope="module")
def agent(config):
    store = ModelStore()
    synthesizer = build_synthesizer(config, store)
    sink = MemorySink(synthesizer.sample_rate_hz, block_ms=config.audio.output_block_ms)
    agent = build_agent(config, sink, store=store, synthesizer=synthesizer)
    with agent:
        yield agent


def feed(agent, audio: np.ndarray, realtime: bool = True) -> None:
    started = time.monotonic()
    for index, start in enumerate(range(0, len(audio), 320)):
        if realtime:
            time.sleep(max(0.0, started + index * 0.02 - time.monotonic()))
        agent.feed_audio(audio[start:start + 320])


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), dtype=np.float32)


def collect(subscription, until: str, timeout_s: float = 90.0) -> list:
    events, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = subscription.get(timeout_s=0.5)
        if event is not None:
            events.append(event)
            if event.type == until:
                return events
    raise AssertionError(f"no {until} within {timeout_s} s: {[e.type for e in events]}")


@pytest.mark.parametrize(("before", "after", "joined"), [
    ("nuôi con theo phong cách", "do thái", "nuôi con theo phong cách do thái"),
    ("không chỉ tốt cho đứa trẻ mà", "mà còn tốt", "không chỉ tốt cho đứa trẻ mà còn tốt"),
    ("bật đèn phòng", "phòng khách", "bật đèn phòng khách"),
    ("hẹn giờ mười", "mười lăm phút", "hẹn giờ mười lăm phút"),
    ("", "tắt đèn", "tắt đèn"),
    ("tắt đèn", "", "tắt đèn"),
])
def test_resumed_words_join_once_across_the_seam(before, after, joined):
    assert join_resumed(before, after) == joined


def test_spoken_request_to_tool_call_to_spoken_reply(agent, eval_dir):
    audio, _ = read_wav(eval_dir / "asr-cv-vi-dev" / ASK_TIME)
    subscription = agent.subscribe()
    feed(agent, np.concatenate([silence(0.3), audio, silence(2.0)]))
    events = collect(subscription, "speaking_finished")
    subscription.close()
    types = [e.type for e in events]
    expected = ["speech_started", "partial_transcript", "end_of_turn", "final_transcript",
                "llm_first_token", "tool_call", "tool_result", "speaking_started",
                "speaking_finished"]
    positions = [types.index(kind) for kind in expected]
    assert positions == sorted(positions), types
    assert all(a.t <= b.t for a, b in itertools.pairwise(events))
    call = events[types.index("tool_call")]
    assert call.data["name"] == "get_time"
    speaking = events[types.index("speaking_started")]
    assert 0 < speaking.data["latency_s"] < 10
    finished = events[types.index("speaking_finished")]
    assert finished.data["text"].startswith("Bây giờ là")
    assert agent.sink.played_audio().size > 0
    # a turn that acted is remembered by its call, for follow-ups that change one argument
    assert agent.history.messages()[-1]["content"] == "get_time()"


def test_barge_in_stops_playback_and_cancels_generation(agent, eval_dir):
    speech, _ = read_wav(eval_dir / "asr-cv-vi-dev" / SPEECH)
    subscription = agent.subscribe()
    turn = agent.ask_text("hãy kể thật chi tiết sự tích Thánh Gióng cho tôi")
    collect(subscription, "speaking_started")
    time.sleep(0.5)  # let it talk for a moment
    engine = agent.understander.engine
    generating = not turn.cancel.is_set() and agent.thinking
    played_before = agent.sink.report().played_s
    feed(agent, np.concatenate([speech[:16000 * 2]]))  # the person starts talking
    events = collect(subscription, "interrupted", timeout_s=10)
    interrupted = events[-1]
    assert turn.cancel.is_set()
    stop_t = time.monotonic()
    time.sleep(0.3)
    played_after_stop = agent.sink.report().played_s
    time.sleep(0.3)
    assert agent.sink.report().played_s == played_after_stop  # nothing plays after the stop
    assert played_after_stop >= played_before
    heard = interrupted.data["heard_text"]
    assert heard, "some of the reply was heard before the interruption"
    finished = collect(subscription, "speaking_finished", timeout_s=10)[-1]
    assert finished.data["interrupted"] and finished.turn_id == turn.turn_id
    if generating:
        assert engine.last_stats.cancelled
    subscription.close()
    assert time.monotonic() - stop_t < 10
    feed(agent, silence(2.0), realtime=False)  # the person stops; their request is answered
    assert agent.wait_idle(timeout_s=60)
    history = agent.history.messages()
    # what was heard of a reply, or the call a turn made (it acted: that is not taken back)
    remembered = turn.call_line or turn.heard_text
    spoken_entry = next(m for m in reversed(history) if m["role"] == "assistant"
                        and m["content"] == remembered)
    assert spoken_entry["content"] == (turn.call_line or heard)


def test_say_during_a_reply_waits_for_it_and_keeps_it_whole(agent):
    assert agent.wait_idle(timeout_s=60)
    subscription = agent.subscribe()
    reply = agent.ask_text("kể cho tôi nghe về Hà Nội")
    collect(subscription, "speaking_started")
    announcement = agent.say("Cửa hàng sẽ đóng cửa sau mười lăm phút nữa.")
    events = collect(subscription, "speaking_finished")
    events += collect(subscription, "speaking_finished")
    subscription.close()
    finished = [e for e in events if e.type == "speaking_finished"]
    assert [e.turn_id for e in finished] == [reply.turn_id, announcement.turn_id]
    reply_text = finished[0].data["text"]
    assert "đóng cửa" not in reply_text and reply_text, reply_text
    assert finished[1].data["text"] == "Cửa hàng sẽ đóng cửa sau mười lăm phút nữa."
    assert agent.history.messages()[-1]["content"] == (reply.call_line or reply_text)


def test_interrupt_right_after_a_request_cancels_it_before_it_starts(agent):
    assert agent.wait_idle(timeout_s=60)
    subscription = agent.subscribe()
    first = agent.say("Xin chào quý khách.")
    second = agent.say("Chúc quý khách một ngày tốt lành.")
    agent.interrupt(reason="client")  # no worker may have picked either up yet
    events = collect(subscription, "speaking_finished")
    events += collect(subscription, "speaking_finished")
    subscription.close()
    interrupted = {e.turn_id for e in events if e.type == "interrupted"}
    finished = [e for e in events if e.type == "speaking_finished"]
    assert interrupted == {first.turn_id, second.turn_id}
    assert [e.turn_id for e in finished] == [first.turn_id, second.turn_id]
    assert all(e.data["interrupted"] for e in finished)
    assert first.done.is_set() and second.done.is_set()


def test_a_turn_that_fails_is_apologised_for_and_the_agent_goes_on(agent):
    assert agent.wait_idle(timeout_s=60)
    subscription = agent.subscribe()
    too_long = agent.ask_text("xin chào " * 1500)  # more than the LLM's context holds
    events = collect(subscription, "speaking_finished")
    error = next(e for e in events if e.type == "error")
    assert error.turn_id == too_long.turn_id and "too long" in error.data["message"]
    assert events[-1].data["text"].startswith("Xin lỗi")
    answered = agent.ask_text("bây giờ là mấy giờ")
    events = collect(subscription, "speaking_finished")
    subscription.close()
    assert any(e.type == "tool_call" and e.turn_id == answered.turn_id for e in events)


def test_speech_resumed_before_any_reply_is_answered_once_as_one_request(agent, model_dir):
    # The bundled demo recording has a comma pause after "Do Thái" that the end-of-turn model
    # takes for the end; the speaker goes on before the agent says anything.
    audio, _ = read_wav(model_dir("sample-vi-speech") / "sample.wav")
    assert agent.wait_idle(timeout_s=60)
    agent.new_session()
    subscription = agent.subscribe()
    feed(agent, np.concatenate([silence(0.3), audio, silence(2.0)]), realtime=False)
    events = []
    while not any(e.type == "speaking_finished" and not e.data["interrupted"] for e in events):
        events += collect(subscription, "speaking_finished")
    subscription.close()
    started = [e.turn_id for e in events if e.type == "speech_started"]
    assert len(started) >= 2, "the recording was heard as one turn: nothing was resumed"
    withdrawn = {e.turn_id for e in events if e.type == "interrupted"}
    assert withdrawn == set(started[:-1])
    assert all(e.data["reason"] == "resumed" for e in events if e.type == "interrupted")
    answered = [e for e in events if e.type == "speaking_finished" and not e.data["interrupted"]]
    assert [e.turn_id for e in answered] == [started[-1]]
    final = next(e for e in events if e.type == "final_transcript" and e.turn_id == started[-1])
    assert final.data["text"].startswith("nuôi con theo phong cách")
    assert final.data["text"].endswith(final.data["segment_text"])
    assert "cha mẹ" in final.data["segment_text"] and "nuôi" not in final.data["segment_text"]
    assert " ".join(final.data["text"].split()) == final.data["text"]
    assert [m["content"] for m in agent.history.messages()] == [final.data["text"],
                                                               answered[0].data["text"]]


# --------------------------------------------------------------------------------------------
# the turn handle, ids and shutdown under concurrency


def test_listener_segments_and_typed_turns_draw_ids_from_one_counter(agent):
    assert agent.turn_ids is agent.listener.turn_ids  # spoken and typed turns share it
    drawn: list[list[int]] = [[] for _ in range(4)]

    def draw(out: list[int]) -> None:
        for _ in range(50_000):
            out.append(agent.turn_ids.next())

    threads = [threading.Thread(target=draw, args=(out,)) for out in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for out in drawn for i in out]
    assert len(ids) == 200_000 and len(set(ids)) == 200_000


def test_say_typed_turns_and_barge_in_from_several_threads_end_every_turn_once(agent, eval_dir):
    speech, _ = read_wav(eval_dir / "asr-cv-vi-dev" / SPEECH)
    assert agent.wait_idle(timeout_s=60)
    subscription = agent.subscribe(maxsize=100_000)
    accepted, refused = [], []

    def submit(start, text: str, pause_s: float) -> None:
        for _ in range(4):
            try:
                accepted.append(start(text))
            except BusyError as exc:
                refused.append(str(exc))
            time.sleep(pause_s)

    def barge_in() -> None:
        for _ in range(3):
            time.sleep(0.7)
            feed(agent, np.concatenate([speech[:16000], silence(0.5)]))  # real speech: barge-in
            agent.interrupt(reason="client")

    workers = [threading.Thread(target=submit, args=(agent.ask_text, "bây giờ là mấy giờ", 0.3)),
               threading.Thread(target=submit, args=(agent.say, "Xin chào quý khách.", 0.4)),
               threading.Thread(target=barge_in)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    feed(agent, silence(2.0), realtime=False)
    agent.end_of_input()
    assert agent.wait_idle(timeout_s=120)
    subscription.close()
    events = list(subscription)
    queued = [e.turn_id for e in events if e.type == "turn_queued"]
    finished = collections.Counter(e.turn_id for e in events if e.type == "speaking_finished")
    # A spoken turn heard while four wait is refused: busy error and its end, never queued.
    refused_spoken = {e.turn_id for e in events
                      if e.type == "error" and e.data["stage"] == "listen"}
    assert accepted and len(queued) == len(set(queued)), "a turn id was used twice"
    assert not refused_spoken & set(queued), "a refused turn was also queued"
    assert set(finished) == set(queued) | refused_spoken, \
        "a turn ended without being queued or refused, or never ended"
    assert all(count == 1 for count in finished.values()), finished
    assert {t.turn_id for t in accepted} <= set(queued)
    assert all(t.done.is_set() for t in accepted)
    assert all(e.type != "error" or e.data["message"].startswith("busy") for e in events)
    assert all(message.startswith("busy") for message in refused)


def test_close_returns_within_two_seconds_with_four_turns_queued(config):
    agent = build_agent(config, TranscriptSink(), store=ModelStore())  # text only: no voice
    agent.start()
    subscription = agent.subscribe()
    story = agent.ask_text("hãy kể thật chi tiết sự tích Thánh Gióng cho tôi")
    collect(subscription, "llm_first_token")
    waiting = [agent.ask_text("bây giờ là mấy giờ") for _ in range(4)]
    with pytest.raises(BusyError):  # four are waiting: the queue is full
        agent.ask_text("tắt đèn")
    started = time.monotonic()
    agent.close()
    assert time.monotonic() - started < 2.0
    subscription.close()
    events = list(subscription)
    finished = [e.turn_id for e in events if e.type == "speaking_finished"]
    assert sorted(finished) == sorted([story.turn_id, *(t.turn_id for t in waiting)])
    assert all(t.done.is_set() for t in [story, *waiting])


def test_one_turn_gives_the_same_figures_to_chat_json_the_log_and_the_bench(agent, eval_dir,
                                                                          tmp_path, capsys):
    audio, _ = read_wav(eval_dir / "asr-cv-vi-dev" / ASK_TIME)
    assert agent.wait_idle(timeout_s=60)
    subscription = agent.subscribe()
    feed(agent, np.concatenate([silence(0.3), audio, silence(2.0)]))
    events = collect(subscription, "speaking_finished")
    subscription.close()
    turn_events = [e for e in events if e.turn_id == events[-1].turn_id]
    assert report_turn(events, print_json=True)
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    with OperationalLog(tmp_path, privacy="full") as oplog:
        oplog.write(record_from_events(turn_events, {}))
    [record] = read_records(tmp_path)
    latencies = record["latencies_ms"]
    row = turn_breakdown(turn_events)
    speaking = next(e for e in turn_events if e.type == "speaking_started")

    assert summary["latency_s"] == pytest.approx(speaking.data["latency_s"], abs=1e-3)
    for seconds in (summary["voice_to_voice_s"], row["voice_to_voice_s"],
                    latencies["voice_to_voice_ms"] / 1000):
        assert seconds == pytest.approx(speaking.data["latency_s"], abs=1e-3)
    assert summary["eot_delay_ms"] == record["eot_delay_ms"] == row["eot_delay_s"] * 1000
    for name, log_name in (("asr_finalize_s", "asr_finalize_ms"),
                           ("llm_first_output_s", "llm_first_token_ms")):
        assert summary[name] == pytest.approx(row[name])
        assert summary[name] == pytest.approx(latencies[log_name] / 1000, abs=1e-3)
    assert summary["tts_first_audio_s"] == row["tts_first_audio_s"]
    assert summary["llm_ttft_s"] == pytest.approx(latencies["llm_ttft_ms"] / 1000, abs=1e-3)
    assert summary["transcript"] == record["transcript"]["text"] == row["transcript"]
    assert summary["reply"] == record["reply"]["text"] == row["reply"]


def test_a_call_asked_about_runs_only_on_the_persons_yes(agent):
    """A tool that declares ``confirm`` is asked about ("… phải không?"); the call is made on
    "ừ đúng rồi", and a "thôi không" makes nothing happen."""
    from dataclasses import replace

    from edgevox.tools.home import home_tools
    from edgevox.tools.registry import ToolRegistry

    assert agent.wait_idle(timeout_s=60)
    original = agent.tools
    home = home_tools()
    agent.replace_tools(ToolRegistry(replace(tool, confirm=tool.name == "control_device")
                                     for tool in home.values()))
    subscription = agent.subscribe()
    try:
        asked = agent.ask_text("tắt đèn phòng khách giúp tôi")
        events = collect(subscription, "speaking_finished")
        types = [e.type for e in events if e.turn_id == asked.turn_id]
        assert "confirming" in types and "tool_call" not in types
        confirming = next(e for e in events if e.type == "confirming")
        assert confirming.data["name"] == "control_device"
        assert confirming.data["arguments"]["action"] == "off"
        assert "phải không" in events[-1].data["text"]

        yes = agent.ask_text("ừ đúng rồi")
        events = collect(subscription, "speaking_finished")
        call = next(e for e in events if e.type == "tool_call")
        assert call.turn_id == yes.turn_id
        assert call.data == {"name": "control_device",
                             "arguments": confirming.data["arguments"]}

        agent.ask_text("tắt đèn phòng khách giúp tôi")
        collect(subscription, "speaking_finished")
        agent.ask_text("thôi không")
        events = collect(subscription, "speaking_finished")
        assert "tool_call" not in [e.type for e in events]
        assert "không làm" in events[-1].data["text"]
    finally:
        subscription.close()
        agent.replace_tools(original)
