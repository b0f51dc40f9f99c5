"""Acting or answering: how sure the model was, whether its arguments make sense, what to do.

An action nobody asked for is the worst thing a voice assistant can do, and a 1.5B model under
a tool grammar picks *some* tool for many questions that merely mention a device, a place or
a time ("mặt trời mọc ở hướng nào" became ``get_weather(city="trời mọc")``). Greedy decoding
hides how close that choice was, so the understanding stage reads it back:

* **act probability**: at the first output step the model chooses between ``say("`` and the
  tools' names. :func:`act_probability` is the probability mass, among the tokens that can
  start an answer at all, of tokens that can only start a tool call;
* **argument plausibility**: a string argument must read as what its parameter names
  (:func:`implausible_argument`): a place is a place edgevox knows, a song query or a
  contact's name is not a whole question;
* **asked for**: the request must contain words that ask for that tool (:func:`unasked`):
  a light is switched only by a sentence with "bật", "tắt", "mở" ...; an alarm needs "báo
  thức" or "dậy". A sentence that tells of the past or of a habit ("hôm qua", "hồi đó",
  "năm nào cũng"), wonders what would happen ("giả sử", "nếu …", "lỡ …"), or only remarks
  ("nắng chói mắt quá") asks for nothing, and a cue a negator cancels ("đừng có bật quạt",
  "khỏi gọi cho mẹ đâu") does not count. The model's probability alone does not separate
  these: it gave ``set_alarm("05:00")`` 0.95 for "chợ gần nhà tôi họp từ năm giờ sáng";
* :func:`decide` turns all three, the thresholds of :class:`ActPolicy` and the tool's own
  ``confirm`` flag into one :class:`Verdict`: act, ask first, or answer instead.

Asking first never acts: the call waits as a :class:`Proposal` until the person says yes
(:func:`confirmation_answer`) in the next turn. The thresholds are calibrated by
``bench/eval_replies.py --calibrate`` on edgevox's own dev sets, never on the sets reported.
"""

from __future__ import annotations

import enum
import math
import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edgevox.config import ACT_THRESHOLD, CONFIRM_THRESHOLD, UNSURE_BELOW
from edgevox.tools.home import DEVICE_VI, ROOM_VI, duration_vi
from edgevox.tools.registry import REPLY_TOOL, Param, Tool

_WORD = re.compile(r"[^\W\d_]+")
UNSURE_REPLY = "Tôi không chắc."
"""What a question gets instead of a guess (see :attr:`ActPolicy.unsure_below`)."""
CONFIRM_TTL_S = 30.0
"""How long a question "… phải không?" waits for its yes: later, a yes means something else."""


class Verdict(enum.Enum):
    ACT = "act"
    CONFIRM = "confirm"
    ANSWER = "answer"


@dataclass(frozen=True)
class ActPolicy:
    """When a chosen tool call is made, asked about first, or replaced by a spoken answer.

    ``act_threshold``: the act probability from which a plausible call is made at once.
    ``confirm_threshold``: from here up to ``act_threshold`` (and for an implausible argument
    above ``act_threshold``) the agent asks before acting; below it, it answers instead.
    ``unsure_below``: a reply to a question stops before a clause with a word the model gave
    less than this probability, and says :data:`UNSURE_REPLY` when nothing came before it.
    """

    act_threshold: float = ACT_THRESHOLD
    confirm_threshold: float = CONFIRM_THRESHOLD
    unsure_below: float = UNSURE_BELOW

    def __post_init__(self) -> None:
        if not 0.0 <= self.confirm_threshold <= self.act_threshold <= 1.0:
            raise ValueError("need 0 <= confirm_threshold <= act_threshold <= 1")
        if not 0.0 <= self.unsure_below <= 1.0:
            raise ValueError("need 0 <= unsure_below <= 1")


@dataclass(frozen=True)
class Proposal:
    """A call the agent asked about and has not made: it runs only on the person's yes."""

    tool: str
    args: dict[str, Any]
    reason: str = ""
    """Why the agent asked (for the ``confirming`` event)."""
    asked_t: float = field(default_factory=time.monotonic)

    def expired(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) - self.asked_t > CONFIRM_TTL_S


