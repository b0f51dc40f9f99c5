"""The fixed prompt prefix: instructions, the tool list and a few examples, built from schemas.

Everything here is the same for every request, so the engine evaluates it once at start-up and
keeps it in the KV cache; a request only pays for its own words. The tool list is written as
compact Python-like signatures (``set_timer(duration_seconds: int 1..86400, label: str = None)``)
because that is the call syntax the grammar forces and a code model reads it best.

Examples come from two places: those an application attaches to its own tools, and a small
built-in bank of Vietnamese requests for the tools a home or kiosk assistant usually has (timer,
alarm, weather, music, devices, ...). A bank example is used only when a tool of that name is
registered and the example's arguments validate against that tool's schema, so a differently
shaped tool never inherits a wrong example. A few chit-chat examples teach the spoken reply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from edgevox.errors import ToolError
from edgevox.llm.calls import format_call, quote
from edgevox.tools.registry import REPLY_TOOL, Example, Param, Tool

SYSTEM_PROMPT = """\
You are a voice assistant for Vietnamese speakers. Answer every user message with exactly one \
line: either one call of a tool below, when the user asks for what that tool does, or \
say("...") with a short, friendly spoken answer in Vietnamese (one or two sentences) for \
greetings, thanks, questions and anything no tool does. Use a tool whenever the request needs \
what it does, even when asked indirectly.
Call a tool only when the user wants it done now. \
Questions about facts, how things work, advice, opinions, remarks and stories that merely \
mention a device, a place, a time, a song or the weather are not requests: answer them with \
say("..."). An indirect request ("tối quá, bật đèn lên", a question about the forecast for a \
place or day) still uses its tool.
Required arguments are positional; optional ones are written name=value and only when the user \
gave them. Copy names, places, titles and times exactly as the user said them; "" means the \
user did not say it.
Tools:
{tools}"""
REPLY_SIGNATURE = f"{REPLY_TOOL}(text: str)  # speak to the user"

# Built-in examples for common assistant tools: (tool, request, arguments). Written for edgevox,
# not taken from any evaluation set.
BANK: tuple[tuple[str, str, Mapping[str, Any]], ...] = (
    ("set_timer", "đếm ngược hai mươi phút giúp tôi", {"duration_seconds": 1200}),
    (
        "control_device",
        "tắt quạt trong phòng làm việc",
        {"device": "fan", "action": "off", "room": "office"},
    ),
    (
        "add_reminder",
        "nhắc tôi gọi cho bác sĩ lúc ba giờ chiều",
        {"text": "gọi cho bác sĩ", "when": "ba giờ chiều"},
    ),
    ("get_weather", "Huế ngày mai có nắng không", {"city": "Huế", "day": "tomorrow"}),
    (
        REPLY_TOOL,
        "tại sao bầu trời có màu xanh",
        {"text": "Vì không khí tán xạ ánh sáng màu xanh mạnh hơn các màu khác."},
    ),
    ("play_music", "bật nhạc không lời cho tôi nghe", {"query": "nhạc không lời"}),
    ("set_alarm", "đặt báo thức lúc năm giờ rưỡi sáng", {"time": "05:30"}),
    (REPLY_TOOL, "chào em", {"text": "Chào bạn! Mình có thể giúp gì cho bạn?"}),
    ("set_volume", "giảm âm lượng xuống ba mươi", {"level": 30}),
    (
        REPLY_TOOL,
        "máy giặt có nên giặt bằng nước nóng không",
        {"text": "Nước ấm giặt sạch hơn nhưng tốn điện hơn nước lạnh."},
    ),
    ("get_weather", "mai đi chơi có cần mang ô không", {"city": "", "day": "tomorrow"}),
    (
        REPLY_TOOL,
        "làm sao để ngủ ngon hơn",
        {"text": "Bạn nên đi ngủ đúng giờ và tránh dùng điện thoại trước khi ngủ."},
    ),
    ("get_time", "xem giùm tôi mấy giờ rồi", {}),
    ("get_weather", "thứ bảy này thời tiết thế nào", {"city": ""}),
    (
        REPLY_TOOL,
        "hôm qua tôi quên tắt đèn cả đêm",
        {"text": "Không sao đâu, lần sau bạn nhớ tắt đèn để tiết kiệm điện nhé."},
    ),
    ("get_weather", "hôm nay Cần Thơ nóng không", {"city": "Cần Thơ", "day": "today"}),
    ("call_contact", "gọi chị Lan giúp tôi", {"name": "chị Lan"}),
    (
        "control_device",
        "đóng rèm cửa phòng khách lại",
        {"device": "curtain", "action": "off", "room": "living_room"},
    ),
    ("set_alarm", "sáng mai gọi tôi dậy lúc sáu giờ", {"time": "06:00"}),
    (
        REPLY_TOOL,
        "Quảng Nam có món gì ngon",
        {"text": "Quảng Nam nổi tiếng với mì Quảng và cao lầu."},
    ),
    ("get_date", "hôm nay là thứ mấy", {}),
    ("play_music", "mở Hãy Trao Cho Anh của Sơn Tùng", {"query": "Hãy Trao Cho Anh của Sơn Tùng"}),
    (REPLY_TOOL, "một năm có bao nhiêu tháng", {"text": "Một năm có mười hai tháng."}),
    ("play_music", "phát Lạc Trôi của Sơn Tùng", {"query": "Lạc Trôi của Sơn Tùng"}),
    (
        REPLY_TOOL,
        "bài Lạc Trôi do ai sáng tác",
        {"text": "Bài Lạc Trôi do ca sĩ Sơn Tùng sáng tác."},
    ),
    ("set_timer", "hẹn giờ ba phút để pha trà", {"duration_seconds": 180, "label": "pha trà"}),
    ("stop", "thôi im đi", {}),
    ("get_weather", "ra ngoài có cần mặc áo khoác không", {"city": ""}),
    ("add_reminder", "nhớ nhắc tôi mua sữa", {"text": "mua sữa"}),
    (
        REPLY_TOOL,
        "người lớn nên ngủ mấy tiếng mỗi đêm",
        {"text": "Người lớn nên ngủ khoảng bảy đến tám tiếng mỗi đêm."},
    ),
    ("set_alarm", "cài báo thức bảy giờ sáng chủ nhật", {"time": "07:00"}),
    ("set_volume", "tắt âm thanh của loa", {"level": 0}),
    (
        "control_device",
        "mở quạt trong phòng ngủ",
        {"device": "fan", "action": "on", "room": "bedroom"},
    ),
    ("get_date", "xem ngày âm lịch giúp tôi", {"lunar": True}),
    (
        REPLY_TOOL,
        "con tôi rất sợ tiếng sấm",
        {"text": "Bạn hãy ở cạnh bé và nói rằng ở trong nhà thì rất an toàn."},
    ),
    ("get_weather", "hôm nay có cần mang dù không", {"city": "", "day": "today"}),
    ("control_device", "bật đèn nhà tắm", {"device": "light", "action": "on", "room": "bathroom"}),
    (
        REPLY_TOOL,
        "canh chua cá nấu thế nào",
        {"text": "Bạn nấu nước dùng với cá, me, cà chua, dứa rồi thêm rau thơm là được."},
    ),
    ("play_music", "mở danh sách nhạc yêu thích của tôi", {"query": "nhạc yêu thích"}),
    (
        REPLY_TOOL,
        "báo thức kêu to quá làm cả nhà thức giấc",
        {"text": "Ồ, vậy lần sau bạn có thể chọn tiếng chuông nhẹ hơn."},
    ),
    (REPLY_TOOL, "cảm ơn nhé", {"text": "Không có gì, bạn cần gì cứ gọi mình nhé!"}),
)


def describe_param(param: Param) -> str:
    """``name: type`` as the tool list shows it, with ``= None`` for optional arguments."""
    if param.enum:
        kind = "|".join(quote(v) for v in param.enum)
    elif param.type == "integer":
        low = "" if param.minimum is None else str(param.minimum)
        high = "" if param.maximum is None else str(param.maximum)
        kind = f"int {low}..{high}" if low or high else "int"
    elif param.type == "boolean":
        kind = "bool"
    elif param.clock_time:
        kind = 'str "HH:MM" 24-hour'
    elif param.pattern:
        kind = f"str /{param.pattern}/"
    else:
        kind = "str"
    return f"{param.name}: {kind}" + ("" if param.required else " = None")


def describe_tool(tool: Tool) -> str:
    """One line per tool: signature, then description and argument notes as a comment."""
    notes = [tool.description]
    notes += [f"{p.name}: {p.description}" for p in tool.params if p.description]
    comment = "; ".join(n.strip().rstrip(".") for n in notes if n.strip())
    signature = f"{tool.name}({', '.join(describe_param(p) for p in tool.params)})"
    return f"{signature}  # {comment}" if comment else signature


def select_examples(
    tools: Mapping[str, Tool], extra: Iterable[tuple[str, Example]] = ()
) -> list[tuple[str, str, str]]:
    """(tool, request, answer line): the tools' own examples, extras, then usable bank entries."""
    chosen: list[tuple[str, str, str]] = []
    for tool in tools.values():
        chosen += [
            (tool.name, ex.text, format_call(tool, tool.validate(ex.args))) for ex in tool.examples
        ]
    for name, ex in extra:
        if name not in tools:
            raise ToolError(f"example {ex.text!r} names unknown tool {name!r}")
        chosen.append((name, ex.text, format_call(tools[name], tools[name].validate(ex.args))))
    for name, text, args in BANK:
        if name == REPLY_TOOL:
            chosen.append((name, text, f"{REPLY_TOOL}({quote(args['text'])})"))
            continue
        tool = tools.get(name)
        if tool is None:
            continue
        try:
            chosen.append((name, text, format_call(tool, tool.validate(args))))
        except ToolError:
            continue  # same name, different schema: the example would teach the wrong shape
    return chosen


def build_messages(
    tools: Mapping[str, Tool], examples: Sequence[tuple[str, str, str]]
) -> list[dict[str, str]]:
    """System prompt, then every example as a user turn and the assistant's answer line.

    Examples work far better as real turns than as lines in the system prompt: a 1.5B model
    imitates the answers it has "given" before. The request follows as the final user turn.
    """
    listing = "\n".join([*(describe_tool(t) for t in tools.values()), REPLY_SIGNATURE])
    messages = [{"role": "system", "content": SYSTEM_PROMPT.format(tools=listing)}]
    for _, text, answer in examples:
        messages += [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]
    return messages
