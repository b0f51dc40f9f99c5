"""The tool-call grammar and the call syntax (edgevox.llm.grammar, edgevox.llm.calls): every
schema feature, checked two ways.

Each grammar is compiled by llama.cpp (LlamaGrammar text through llama.cpp's grammar sampler on
the real Qwen vocabulary) and strings are run through both llama.cpp, token by token, and the
Python matcher built from the same rules, so the GBNF text and the matcher cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgevox.errors import ToolError
from edgevox.llm.calls import format_call, parse_call
from edgevox.llm.grammar import (
    MAX_SPAN_WORDS,
    STATIC_GRAMMAR_FILE,
    Grammar,
    Lit,
    Matcher,
    Ref,
    grammar_dir,
    int_range,
    parse_gbnf,
    request_word_spans,
    static_rules,
    tool_grammar,
    vietnamese_syllable,
)
from edgevox.tools.registry import ToolRegistry

MODEL_ID = "qwen2.5-coder-0.5b-q4km"  # same Qwen2.5 vocabulary as the 1.5B, smaller file


@pytest.fixture(scope="module")
def vocab(model_dir):
    from edgevox.llm.engine import LlamaVocab

    path = next(model_dir(MODEL_ID).glob("*.gguf"))
    vocab = LlamaVocab(path)
    yield vocab
    vocab.close()


def compile_grammar(vocab, text: str):
    """Compile with llama.cpp; LlamaGrammar carries the text (0.3.x compiles it in the sampler)."""
    from llama_cpp import LlamaGrammar

    grammar = LlamaGrammar.from_string(text, verbose=False)
    return vocab.compile_grammar(grammar._grammar)


def llama_accepts(vocab, text: str, sample: str) -> bool:
    """Whether llama.cpp's grammar sampler lets ``sample`` through, complete, token by token."""
    constraint = compile_grammar(vocab, text)
    try:
        for token in vocab.tokenize(sample):
            if not constraint.allows(token):
                return False
            constraint.accept(token)
        return constraint.allows(vocab.eos())
    finally:
        constraint.close()


def matcher_accepts(grammar: Grammar, sample: str) -> bool:
    matcher = grammar.matcher()
    return matcher.accepts(matcher.step(matcher.start, sample))


def check(vocab, grammar: Grammar, good: list[str], bad: list[str]) -> None:
    for sample in good:
        assert matcher_accepts(grammar, sample), sample
        assert llama_accepts(vocab, grammar.text, sample), sample
    for sample in bad:
        assert not matcher_accepts(grammar, sample), sample
        assert not llama_accepts(vocab, grammar.text, sample), sample


def registry(*specs: dict) -> ToolRegistry:
    return ToolRegistry.from_json({"tools": list(specs)})


def request_words(text: str) -> list[str]:
    return [word for word, _, _ in request_word_spans(text)]


# --- grammar: one schema feature at a time ----------------------------------------------------


def test_enum_argument(vocab):
    tools = registry(
        {"name": "switch", "parameters": {"action": {"type": "string", "enum": ["on", "off"]}}}
    )
    grammar = tool_grammar(list(tools.values()), reply=False)
    check(vocab, grammar, ['switch("on")', 'switch("off")'], ['switch("of")', 'switch("dim")'])


def test_bounded_integer_admits_exactly_the_range(vocab):
    tools = registry(
        {
            "name": "set_timer",
            "parameters": {"seconds": {"type": "integer", "minimum": 1, "maximum": 86400}},
        }
    )
    grammar = tool_grammar(list(tools.values()), reply=False)
    good = ["set_timer(1)", "set_timer(9)", "set_timer(86400)", "set_timer(10000)"]
    bad = ["set_timer(0)", "set_timer(86401)", "set_timer(007)", "set_timer(-1)", "set_timer()"]
    check(vocab, grammar, good, bad)