# --- the model's own probability -----------------------------------------------------------


def act_probability(
    candidates: Sequence[tuple[int, float]],
    piece: Callable[[int], bytes],
    tool_names: Sequence[str],
) -> float | None:
    """The probability the model gave to starting a tool call rather than a spoken reply.

    ``candidates`` are the highest raw logits of the first output step (before the grammar).
    Only tokens that can begin one of the answers the grammar admits (``name(`` or ``say("``)
    count; a token shared by both kinds ("s" of "say" and "set_timer") counts as not acting, so
    the figure is what the model committed to. ``None`` when no candidate can begin an answer.
    """
    openings = [f"{name}(" for name in tool_names]
    reply = f'{REPLY_TOOL}("'
    top = max((logit for _, logit in candidates), default=0.0)
    act = total = 0.0
    for token, logit in candidates:
        text = piece(token).decode("utf-8", "ignore")
        if not text:
            continue
        starts_tool = any(o.startswith(text) or text.startswith(o) for o in openings)
        starts_reply = reply.startswith(text) or text.startswith(reply)
        if not (starts_tool or starts_reply):
            continue
        weight = math.exp(logit - top)
        total += weight
        if starts_tool and not starts_reply:
            act += weight
    return act / total if total else None


# --- argument plausibility -----------------------------------------------------------------

_PLACE_PARAMS = ("city", "place", "location", "province", "destination", "where")
_NAME_PARAMS = ("name", "contact", "person", "who")
_QUERY_PARAMS = ("query", "song", "title", "artist", "track", "music")
_QUESTION_ENDINGS = ("không", "hông", "chưa", "gì", "nào", "hả", "à", "nhỉ", "chăng", "sao",
                     "mấy", "ai", "vậy", "thế", "chi", "mô", "đâu")
_QUESTION_PHRASES = re.compile(
    r"\b(tại sao|vì sao|làm sao|là gì|bao nhiêu|thế nào|như thế nào|ra sao|có phải|bao giờ|"
    r"khi nào|ở đâu|ai là|là ai)\b"
)
_VOCATIVES = frozenset({"em", "anh", "chị", "bạn", "ơi", "ạ", "cưng", "bà", "ông", "cô", "chú"})
MAX_NAME_WORDS = 4


def question_like(text: str) -> bool:
    """Whether words read as a question ("… có mưa không", "tại sao …"), not a title."""
    words = unicodedata.normalize("NFC", text).lower().split()
    while words and words[-1] in _VOCATIVES:  # "mai Sài Gòn nắng không em"
        words.pop()
    if not words:
        return False
    return words[-1] in _QUESTION_ENDINGS or bool(_QUESTION_PHRASES.search(" ".join(words)))


_QUESTION_WORDS = frozenset({"gì", "nào", "ai", "mấy", "đâu", "sao", "nhiêu"})


def asks_something(text: str) -> bool:
    """Whether the request asks something: a question (:func:`question_like`) or a question
    word anywhere ("hành tinh nào gần mặt trời nhất", "truyện kiều do ai sáng tác"). Broader
    than :func:`question_like`, which the decision rules use; an answer to it must not be a
    guess."""
    return question_like(text) or bool(_QUESTION_WORDS & set(_words(text)))


def _role(param: Param) -> str | None:
    name = param.name.lower()
    for role, keys in (("place", _PLACE_PARAMS), ("name", _NAME_PARAMS),
                       ("query", _QUERY_PARAMS)):
        if any(key in name for key in keys):
            return role
    return None


