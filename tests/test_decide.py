"""Acting or answering: the decision rules, the confirming question and the person's answer,
the reply guard, and the place list. The same decisions on the real model are in test_llm.py
and, through the agent, in test_agent.py."""

from __future__ import annotations

import pytest

from edgevox.errors import ToolError
from edgevox.llm.decide import (
    ActPolicy,
    Verdict,
    act_probability,
    asked_tools,
    confirmation_answer,
    confirmation_question,
    decide,
    implausible_argument,
    unasked,
    wanted_part,
)
from edgevox.llm.grammar import tool_grammar
from edgevox.llm.understand import asks_for_more, reply_end
from edgevox.text.places import is_known_place
from edgevox.tools.registry import ToolRegistry, tool_from_spec


@pytest.fixture(scope="module")
def tools(eval_dir):
    return ToolRegistry.from_file(eval_dir / "tools.json")


PIECES = {1: b"say", 2: b"get", 3: b"_weather", 4: b"s", 5: b"Hello", 6: b"set"}


def test_act_probability_counts_only_tokens_that_commit_to_a_kind():
    names = ["get_weather", "set_timer"]
    # "get" commits to a tool; "say" to a reply; "s" could start both, so it is not counted as
    # acting; "Hello" cannot start any answer the grammar admits and is left out.
    p = act_probability([(1, 0.0), (2, 0.0), (4, 0.0), (5, 9.0)], PIECES.__getitem__, names)
    assert p == pytest.approx(1 / 3)
    assert act_probability([(1, 0.0), (6, 2.0)], PIECES.__getitem__, names) > 0.85
    assert act_probability([(5, 1.0)], PIECES.__getitem__, names) is None


@pytest.mark.parametrize(("tool", "args", "problem"), [
    ("get_weather", {"city": "trời mọc"}, True),
    ("get_weather", {"city": "lá cây"}, True),
    ("get_weather", {"city": "Tuyên ngôn độc lập"}, True),
    ("get_weather", {"city": "thành phố Hồ Chí Minh"}, False),
    ("get_weather", {"city": "Đà Lạt", "day": "tomorrow"}, False),
    ("get_weather", {"city": ""}, False),  # no place said: the tool's own default
    ("play_music", {"query": "bài nào hay nhất của Sơn Tùng vậy"}, True),
    ("play_music", {"query": "nhạc không lời"}, False),
    ("call_contact", {"name": "chị Lan"}, False),
    ("call_contact", {"name": "ai là người phát minh ra điện thoại"}, True),
    ("add_reminder", {"text": "mua sữa"}, False),
])
def test_string_arguments_must_read_as_what_their_parameter_names(tools, tool, args, problem):
    assert (implausible_argument(tools[tool], args) is not None) == problem


def test_decide_acts_only_when_sure_and_plausible(tools):
    policy = ActPolicy(act_threshold=0.8, confirm_threshold=0.5)
    light = tools["control_device"]
    args = {"device": "light", "action": "off"}
    assert decide(light, args, 0.95, policy)[0] is Verdict.ACT
    assert decide(light, args, 0.6, policy)[0] is Verdict.CONFIRM
    assert decide(light, args, 0.3, policy)[0] is Verdict.ANSWER
    weather = tools["get_weather"]
    # a clear weather request for a place edgevox does not know: ask, never guess
    assert decide(weather, {"city": "Mường Nhé Xa"}, 0.95, policy)[0] is Verdict.CONFIRM
    assert decide(weather, {"city": "trời mọc"}, 0.6, policy)[0] is Verdict.ANSWER
    with pytest.raises(ValueError, match="unsure_below"):
        ActPolicy(unsure_below=1.5)