@pytest.mark.parametrize(("low", "high"), [(0, 100), (1, 86400), (-15, 12), (7, 7), (95, 1200)])
def test_int_range_is_exact(low, high):
    grammar = Grammar({"root": int_range(low, high)})
    matcher = grammar.matcher()
    for value in range(low - 30, high + 1200, max(1, (high - low) // 500)):
        admitted = matcher.accepts(matcher.step(matcher.start, str(value)))
        assert admitted == (low <= value <= high), value
    assert not matcher.accepts(matcher.step(matcher.start, f"0{high}"))


def test_optional_arguments_keep_their_order(vocab):
    tools = registry(
        {
            "name": "f",
            "parameters": {
                "a": {"type": "integer", "minimum": 0, "maximum": 9, "required": False},
                "b": {"type": "boolean", "required": False},
            },
        },
        {
            "name": "g",
            "parameters": {
                "x": {"type": "integer", "minimum": 0, "maximum": 9},
                "y": {"type": "string", "enum": ["p", "q"], "required": False},
            },
        },
    )
    grammar = tool_grammar(list(tools.values()), reply=False)
    good = ["f()", "f(a=3)", "f(b=true)", "f(a=3, b=false)", "g(4)", 'g(4, y="q")']
    bad = ["f(b=true, a=3)", "f(3)", "f(, b=true)", 'g(y="q")', 'g(4, "q")', "g()"]
    check(vocab, grammar, good, bad)


def test_string_arguments_free_or_copied_from_the_request(vocab):
    tools = registry({"name": "play_music", "parameters": {"query": {"type": "string"}}})
    free = tool_grammar(list(tools.values()), reply=False)
    check(vocab, free, ['play_music("Diễm Xưa")', 'play_music("")'], ['play_music("a"b")'])
    words = request_words("mở bài Nối Vòng Tay Lớn nhé!")
    copied = tool_grammar(list(tools.values()), words=words, reply=False)
    good = ['play_music("Nối Vòng Tay Lớn")', 'play_music("nhé")', 'play_music("")']
    bad = ['play_music("Vòng Nối")', 'play_music("nhé!")', 'play_music("Hello")']
    check(vocab, copied, good, bad)


def test_request_words_keep_where_they_were_cut_from():
    text = 'mở bài "Diễm Xưa" nhé!'
    spans = request_word_spans(text)
    assert [w for w, _, _ in spans] == ["mở", "bài", "Diễm", "Xưa", "nhé"]
    assert [text[start:end] for _, start, end in spans] == ["mở", "bài", "Diễm", "Xưa", "nhé!"]


def test_reserved_words_are_not_copied_by_that_tool(vocab):
    tools = registry(
        {"name": "set_timer", "parameters": {
            "seconds": {"type": "integer", "minimum": 1},
            "label": {"type": "string", "required": False}}},
        {"name": "play_music", "parameters": {"query": {"type": "string"}}},
    )
    words = request_words("hẹn giờ mười lăm phút để luộc trứng")
    grammar = tool_grammar(list(tools.values()), {"set_timer": {"seconds": ["900"]}}, words,
                           reply=False, reserved={"set_timer": {2, 3, 4}})
    good = ["set_timer(900)", 'set_timer(900, label="luộc trứng")', 'set_timer(900, label="")',
            'play_music("mười lăm phút")']  # the other tool may still copy them
    bad = ['set_timer(900, label="mười lăm phút")', 'set_timer(900, label="lăm")',
           'set_timer(900, label="giờ mười")', 'set_timer(900, label="phút để")']
    check(vocab, grammar, good, bad)


def test_a_tool_with_every_word_reserved_gets_only_empty_strings(vocab):
    tools = registry({"name": "set_timer", "parameters": {
        "seconds": {"type": "integer", "minimum": 1}, "label": {"type": "string"}}})
    grammar = tool_grammar(list(tools.values()), {"set_timer": {"seconds": ["900"]}},
                           request_words("mười lăm phút"), reply=False,
                           reserved={"set_timer": {0, 1, 2}})
    check(vocab, grammar, ['set_timer(900, "")'], ['set_timer(900, "phút")'])


def test_a_very_long_request_leaves_string_arguments_free():
    tools = registry({"name": "add_reminder", "parameters": {"text": {"type": "string"}}})
    words = request_words("nhắc tôi mua sữa và bánh mì " * 300)  # typed, not spoken
    grammar = tool_grammar(list(tools.values()), words=words, reply=False)
    assert matcher_accepts(grammar, 'add_reminder("mua sữa")')
    assert matcher_accepts(grammar, 'add_reminder("không có trong câu")')
    short = tool_grammar(list(tools.values()), words=words[:MAX_SPAN_WORDS], reply=False)
    assert not matcher_accepts(short, 'add_reminder("không có trong câu")')


def test_boolean_argument(vocab):
    tools = registry({"name": "get_date", "parameters": {"lunar": {"type": "boolean"}}})
    grammar = tool_grammar(list(tools.values()), reply=False)
    check(vocab, grammar, ["get_date(true)", "get_date(false)"], ["get_date(yes)", "get_date(1)"])


def test_hhmm_pattern_argument(vocab):
    pattern = "^[0-2][0-9]:[0-5][0-9]$"
    tools = registry(
        {"name": "set_alarm", "parameters": {"time": {"type": "string", "pattern": pattern}}}
    )
    assert tools["set_alarm"].params[0].clock_time
    grammar = tool_grammar(list(tools.values()), reply=False)
    good = ['set_alarm("07:30")', 'set_alarm("23:05")']
    bad = ['set_alarm("7:30")', 'set_alarm("07:60")', 'set_alarm("07h30")', "set_alarm(07:30)"]
    check(vocab, grammar, good, bad)


def test_no_argument_tool_and_spoken_reply(vocab):
    tools = registry({"name": "stop", "description": "Stop."})
    grammar = tool_grammar(list(tools.values()))
    good = ["stop()", 'say("Chào bạn, mình giúp gì được?")']
    bad = ["stop(1)", 'say("")', 'say("hai\ndòng")', 'say("a"b")', "start()", "stop()stop()"]
    check(vocab, grammar, good, bad)


def test_a_reply_says_vietnamese_words_and_only_the_requests_own_foreign_ones(vocab):
    # "bạn có thể dùng pen hoặc pencil" was a reply of the 1.5B model before this
    grammar = tool_grammar([], words=request_words("bật wifi giúp tôi"))
    good = ['say("Dạ, tôi đã bật wifi! Nghiêng 30 độ (khoảng 3,5 mét).")',
            'say("Quảng Ninh - Hạ Long.")', 'say("Wifi đã bật.")']
    bad = ['say("Dùng pencil.")', 'say("Bạn dùng Zalo nhé.")', 'say("Một tuần có семь ngày")',
           'say("**Hà Nội**")', 'say("TP HCM")', 'say("xinchào")']
    check(vocab, grammar, good, bad)
    assert [w for w in ("nghiêng", "Quảng", "khuỷu", "ĐÀ", "pencil", "wifi", "TP", "Paris")
            if vietnamese_syllable(w)] == ["nghiêng", "Quảng", "khuỷu", "ĐÀ"]


def test_choices_narrow_an_argument_to_parsed_values(vocab):
    tools = registry(
        {"name": "set_timer", "parameters": {"s": {"type": "integer", "minimum": 1}}},
    )
    grammar = tool_grammar(list(tools.values()), choices={"set_timer": {"s": ["150"]}})
    check(vocab, grammar, ["set_timer(150)"], ["set_timer(15)", "set_timer(2)"])


def test_reference_tool_set_compiles_and_forces_what_it_must(vocab, eval_dir):
    tools = ToolRegistry.from_file(eval_dir / "tools.json")
    choices = {"set_timer": {"duration_seconds": ["300"]}}
    grammar = tool_grammar(list(tools.values()), choices, request_words("hẹn giờ năm phút"))
    compile_grammar(vocab, grammar.text).close()
    matcher = grammar.matcher()
    state = matcher.step(matcher.start, "set_t")
    assert matcher.forced(state) == "imer(300"
    state = matcher.step(state, "imer(300")
    assert not matcher.is_done(state)
    assert matcher.is_done(matcher.step(state, ")"))
    assert matcher.forced(matcher.step(matcher.start, "sto")) == "p()"


def test_llama_cpp_refuses_a_broken_grammar(vocab):
    with pytest.raises(ToolError):
        compile_grammar(vocab, 'root ::= "a" missing-rule\n')


def test_static_pieces_round_trip_through_gbnf_text():
    rules = dict(static_rules())
    assert {"say-call", "reply-word", "syllable", "free-string", "boolean"} <= set(rules)
    text = Grammar(rules).text
    assert parse_gbnf(text) == rules


def test_recursive_rules_are_refused_by_the_matcher():
    with pytest.raises(ToolError):
        Matcher({"root": Ref("a"), "a": Ref("root")})
    single = Matcher({"root": Lit("x")})
    assert single.forced(single.start) == "x"


def test_parse_and_format_calls_round_trip(eval_dir):
    tools = ToolRegistry.from_file(eval_dir / "tools.json")
    calls = [
        ("control_device", {"device": "light", "action": "on", "room": "bedroom"}),
        ("get_weather", {"city": "Đà Nẵng"}),
        ("get_date", {"lunar": True}),
        ("set_timer", {"duration_seconds": 150, "label": "luộc trứng"}),
        ("stop", {}),
    ]
    for name, args in calls:
        text = format_call(tools[name], args)
        assert parse_call(text, tools) == (name, args)
    assert parse_call('say("Dạ, chào bạn!")', tools) == ("say", {"text": "Dạ, chào bạn!"})
    with pytest.raises(ToolError):
        parse_call("launch_rocket()", tools)


def test_grammar_dir_holds_the_static_file():
    assert (grammar_dir() / STATIC_GRAMMAR_FILE).is_file()
    assert isinstance(grammar_dir(), Path)