def implausible_argument(tool: Tool, args: Mapping[str, Any]) -> str | None:
    """Why an argument does not read as what its parameter names, or ``None``.

    The role comes from the parameter's name (``city``, ``location``: a place; ``name``,
    ``contact``: a person; ``query``, ``song``: something to play). Enum, number and clock
    arguments are already exact; free text (a reminder) has no role to check.
    """
    from edgevox.text.places import is_known_place

    for param in tool.params:
        value = args.get(param.name)
        if param.type != "string" or param.enum or not isinstance(value, str) or not value:
            continue
        role = _role(param)
        if role == "place" and not is_known_place(value):
            return f"{param.name} {value!r} is not a place edgevox knows"
        if role == "name" and (len(value.split()) > MAX_NAME_WORDS or question_like(value)):
            return f"{param.name} {value!r} does not read as a name"
        if role == "query" and question_like(value):
            return f"{param.name} {value!r} is a question, not something to play"
    return None


def unnamed_place(tool: Tool, args: Mapping[str, Any]) -> dict[str, Any] | None:
    """``args`` with place arguments that are common lower-case words ("thành phố", "cuối tuần")
    left empty, when that is the only problem; ``None`` otherwise. The call is then made, or
    asked about, without them ("Bạn muốn tôi xem thời tiết phải không?"), never with weather
    "ở thành phố". A capitalised unknown name ("Mường Nhé") is kept: it is a real
    place edgevox does not know, and the question names it."""
    from edgevox.text.places import is_known_place

    repaired = dict(args)
    for param in tool.params:
        value = args.get(param.name)
        if _role(param) == "place" and isinstance(value, str) and value \
                and not is_known_place(value):
            if value != value.lower():
                return None
            repaired[param.name] = ""
    if repaired == dict(args) or implausible_argument(tool, repaired):
        return None
    return repaired


# --- asked for ------------------------------------------------------------------------------

CUES: dict[str, tuple[str, ...]] = {
    "set_timer": ("hẹn giờ", "đếm ngược", "bấm giờ", "canh giờ", "tính giờ", "hẹn", "timer",
                  "đồng hồ", "báo thức", "báo tôi", "báo cho tôi"),
    "set_alarm": ("báo thức", "đánh thức", "dậy", "chuông", "alarm", "báo tôi", "báo cho tôi"),
    "get_time": ("bây giờ", "hiện tại", "giờ rồi", "giờ này", "là mấy giờ", "xem giờ", "coi giờ",
                 "đồng hồ"),
    "get_date": ("hôm nay", "bữa nay", "nay là", "nay thứ", "nay ngày", "nay mùng", "nay mồng",
                 "hiện tại", "xem lịch", "coi lịch", "lịch âm", "ngày bao nhiêu", "thứ mấy rồi"),
    "control_device": ("bật", "tắt", "mở", "đóng", "kéo", "hạ", "ngắt", "khởi động", "chạy"),
    "set_volume": ("âm lượng", "loa", "volume", "vặn", "âm thanh", "tiếng to", "tiếng nhỏ",
                   "nhỏ tiếng", "to tiếng", "nhỏ lại", "to lên", "lớn lên", "bé lại",
                   "nhỏ xuống", "giảm tiếng", "tăng tiếng", "tắt tiếng", "mức"),
    "play_music": ("nhạc", "bài", "nghe", "phát", "mở", "bật", "hát", "ca khúc", "album",
                   "playlist", "bản"),
    "stop": ("dừng", "thôi", "im", "tắt", "ngừng", "ngưng", "stop", "đủ rồi"),
    "get_weather": ("thời tiết", "mưa", "nắng", "nóng", "lạnh", "rét", "gió", "bão", "nhiệt độ",
                    "độ", "trời", "ô", "dù", "áo khoác", "áo mưa", "sương", "mây", "ẩm", "oi",
                    "mát", "dự báo", "tuyết", "mặc"),
    "call_contact": ("gọi", "điện cho", "điện thoại cho", "alo", "liên lạc", "video", "nháy máy",
                     "bấm số"),
    "add_reminder": ("nhắc", "nhớ", "ghi chú", "ghi lại", "lưu ý", "quên"),
}
"""Words that ask for the common assistant tools, by tool name. A tool not named here (an
application's own) is not checked: its schema and the model decide alone."""
TOLD = ("hôm qua", "hôm kia", "hồi", "năm ngoái", "năm đó", "bữa trước", "bữa hổm", "có lần",
        "lần trước", "tuần rồi", "tuần trước", "tháng trước", "ngày xưa", "đã từng",
        "nào cũng", "đêm qua", "tối qua", "bữa đó", "hôm đó", "lúc đó", "khi đó")