@pytest.mark.parametrize(("request_text", "tool", "args", "previous", "asked"), [
    ("tắt đèn phòng khách", "control_device", {"device": "light", "action": "off"}, None, True),
    ("đèn lồng Hội An đẹp ghê", "control_device", {"device": "light", "action": "on"}, None,
     False),
    ("chợ gần nhà tôi họp từ năm giờ sáng", "set_alarm", {"time": "05:00"}, None, False),
    ("đặt báo thức năm giờ sáng", "set_alarm", {"time": "05:00"}, None, True),
    # the past or a habit asks for nothing, but a title's words are not how it is told
    ("hôm qua tôi bật đèn cả đêm", "control_device", {"device": "light", "action": "on"}, None,
     False),
    ("mở bài Em Của Ngày Hôm Qua", "play_music", {"query": "Em Của Ngày Hôm Qua"}, None, True),
    # a follow-up is asked for by the request before it
    ("phòng ngủ nữa", "control_device", {"device": "light", "action": "on", "room": "bedroom"},
     "control_device", True),
    ("phòng ngủ nữa", "control_device", {"device": "light", "action": "on", "room": "bedroom"},
     None, False),
    # a negator cancels the verb after it and its object, up to the next verb
    ("đừng có bật quạt nha", "control_device", {"device": "fan", "action": "on"}, None, False),
    ("sao đèn không tắt được", "control_device", {"device": "light", "action": "off"}, None,
     False),
    ("thôi khỏi mở nhạc gọi cho mẹ giùm tui", "play_music", {"query": "nhạc"}, None, False),
    ("thôi khỏi mở nhạc gọi cho mẹ giùm tui", "call_contact", {"name": "mẹ"}, None, True),
    ("đèn không sáng bật lại giùm tui", "control_device", {"device": "light", "action": "on"},
     None, True),
    ("đừng quên nhắc tôi mua sữa", "add_reminder", {"text": "mua sữa"}, None, True),
    # what would happen asks for nothing now; "if you can" around a request is the request
    ("nếu tôi tắt điều hoà thì phòng có nóng không", "control_device",
     {"device": "air_conditioner", "action": "off"}, None, False),
    ("nếu được thì bật đèn giúp tôi", "control_device", {"device": "light", "action": "on"},
     None, True),
    ("tôi lỡ tắt đèn rồi bật lại giùm", "control_device", {"device": "light", "action": "on"},
     None, True),
    ("lỡ mai mưa thì tôi có nên mang ô không", "get_weather", {"city": "", "day": "tomorrow"},
     None, True),
    # a remark, or a statement that mentions the weather or the hour, is not a question
    ("trời hôm nay nóng ghê", "get_weather", {"city": ""}, None, False),
    ("mai Sài Gòn nắng không em", "get_weather", {"city": "Sài Gòn", "day": "tomorrow"}, None,
     True),
    ("giờ này mà còn kẹt xe", "get_time", {}, None, False),
    ("tiếng loa nhà bên to quá", "set_volume", {"level": 30}, None, False),
    ("nhỏ quá to lên giùm", "set_volume", {"level": 80}, None, True),
    ("kể cho tôi nghe chuyện con mèo", "play_music", {"query": "con mèo"}, None, False),
    ("thôi đừng nói nữa", "stop", {}, None, True),  # cancelled speaking is a stop
    ("thôi khỏi mở nhạc đâu", "stop", {}, None, False),
    ("cho tôi nghe nhạc con mèo", "play_music", {"query": "con mèo"}, None, True),
])
def test_a_call_needs_words_that_ask_for_it(tools, request_text, tool, args, previous, asked):
    assert (unasked(tools[tool], request_text, args, previous) is None) == asked
    verdict = decide(tools[tool], args, 0.99, ActPolicy(), request_text, previous)[0]
    assert verdict is (Verdict.ACT if asked else Verdict.ANSWER)


@pytest.mark.parametrize(("said", "wanted"), [
    ("khỏi bật tivi mở rèm phòng khách ra", "mở rèm phòng khách ra"),
    ("không phải mười phút mà hẹn giờ mười lăm phút", "hẹn giờ mười lăm phút"),
    ("không cần bật quạt đâu bật điều hoà đi", "bật điều hoà đi"),
    ("hẹn giờ năm phút nhưng đừng kêu to quá nha", "hẹn giờ năm phút"),
    ("đừng quên nhắc tôi mua sữa", "đừng quên nhắc tôi mua sữa"),
    ("đừng bật đèn nha để tui ngủ", "đừng bật đèn nha để tui ngủ"),  # nothing left: answered
])
def test_the_call_is_written_from_what_the_request_still_wants(said, wanted):
    assert wanted_part(said) == wanted


