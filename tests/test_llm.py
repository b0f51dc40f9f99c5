"""The understanding stage on the real default model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M).

One engine per module: loading it and warming the fixed prompt prefix is the expensive part.
The requests below are written for these tests, not taken from the evaluation sets.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time

import pytest

from edgevox.errors import ModelError
from edgevox.llm.grammar import request_word_spans
from edgevox.llm.understand import (
    Hints,
    ReplyChunk,
    Understander,
    Understanding,
    argument_choices,
    reserved_words,
)
from edgevox.tools.registry import ToolRegistry

pytestmark = [pytest.mark.models, pytest.mark.slow]

MODEL_ID = "qwen2.5-coder-1.5b-q4km"
SMALL_MODEL_ID = "qwen2.5-coder-0.5b-q4km"


def gguf(model_dir, model_id: str):
    return next(model_dir(model_id).glob("*.gguf"))


@pytest.fixture(scope="module")
def understander(model_dir, eval_dir):
    from edgevox.llm.engine import LlamaEngine

    engine = LlamaEngine(gguf(model_dir, MODEL_ID), n_threads=2, n_ctx=3072)
    yield Understander(engine, ToolRegistry.from_file(eval_dir / "tools.json"))
    engine.close()


def test_tool_request_gives_the_right_call(understander):
    timer = understander.ask("hẹn giờ mười lăm phút nhé")
    # Scored as in tools.json: the expected arguments must match, others are ignored.
    assert (timer.tool, timer.args["duration_seconds"]) == ("set_timer", 900)
    light = understander.ask("tắt giúp tôi cái đèn trong phòng khách")
    assert light.tool == "control_device"
    assert light.args == {"device": "light", "action": "off", "room": "living_room"}
    assert light.ttft_s is not None and light.total_s >= light.ttft_s


@pytest.mark.parametrize(
    ("text", "reserved"),
    [
        ("hẹn giờ mười lăm phút để luộc trứng", {"set_timer": {"mười", "lăm", "phút"}}),
        ("Đặt báo thức lúc 6 giờ 30 sáng nhé!", {"set_alarm": {"6", "giờ", "30", "sáng"}}),
        ("báo thức 19h30", {"set_alarm": {"19h30"}}),
        ("mở bài năm phút", {"set_timer": {"năm", "phút"}}),  # play_music may still copy them
        ("mở bài Diễm Xưa", {}),
    ],
)
def test_words_read_as_a_time_are_reserved_for_the_tool_given_it(eval_dir, text, reserved):
    tools = ToolRegistry.from_file(eval_dir / "tools.json")
    hints = Hints.read(text)
    spans = request_word_spans(text)
    got = reserved_words(tools, argument_choices(tools, hints), spans, hints)
    assert {name: {spans[i][0] for i in indices} for name, indices in got.items()} == reserved


@pytest.mark.parametrize(
    ("text", "rooms"),
    [
        ("tắt giúp tôi cái đèn trong phòng khách", ['"living_room"']),
        ("bật quạt nhà bếp rồi đèn phòng ngủ", ['"kitchen"', '"bedroom"']),
        ("mở rèm ở văn phòng", ['"office"']),
        ("bật đèn lên", None),  # no room named: the schema's enum stays
    ],
)
def test_a_room_the_request_names_narrows_the_room_argument(eval_dir, text, rooms):
    tools = ToolRegistry.from_file(eval_dir / "tools.json")
    choices = argument_choices(tools, Hints.read(text))
    assert choices.get("control_device", {}).get("room") == rooms


def test_request_no_tool_fits_gets_a_reply(understander):
    result = understander.ask("bạn có khỏe không")
    assert result.tool is None
    assert result.reply and len(result.reply) > 3
    assert result.to_dict()["tool"] is None


@pytest.mark.parametrize("text", [
    "chợ gần nhà tôi họp từ năm giờ sáng",  # the model wrote set_alarm("05:00"), p 0.95
    "hôm qua tôi quên tắt đèn phòng khách",
    "tôi nên tắt đèn khi ra khỏi phòng không",
    "đừng có bật quạt nha tôi đang bị cảm",  # a cancelled wish
    "giả sử tôi tắt tủ lạnh cả đêm thì đồ ăn có hư không",  # what would happen
    "trời hôm nay nóng ghê",  # a remark
])
def test_speech_that_only_mentions_a_device_or_a_time_is_answered(understander, text):
    result = understander.ask(text)
    assert result.tool is None and result.proposal is None, result.to_dict()
    assert result.reply


def test_a_call_of_a_tool_nothing_asked_for_is_written_again_among_those_named(understander):
    # "alo" names a phone call; the model's first choice was play_music("anh Tuấn")
    result = understander.ask("ờ alo cho anh Tuấn giùm mình")
    call = result.proposal or result
    assert (call.tool, call.args.get("name")) == ("call_contact", "anh Tuấn"), result.to_dict()


def test_a_cancelled_wish_is_not_the_call_made(understander):
    # given the whole sentence the model switched the television on
    result = understander.ask("khỏi bật tivi mở rèm phòng khách ra")
    call = result.proposal or result
    assert (call.tool, call.args.get("device"), call.args.get("action")) == \
        ("control_device", "curtain", "on"), result.to_dict()


def test_a_guess_is_not_spoken(understander):
    from edgevox.llm.decide import UNSURE_REPLY, ActPolicy

    hedging = Understander(understander.engine, understander.tools,
                           policy=ActPolicy(unsure_below=0.2))

    def said(text: str) -> tuple[str, str]:
        chunks: list[str] = []
        for event in hedging.stream(text):
            if isinstance(event, ReplyChunk):
                chunks.append(event.text)
            else:
                result = event
        assert result.tool is None
        return result.reply or "", "".join(chunks)

    # the model's answer is a mountain that does not exist ("núi Hắc Lạc")
    assert said("núi cao nhất việt nam là núi nào") == (UNSURE_REPLY, UNSURE_REPLY)
    reply, chunks = said("thủ đô của việt nam là thành phố nào")
    assert "Hà Nội" in reply and chunks == reply
    # only questions are hedged
    assert said("kể cho tôi nghe một câu chuyện ngắn về con mèo")[0] != UNSURE_REPLY


def test_an_unsure_call_becomes_a_question(understander):
    from edgevox.llm.decide import ActPolicy

    unsure = Understander(understander.engine, understander.tools,
                          policy=ActPolicy(act_threshold=1.0, confirm_threshold=0.0))
    chunks: list[str] = []
    for event in unsure.stream("tắt đèn phòng khách giúp tôi"):
        if isinstance(event, ReplyChunk):
            chunks.append(event.text)
        else:
            result = event
    assert result.tool is None and result.proposal is not None
    assert result.proposal.tool == "control_device"
    assert result.reply == "".join(chunks) == "Bạn muốn tôi tắt đèn phòng khách phải không?"
    assert result.to_dict()["confirm"]["args"]["device"] == "light"


def test_replies_are_vietnamese_script_only_and_short(understander):
    import re

    from edgevox.llm.grammar import vietnamese_syllable

    allowed = re.compile(r"^[\w\s.,!?;:'()%/+\-]*$")
    for text in ("một tuần có mấy ngày", "bút chì tiếng Anh là gì", "con mèo là con vật gì",
                 "wifi là viết tắt của từ gì"):
        reply = understander.ask(text).reply or ""
        assert reply and allowed.match(reply), reply
        # no English word the request did not say ("dùng pen hoặc pencil")
        heard = {w.lower() for w, _, _ in request_word_spans(text)}
        assert all(vietnamese_syllable(w) or w.isdigit() or w.lower() in heard
                   for w in re.findall(r"\w+", reply)), reply
        assert not re.search(r"[\u0400-\u04ff\u3040-\u30ff\u4e00-\u9fff*#`]", reply), reply
        assert len(re.findall(r"[.!?](?=\s)", reply)) < 2, reply


@pytest.mark.parametrize(("first", "then", "tool", "args"), [
    ("bật đèn phòng khách", "tắt nó đi", "control_device",
     {"device": "light", "action": "off", "room": "living_room"}),
])
def test_a_follow_up_resolves_against_the_call_before_it(understander, first, then, tool, args):
    from edgevox.llm.calls import format_call

    earlier = understander.ask(first)
    assert earlier.tool is not None
    # as the agent's history keeps a turn that acted: the request and the call it made
    history = [{"role": "user", "content": first},
               {"role": "assistant",
                "content": format_call(understander.tools[earlier.tool], earlier.args)}]
    result = understander.ask(then, history=history)
    assert (result.tool, {k: result.args.get(k) for k in args}) == (tool, args), result.to_dict()


def test_reply_streams_before_it_is_complete(understander):
    start = time.perf_counter()
    arrivals: list[tuple[float, str]] = []
    final = None
    # not a question, so not held back a clause at a time (test_a_guess_is_not_spoken)
    for event in understander.stream("giải thích cho tôi về món phở của Hà Nội"):
        if isinstance(event, ReplyChunk):
            arrivals.append((time.perf_counter() - start, event.text))
        else:
            final = event
    done = time.perf_counter() - start
    assert isinstance(final, Understanding) and final.tool is None
    assert len(arrivals) >= 3
    assert "".join(text for _, text in arrivals).strip() == final.reply
    assert arrivals[0][0] < done - 0.2  # the first words came well before the end


def test_cancel_stops_within_one_token(understander):
    cancel = threading.Event()
    generated_at_cancel = -1
    after_cancel = 0
    final = None
    for event in understander.stream("hãy kể một câu chuyện dài về con mèo và con chó", cancel):
        if isinstance(event, ReplyChunk):
            if cancel.is_set():
                after_cancel += 1
            else:
                cancel.set()
                generated_at_cancel = understander.engine.last_stats.generated_tokens
        else:
            final = event
    stats = understander.engine.last_stats
    assert final is not None and final.cancelled and stats.cancelled
    assert stats.generated_tokens <= generated_at_cancel + 1
    assert after_cancel <= 1


def test_prefix_cache_means_a_request_pays_only_for_itself(understander):
    prefix = understander.prefix_tokens
    first = understander.ask("mở bài Bèo Dạt Mây Trôi")
    second = understander.ask("bây giờ là mấy giờ vậy")
    assert first.tool == "play_music" and second.tool == "get_time"
    for result in (first, second):
        assert result.stats.prompt_tokens > prefix
        assert result.stats.evaluated_tokens < 30 < prefix // 10


def test_prefix_state_is_saved_and_reloaded(understander, tmp_path):
    understander.state_dir = tmp_path
    try:
        assert understander.warm() <= 1  # already cached: only the last token is redone
        assert len(list(tmp_path.glob("*.kv"))) == 1
        assert understander.warm() == 0  # loaded from the file
        result = understander.ask("tắt quạt")
        assert result.tool == "control_device" and result.args["device"] == "fan"
        assert result.stats.evaluated_tokens < 20
    finally:
        understander.state_dir = None


def test_long_history_is_trimmed_and_an_oversized_request_refused(understander):
    exchange = [{"role": "user", "content": "kể chuyện đi " * 60},
                {"role": "assistant", "content": "ngày xửa ngày xưa " * 60}]
    history = exchange * 8  # far more than the context holds next to the prompt
    result = understander.ask("tắt quạt", history=history)
    assert result.tool == "control_device" and result.args["device"] == "fan"
    assert result.stats.prompt_tokens <= understander.engine.n_ctx - understander.max_tokens
    with pytest.raises(ModelError, match="too long"):
        understander.ask("xin chào " * 1500)
    assert understander.prefill("xin chào " * 1500) == 0  # skipped, not an error
    assert understander.ask("mấy giờ rồi").tool == "get_time"  # the engine is still usable


def test_ask_main_jsonl_contract(model_dir, eval_dir, tmp_path, monkeypatch):
    from edgevox.llm.ask import ask_main

    model = gguf(model_dir, SMALL_MODEL_ID)  # from the model store, before EDGEVOX_HOME moves
    monkeypatch.setenv("EDGEVOX_HOME", str(tmp_path))

    stdin = io.StringIO('{"text": "dừng nhạc lại"}\nnot json\n{"txt": 1}\n{"text": "chào bạn"}\n')
    stdout = io.StringIO()
    code = ask_main(eval_dir / "tools.json", None, True, model, 2, 3072, stdin, stdout)
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert code == 1 and len(lines) == 4
    assert "error" in lines[1] and "line 2" in lines[1]["error"] and "error" in lines[2]
    for answer in (lines[0], lines[3]):
        assert {"tool", "ttft_s", "total_s"} <= answer.keys()
        assert ("args" in answer) != ("reply" in answer)
    registered = {t["name"] for t in json.loads((eval_dir / "tools.json").read_text())["tools"]}
    assert lines[0]["tool"] in registered | {None}


def test_ask_prints_no_llama_cpp_lines_on_stderr(
    model_dir, eval_dir, tmp_path, monkeypatch, capfd, caplog
):
    """llama.cpp's loader chatter goes to DEBUG: with logging to stderr at WARNING, as the CLI
    sets it up without --verbose, `edgevox ask "xin chào"` writes nothing there."""
    from edgevox.llm.ask import ask_main

    model = gguf(model_dir, SMALL_MODEL_ID)  # from the model store, before EDGEVOX_HOME moves
    monkeypatch.setenv("EDGEVOX_HOME", str(tmp_path))  # a fresh prefix cache: warm it too
    capfd.readouterr()  # whatever obtaining the model printed
    handler = logging.StreamHandler(sys.stderr)  # created under capfd: it writes into the capture
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.DEBUG, logger="edgevox.llm.engine")
    stdout = io.StringIO()
    try:
        code = ask_main(eval_dir / "tools.json", "xin chào", False, model, 2, 3072,
                        io.StringIO(), stdout)
    finally:
        logging.getLogger().removeHandler(handler)
    assert code == 0 and "tool" in json.loads(stdout.getvalue())
    assert capfd.readouterr().err == ""
    native = [r for r in caplog.records if r.getMessage().startswith("llama.cpp: ")]
    assert native, "llama.cpp's lines should still reach logging"
    assert {r.levelno for r in native} == {logging.DEBUG}


def test_missing_or_corrupt_gguf_raises_model_error(tmp_path):
    from edgevox.llm.engine import LlamaEngine

    missing = tmp_path / "absent.gguf"
    with pytest.raises(ModelError, match=r"absent\.gguf.*`edgevox models pull <id>`"):
        LlamaEngine(missing)
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelError, match=r"garbage\.gguf"):
        LlamaEngine(garbage)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64)
    with pytest.raises(ModelError, match=r"truncated\.gguf"):
        LlamaEngine(truncated)