"""Words of a sentence that tells of the past or of a habit, which asks for no action."""
ADVICE_IS_A_REQUEST = frozenset({"get_weather"})
"""Tools that a question for advice asks for: "có nên mang ô không" wants the forecast, while
"tôi nên tắt đèn khi ra khỏi phòng không" wants an opinion, not the light switched off."""
NEGATORS = ("đừng", "khỏi", "không cần", "chưa cần", "chẳng cần", "chả cần", "đâu cần",
            "không phải", "không muốn", "chưa muốn", "chẳng muốn", "không định", "không nên",
            "không được", "thôi khỏi", "thôi đừng", "thôi không cần", "không")
"""Words that cancel the verb after them: "đừng có bật quạt", "khỏi gọi cho mẹ đâu". A bare
"không" counts only right before an action verb ("sao đèn không tắt"), since it also ends
questions and says "not" of anything ("đèn không sáng, bật lại giùm")."""
COMMAND_VERBS = frozenset({"bật", "tắt", "mở", "đóng", "kéo", "hạ", "ngắt", "gọi", "nhắc", "đặt",
                           "hẹn", "phát", "dừng", "xem", "coi", "kiểm", "vặn", "tăng", "giảm",
                           "chỉnh", "chuyển"})
"""Verbs a request to act starts with. What a negator cancels begins with one and ends at the
next: in "thôi khỏi mở nhạc gọi cho mẹ" only "mở nhạc" is cancelled, the call is asked for."""
_NEGATION_FILLERS = frozenset({"có", "cần", "phải", "mà", "hãy", "nên", "được"})
_CLAUSE_ENDS = frozenset({"đâu", "nha", "nhé", "nhá", "nữa", "đi", "thôi", "mà", "nhưng", "rồi",
                          "vì", "tại", "còn", "với", "ạ"})
NEGATED_WORDS = 3
"""How many words after a cancelled verb its cancellation reaches ("đừng vặn to loa")."""
HYPOTHETICAL = ("nếu", "giả sử", "giả như", "giả dụ", "hễ", "giá mà", "ước gì", "phòng khi",
                "trường hợp")
"""Words of a sentence about what would happen, which asks for nothing now ("nếu mất điện thì
tủ lạnh giữ lạnh được bao lâu"; a conditional wish, "nếu mai mưa thì …", cannot be acted on
now either). "lỡ" and "nhỡ" count only where the sentence starts with them: "tôi lỡ tắt" is
"by mistake"."""
_HYPOTHETICAL_OPENINGS = ("lỡ", "nhỡ")
POLITE_CONDITIONS = ("nếu được", "nếu có thể", "nếu không phiền", "nếu tiện", "nếu rảnh",
                     "nếu bạn rảnh", "nếu em rảnh", "nếu được thì")
""""If you can" wrapped around a request is still the request: "nếu được thì bật đèn"."""


QUESTION_TOOLS = frozenset({"get_weather", "get_time", "get_date"})
"""Tools that answer a question. A statement that only mentions the weather, the hour or the
day ("trời hôm nay nóng ghê", "giờ này mà vẫn kẹt xe") asks for none of them: the request must
be a question (:func:`question_like`) or say what it wants (:data:`WANTS_TO_KNOW`)."""
WANTS_TO_KNOW = ("xem", "coi", "biết", "kiểm tra", "tra", "báo", "dự báo", "thời tiết",
                 "nhiệt độ", "giùm", "giúp", "dùm", "hộ", "hãy", "nên", "mang", "mặc", "đem",
                 "nói", "đọc", "hỏi", "lịch", "mấy", "bao nhiêu")
EXCLAMATIONS = ("quá", "ghê", "thiệt", "thật", "dễ sợ", "quá trời", "ha", "lắm", "kinh khủng",
                "khủng khiếp", "vãi", "hết trơn", "hết sức")