def test_a_tool_edgevox_has_no_words_for_is_not_checked(tools):
    custom = tool_from_spec({"name": "feed_cat", "description": "Feed the cat.",
                             "parameters": {}})
    assert unasked(custom, "con mèo nhà tôi mập quá") is None
    assert [t.name for t in asked_tools(list(tools.values()), "alo cho anh Tuấn giùm mình")] \
        == ["call_contact"]
    assert asked_tools(list(tools.values()), "hồi đó tôi hay gọi cho anh Tuấn") == []


def test_a_tool_that_declares_confirm_is_always_asked_about(tools):
    lock = tool_from_spec({"name": "unlock_door", "description": "Unlock a door.",
                           "confirm": True, "readback": "mở khóa cửa {door}",
                           "parameters": {"door": {"type": "string", "enum": ["trước", "sau"]}}})
    verdict, reason = decide(lock, {"door": "trước"}, 1.0, ActPolicy())
    assert verdict is Verdict.CONFIRM and "always" in reason
    assert confirmation_question(lock, {"door": "trước"}) == \
        "Bạn muốn tôi mở khóa cửa trước phải không?"
    with pytest.raises(ToolError, match="confirm"):
        tool_from_spec({"name": "x", "confirm": "yes"})


def test_the_confirming_question_says_the_call_in_vietnamese(tools):
    assert confirmation_question(
        tools["control_device"], {"device": "light", "action": "off", "room": "living_room"}
    ) == "Bạn muốn tôi tắt đèn phòng khách phải không?"
    assert confirmation_question(tools["set_timer"], {"duration_seconds": 300}) == \
        "Bạn muốn tôi hẹn giờ 5 phút phải không?"
    other = tool_from_spec({"name": "reboot_router", "description": "Reboot."})
    assert "reboot" not in confirmation_question(other, {})


@pytest.mark.parametrize(("text", "answer"), [
    ("ừ", True), ("đúng rồi", True), ("vâng ạ", True), ("ok làm đi", True), ("có chứ", True),
    ("không", False), ("thôi khỏi", False), ("dạ không phải", False), ("đừng", False),
    ("tắt đèn phòng ngủ", None), ("ừ mà bật cả quạt nữa", None), ("", None),
])
def test_only_a_short_yes_or_no_answers_the_question(text, answer):
    assert confirmation_answer(text) is answer


def test_replies_end_after_two_sentences_or_at_a_loop():
    three = "Một tuần có bảy ngày. Một ngày có hai mươi bốn giờ. Còn"
    assert three[: reply_end(three, 2)] == "Một tuần có bảy ngày. Một ngày có hai mươi bốn giờ."
    loop = "Mèo là một con vật có thể là một con vật có thể"
    assert loop[: reply_end(loop, 2)].strip() == "Mèo là một con vật có thể"
    assert reply_end("Mười chia hai bằng năm", 2) is None
    assert reply_end("Đó là là bài hát hay", 2) is None  # one stammer is not a loop
    assert asks_for_more(["kể", "chi", "tiết", "về", "Huế"])
    assert not asks_for_more(["chi", "vậy"])


def test_the_reply_grammar_admits_only_what_a_vietnamese_voice_reads():
    matcher = tool_grammar([], reply=True).matcher()

    def admitted(text: str) -> bool:
        states = matcher.step(matcher.start, f'say("{text}")')
        return bool(states) and matcher.is_done(states)

    assert admitted("Xin chào! Một tuần có 7 ngày, bạn nhé (theo dương lịch).")
    assert admitted("ĐƯỜNG Ở ĐÂU? Ở Huế, ừ.")
    for text in ("Một tuần có семь ngày", "一周有七天", "**đậm**", "`code`", "# tiêu đề"):
        assert not admitted(text), text


@pytest.mark.parametrize(("name", "known"), [
    ("Hà Nội", True), ("hà nội", True), ("tỉnh Lào Cai", True), ("TP Huế", True),
    ("Bà Rịa-Vũng Tàu", True), ("Luân Đôn", True), ("trời mọc", False), ("lá cây", False),
])
def test_known_places(name, known):
    assert is_known_place(name) is known