"""Words a remark ends with ("bài hát này hay thiệt", "tiếng loa nhà bên to quá")."""
ASKING = ("đi", "giùm", "giúp", "dùm", "hộ", "lên", "xuống", "lại", "nha", "nhé", "nhá", "hãy",
          "cho tôi", "cho tui", "cho mình", "cho em", "cho anh", "cho chị", "được không")
"""Words that turn a sentence into a request ("nhỏ quá, to lên giùm")."""
def _spans(text: str) -> list[tuple[str, int, int]]:
    """The lower-case words of ``text`` and where each is in its NFC form."""
    return [(m.group().lower(), m.start(), m.end())
            for m in _WORD.finditer(unicodedata.normalize("NFC", text))]


def _words(text: str) -> list[str]:
    return [word for word, _, _ in _spans(text)]


def _at(words: Sequence[str], phrase: str) -> list[int]:
    """Where ``phrase`` starts among ``words``."""
    parts = phrase.split()
    return [i for i in range(len(words) - len(parts) + 1) if list(words[i:i + len(parts)]) == parts]


def _says(text: str, phrases: Sequence[str]) -> bool:
    words = _words(text)
    return any(_at(words, phrase) for phrase in phrases)


def _negated(words: Sequence[str]) -> set[int]:
    """The words a negator cancels, the negator's own included: after it, fillers ("có"),
    then the verb and up to :data:`NEGATED_WORDS` words, to the next verb or particle. A
    negator right before "quên" asks the opposite ("đừng quên nhắc tôi") and cancels nothing."""
    cancelled: set[int] = set()
    for negator in sorted(NEGATORS, key=len, reverse=True):
        size = len(negator.split())
        for start in _at(words, negator):
            i = start + size
            if (i < len(words) and words[i] == "quên") or start in cancelled:
                continue
            if negator == "không" and (i >= len(words) or words[i] not in COMMAND_VERBS):
                continue
            while i < len(words) and words[i] in _NEGATION_FILLERS:
                i += 1
            end = i + 1
            while end < len(words) and end <= i + NEGATED_WORDS \
                    and words[end] not in COMMAND_VERBS and words[end] not in _CLAUSE_ENDS:
                end += 1
            cancelled.update(range(start, min(end, len(words))))
    return cancelled


def wanted_part(text: str) -> str:
    """The request without the wishes it cancels, when a command is left outside them
    ("khỏi bật tivi mở rèm phòng khách ra" -> "mở rèm phòng khách ra"): the model, given the
    whole sentence, copied the cancelled call as often as the wanted one. A request that
    cancels everything ("đừng bật đèn nha") is kept whole, to be answered."""
    text = unicodedata.normalize("NFC", text)
    spans = _spans(text)
    cancelled = _negated([word for word, _, _ in spans])
    if not cancelled:
        return text
    dropped = set(cancelled)
    for i in cancelled:  # the particles that opened and closed a cancelled wish go with it
        for j in (i - 1, i + 1):
            if 0 <= j < len(spans) and j not in cancelled and spans[j][0] in _CLAUSE_ENDS:
                dropped.add(j)
    if not any(spans[i][0] in COMMAND_VERBS for i in range(len(spans)) if i not in dropped):
        return text
    kept = [text[start:end] for i, (_, start, end) in enumerate(spans) if i not in dropped]
    return " ".join(kept)


HUSH = ("đừng nói", "đừng hát", "đừng phát", "đừng kêu", "khỏi nói", "không cần nói")
"""Cancelled speaking asks for ``stop``: "thôi đừng nói nữa" wants the agent quiet."""
TOLD_TO_LISTEN = frozenset({"kể", "nói", "đọc", "thích", "giảng"})
"""Verbs after which "nghe" is listening to the agent, not to music: "kể cho tôi nghe một câu
chuyện" (the model played "con mèo")."""


def _asks(words: Sequence[str], cancelled: set[int], cues: Sequence[str]) -> bool:
    """Whether a cue is said outside every cancelled stretch (a "nghe" that follows "kể cho
    tôi" is no cue)."""
    return any(start not in cancelled
               and not (cue == "nghe" and TOLD_TO_LISTEN & set(words[max(0, start - 3):start]))
               for cue in cues for start in _at(words, cue))


def hypothetical(text: str) -> bool:
    """Whether the sentence is about what would happen ("giả sử …", "nếu …", "lỡ …") rather
    than a request wrapped in "if you can" (:data:`POLITE_CONDITIONS`)."""
    words = _words(text)
    if words[:1] and words[0] in _HYPOTHETICAL_OPENINGS:
        return True
    polite = {i for phrase in POLITE_CONDITIONS for i in _at(words, phrase)}
    return any(start not in polite for phrase in HYPOTHETICAL for start in _at(words, phrase))


def remark(text: str) -> bool:
    """Whether the sentence is an exclamation about something ("nắng chói mắt quá") with no
    command verb and no word that asks (:data:`ASKING`): it asks for nothing."""
    words = _words(text)
    ends = any(words[-len(e.split()):] == e.split() for e in EXCLAMATIONS) if words else False
    return ends and not COMMAND_VERBS & set(words) and not any(_at(words, w) for w in ASKING)


def _told(request: str, args: Mapping[str, Any] | None) -> str:
    """The request without the words the call copied into a string argument (the title "Em
    Của Ngày Hôm Qua" is what to play, not how the sentence is told)."""
    for value in (args or {}).values():
        if isinstance(value, str) and value:
            request = request.replace(value, " ")
    return request


def unasked(tool: Tool, request: str, args: Mapping[str, Any] | None = None,
            previous_tool: str | None = None) -> str | None:
    """Why ``request`` does not ask for ``tool``, or ``None`` when it may.

    A follow-up of a call of the same tool ("phòng ngủ nữa" after a light was switched on) is
    asked for by the request before it.
    """
    if not request or previous_tool == tool.name:
        return None
    told = _told(request, args)
    if _says(told, TOLD):
        return "the request tells of the past or a habit"
    advice = _says(told, ("nên",))
    if tool.name not in ADVICE_IS_A_REQUEST and advice and question_like(told):
        return "the request asks for advice"
    if hypothetical(told) and not (tool.name in ADVICE_IS_A_REQUEST and advice):
        return "the request is about what would happen, not a request now"
    if tool.name in CUES and remark(told):
        return "the request is a remark"
    if tool.name in QUESTION_TOOLS and not question_like(told) and not _says(told, WANTS_TO_KNOW):
        return f"the request is a statement, not a question for {tool.name}"
    cues = CUES.get(tool.name)
    if tool.name == "stop" and _says(request, HUSH):
        return None
    if cues:
        words = _words(request)
        if not _asks(words, _negated(words), cues):
            if _asks(words, set(), cues):
                return f"the request says not to {tool.name}"
            return f"nothing in the request asks for {tool.name}"
    return None


def asked_tools(tools: Sequence[Tool], request: str) -> list[Tool]:
    """The tools among ``tools`` (only those with known cues) that the request asks for, by
    the same rules as :func:`unasked`."""
    return [tool for tool in tools if tool.name in CUES and unasked(tool, request) is None]


def decide(
    tool: Tool, args: Mapping[str, Any], act_p: float | None, policy: ActPolicy,
    request: str = "", previous_tool: str | None = None,
) -> tuple[Verdict, str]:
    """Act, ask first or answer instead, with the reason (for logs and the bench).

    ``request`` is what the person said (empty: not checked, see :func:`unasked`) and
    ``previous_tool`` the tool the turn before called, if any.
    """
    not_asked = unasked(tool, request, args, previous_tool)
    if not_asked:  # a question about it would come out of nowhere: the agent just answers
        return Verdict.ANSWER, not_asked
    problem = implausible_argument(tool, args)
    p = 1.0 if act_p is None else act_p
    if problem:
        return (Verdict.CONFIRM, problem) if p >= policy.act_threshold else (Verdict.ANSWER,
                                                                            problem)
    if p < policy.confirm_threshold:
        return Verdict.ANSWER, f"act probability {p:.2f} < {policy.confirm_threshold:.2f}"
    if p < policy.act_threshold:
        return Verdict.CONFIRM, f"act probability {p:.2f} < {policy.act_threshold:.2f}"
    if tool.confirm:
        return Verdict.CONFIRM, f"{tool.name} is always confirmed"
    return Verdict.ACT, f"act probability {p:.2f}"


# --- asking first --------------------------------------------------------------------------

_DAYS = {"today": "hôm nay", "tomorrow": "ngày mai"}


def _with(text: str, *extras: str | None) -> str:
    return " ".join([text, *(e for e in extras if e)])


_READBACKS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "set_timer": lambda a: _with(f"hẹn giờ {duration_vi(a['duration_seconds'])}",
                                 a.get("label") and f"để {a['label']}"),
    "set_alarm": lambda a: _with(f"đặt báo thức lúc {a['time']}", a.get("label")),
    "control_device": lambda a: _with(
        f"{'bật' if a['action'] == 'on' else 'tắt'} {DEVICE_VI[a['device']]}",
        ROOM_VI.get(a.get("room") or "")),
    "set_volume": lambda a: f"chỉnh âm lượng về mức {a['level']}",
    "play_music": lambda a: f"phát {a['query']}",
    "stop": lambda a: "dừng lại",
    "get_weather": lambda a: _with("xem thời tiết", a.get("city") and f"ở {a['city']}",
                                   _DAYS.get(a.get("day") or "")),
    "call_contact": lambda a: f"gọi cho {a['name']}",
    "add_reminder": lambda a: _with(f"nhắc bạn {a['text']}", a.get("when")),
    "get_time": lambda a: "xem bây giờ là mấy giờ",
    "get_date": lambda a: "xem ngày âm lịch" if a.get("lunar") else "xem hôm nay là ngày nào",
}


def confirmation_question(tool: Tool, args: Mapping[str, Any]) -> str:
    """The short question that asks before acting: "Bạn muốn tôi tắt đèn phòng khách phải
    không?".

    A tool's own ``readback`` template (``"tắt {device}"``) comes first; the common assistant
    tools have built-in Vietnamese readbacks; any other tool gets a question that names no
    English identifier.
    """
    phrase = None
    if tool.readback:
        try:
            phrase = tool.readback.format_map({p.name: args.get(p.name) or "" for p in tool.params})
        except (KeyError, ValueError, IndexError):
            phrase = None
    elif tool.name in _READBACKS:
        try:
            phrase = _READBACKS[tool.name](args)
        except (KeyError, TypeError):  # same name, different schema
            phrase = None
    if not phrase or not phrase.strip():
        return "Bạn muốn tôi làm việc đó ngay bây giờ phải không?"
    return f"Bạn muốn tôi {' '.join(phrase.split())} phải không?"


_YES = frozenset({"ừ", "ờ", "ừm", "uh", "có", "đúng", "phải", "vâng", "dạ", "ok", "oke", "okay",
                  "được", "làm", "đồng", "ý", "chắc", "chắn", "chứ", "luôn", "yes", "ừa", "dzạ"})
_FILLERS = frozenset({"rồi", "đi", "nhé", "nha", "nhá", "ạ", "à", "em", "anh", "chị", "bạn",
                      "cứ", "thế", "vậy", "đó", "mà", "ơi", "giúp", "tôi", "mình"})
_NO = frozenset({"không", "hông", "khỏi", "thôi", "đừng", "chưa", "sai", "nhầm", "hủy", "huỷ",
                 "no", "ko"})


def confirmation_answer(text: str) -> bool | None:
    """The person's answer to "… phải không?": ``True`` yes, ``False`` no, ``None`` neither.

    Only a short reply made of yes/no words and particles counts; anything else ("ừ, mà tắt
    cả quạt nữa") is a new request, and the call asked about is dropped, never made.
    """
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower())
    if not words or len(words) > 6:
        return None
    if any(w in _NO for w in words) and all(w in _NO | _YES | _FILLERS for w in words):
        return False
    if any(w in _YES for w in words) and all(w in _YES | _FILLERS for w in words):
        return True
    return None
