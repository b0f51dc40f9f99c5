"""Held-out check of the understanding stage on Home Assistant's Vietnamese sentence templates.

    python bench/eval_ha_intents.py                    # 12 sentences per intent, scored
    python bench/eval_ha_intents.py --per-intent 2 -v  # quick run, list the misses
    python bench/eval_ha_intents.py --dump ha.jsonl --dry-run   # only write the sample

Why: our own command set and the prompt were written by the same people, so a high score there
can mean the prompt fits our phrasings rather than Vietnamese. The Home Assistant community's
templates (PyPI ``home-assistant-intents``, ``data/vi.json``) were written by others for other
software; ``hassil`` expands them. Passing them is evidence that the prompt generalises.

Mapping (Home Assistant intent -> tool in ``tools.json``; arguments checked):

* HassStartTimer -> set_timer (duration_seconds from the hours / minutes / seconds slot; hours
  limited to 1..24 because the tool allows at most 86400 s)
* HassGetCurrentTime -> get_time; HassGetCurrentDate -> get_date
* HassGetWeather -> get_weather (city, when the sentence names one)
* HassSetVolume -> set_volume (level)
* HassTurnOn / HassTurnOff -> control_device (action on / off, device, room when an area is
  named); opening a curtain counts as "on", as in ``commands.dev.jsonl``
* HassMediaPause -> stop
* HassNevermind ("thôi bỏ qua đi") -> stop or a spoken reply: in Home Assistant this intent does
  nothing but end the exchange, so stopping and a short acknowledgement are both right

Left out, no tool fits: timers other than starting one, climate, brightness, colour, state
questions, media next / resume, lists, vacuums, scenes, scripts, locks, valves, and covers that
are not curtains. Template blocks that need a device kind we have no tool for are skipped.

The templates' ``{name}`` and ``{area}`` slots are filled from the small tables below. Numbers
are drawn from the templates' ranges and rendered as words with ``normalize_vi``, as a speech
recogniser would give them. Sampling is deterministic (``--seed``), round-robin over each
intent's template blocks so that rare phrasings appear, and de-duplicated. Scoring reuses
``eval_commands``: a sentence passes when the tool and every expected argument are right;
intent accuracy counts the tool name only.

Data: home-assistant-intents (Home Assistant authors, https://github.com/OHF-Voice/intents),
Apache-2.0; only read at run time, never copied into this repository.
Needs the ``eval`` extra: ``pip install -e '.[eval]'``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from eval_commands import (
    TARGET_ACCURACY,
    default_model,
    eval_dir,
    exact_pass,
    report,
    run_inproc,
)

from edgevox.text.normalize import normalize_vi

try:
    import home_assistant_intents
    from hassil import IntentData, Intents, RangeSlotList, TextSlotList, TextSlotValue
    from hassil.expression import TextChunk
    from hassil.sample import sample_sentence
except ImportError:
    print("needs hassil and home-assistant-intents: pip install -e '.[eval]'", file=sys.stderr)
    sys.exit(2)

TOOL_OF = {
    "HassStartTimer": "set_timer",
    "HassGetCurrentTime": "get_time",
    "HassGetCurrentDate": "get_date",
    "HassGetWeather": "get_weather",
    "HassSetVolume": "set_volume",
    "HassTurnOn": "control_device",
    "HassTurnOff": "control_device",
    "HassMediaPause": "stop",
    "HassNevermind": "stop",
}
# {area}: spoken name -> control_device room.
AREAS = {
    "phòng khách": "living_room",
    "phòng ngủ": "bedroom",
    "nhà bếp": "kitchen",
    "phòng tắm": "bathroom",
    "phòng làm việc": "office",
}
# {name}: spoken name -> (Home Assistant domain, control_device device or None).
NAMES = {
    "đèn trần": ("light", "light"),
    "đèn ngủ": ("light", "light"),
    "quạt trần": ("fan", "fan"),
    "quạt cây": ("fan", "fan"),
    "điều hòa": ("climate", "air_conditioner"),
    "máy lạnh": ("climate", "air_conditioner"),
    "ti vi": ("media_player", "tv"),
    "loa": ("media_player", None),
    "rèm cửa": ("cover", "curtain"),
    "Hà Nội": ("weather", None),
    "Đà Nẵng": ("weather", None),
    "Huế": ("weather", None),
    "Cần Thơ": ("weather", None),
}
DOMAIN_DEVICE = {"light": "light", "fan": "fan"}  # blocks that name no device ("bật đèn")
CURTAIN_CLASSES = {"curtain", "blind", "shade"}  # vi.json cover_classes that are curtains
RANGE_LIMITS = {"timer_hours": (1, 24)}
# Without the timer noun, "đặt ba giờ" is a clock time (an alarm), not a three-hour timer.
ALSO_ACCEPTED = {"HassNevermind": (None,)}  # None: a spoken reply instead of a call
MUST_CONTAIN = {"HassStartTimer": ("hẹn giờ", "đồng hồ")}
TIMER_UNITS = {"timer_hours": 3600, "timer_minutes": 60, "timer_seconds": 1}
NUMBER = "NUMBER"  # placeholder for a range slot, replaced by a drawn number


def load_intents() -> Intents:
    data = home_assistant_intents.get_intents("vi")
    if data is None:
        sys.exit("home-assistant-intents has no vi.json")
    # "[thôi][được rồi]": Home Assistant's matcher ignores spaces, but a sample must not glue
    # two syllables together.
    for intent in data["intents"].values():
        for block in intent["data"]:
            block["sentences"] = [s.replace("][", "] [") for s in block["sentences"]]
    return Intents.from_dict(data)


def slot_values(list_name: str, intents: Intents, block: IntentData, tool: str) -> list[Any]:
    """A block's choices for one list: (TextSlotValue, value) pairs, or one (low, high) range."""
    if list_name == "area":
        return [(TextSlotValue.from_tuple(item), item[1]) for item in AREAS.items()]
    if list_name == "name":
        domains = block.requires_context.get("domain") or []
        return [
            (TextSlotValue.from_tuple((text, text)), text)
            for text, (domain, device) in NAMES.items()
            if domain in domains and (device or tool != "control_device")
        ]
    slot_list = intents.slot_lists[list_name]
    if isinstance(slot_list, RangeSlotList):
        return [RANGE_LIMITS.get(list_name, (slot_list.start, slot_list.stop))]
    if list_name == "cover_classes":
        return [(v, v.value_out) for v in slot_list.values if v.value_out in CURTAIN_CLASSES]
    raise ValueError(f"no values for {{{list_name}}}")


def templates(intents: Intents, intent: str) -> list[list[tuple[str, dict[str, Any]]]]:
    """Per template block: every expansion, with ranges left as NUMBER, and its slot values."""
    tool, blocks = TOOL_OF[intent], []
    for block in intents.intents[intent].data:
        rules = {**intents.expansion_rules, **block.expansion_rules}
        found: dict[str, dict[str, Any]] = {}
        for sentence in block.sentences:
            names = sorted(set(sentence.list_names(rules)))
            choices = [slot_values(n, intents, block, tool) for n in names]
            for combo in itertools.product(*choices):
                lists, values = {}, {"_domain": block.slots.get("domain")}
                for name, choice in zip(names, combo, strict=True):
                    if isinstance(choice[0], int):  # a range: drawn later
                        slot, values[name] = TextSlotValue(TextChunk(NUMBER), None), choice
                    else:
                        slot, values[name] = choice
                    lists[name] = TextSlotList(name=name, values=[slot])
                for out in sample_sentence(sentence, lists, rules, language="vi"):
                    text = " ".join(out.split())
                    if any(w in text for w in MUST_CONTAIN.get(intent, ("",))):
                        found.setdefault(text, values)
        if found:
            blocks.append(list(found.items()))
    return blocks


def expected_args(intent: str, values: dict[str, Any]) -> dict[str, Any]:
    """The arguments the sentence determines (others are not scored)."""
    tool = TOOL_OF[intent]
    if tool == "set_timer":
        return {
            "duration_seconds": sum(values[k] * s for k, s in TIMER_UNITS.items() if k in values)
        }
    if tool == "set_volume":
        return {"level": values["volume"]}
    if tool == "get_weather":
        return {"city": values["name"]} if "name" in values else {}
    if tool == "control_device":
        if "name" in values:
            device = NAMES[values["name"]][1]
        elif "cover_classes" in values:
            device = "curtain"
        else:
            device = DOMAIN_DEVICE[values["_domain"]]
        args = {"device": device, "action": "on" if intent == "HassTurnOn" else "off"}
        if "area" in values:
            args["room"] = values["area"]
        return args
    return {}


def build_sample(per_intent: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The sample rows and, per intent, how many distinct sentences the templates give."""
    intents = load_intents()
    rows: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    for intent in TOOL_OF:
        blocks = templates(intents, intent)
        sizes[intent] = sum(_count(values) for block in blocks for _, values in block)
        rng = random.Random(f"{seed}:{intent}")
        queues = [rng.sample(block, len(block)) for block in blocks]
        seen: set[str] = set()
        for text, values in _round_robin(queues):
            if len(seen) >= per_intent:
                break
            drawn = {k: rng.randint(*v) if isinstance(v, tuple) else v for k, v in values.items()}
            for k, v in values.items():
                if isinstance(v, tuple):
                    text = text.replace(NUMBER, str(drawn[k]), 1)
            spoken = " ".join(normalize_vi(text).split())
            if spoken in seen:
                continue
            seen.add(spoken)
            rows.append(
                {
                    "text": spoken,
                    "intent": intent,
                    "tool": TOOL_OF[intent],
                    "accept": (TOOL_OF[intent], *ALSO_ACCEPTED.get(intent, ())),
                    "args": expected_args(intent, drawn),
                }
            )
    return rows, sizes


def _count(values: dict[str, Any]) -> int:
    count = 1
    for v in values.values():
        if isinstance(v, tuple):
            count *= v[1] - v[0] + 1
    return count


def _round_robin(queues: list[list[Any]]):
    for layer in itertools.zip_longest(*queues):
        yield from (item for item in layer if item is not None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-intent", type=int, default=12, help="sentences per intent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dump", type=Path, help="write the sample (JSONL) here")
    parser.add_argument("--dry-run", action="store_true", help="build the sample, load no model")
    parser.add_argument("--tools", type=Path, default=None, help="default: <eval>/tools.json")
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: the 1.5B)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=3072)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    args = parser.parse_args()

    rows, sizes = build_sample(args.per_intent, args.seed)
    print(
        f"home-assistant-intents {home_assistant_intents_version()}: {len(rows)} sentences from "
        + ", ".join(f"{k} {sizes[k]}" for k in TOOL_OF)
    )
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.dry_run:
        return 0

    args.tools = args.tools or eval_dir() / "tools.json"
    args.model = args.model or default_model()
    tool_names = {t["name"] for t in json.loads(args.tools.read_text(encoding="utf-8"))["tools"]}
    print(f"model {args.model.name}, {args.threads} threads, in-process")
    start = time.perf_counter()
    outs = run_inproc([row["text"] for row in rows], args)
    print(f"wall time {time.perf_counter() - start:.1f} s (model load and prefix warm-up included)")

    scored = [
        {"text": r["text"], "intent": r["intent"], "accept": r["accept"]}
        if len(r["accept"]) > 1
        else {"text": r["text"], "expect": {"tool": r["tool"], "args": r["args"]}}
        for r in rows
    ]
    report("ha-intents-vi", scored, outs, tool_names, args.verbose)
    tool_ok: dict[str, list[bool]] = defaultdict(list)
    args_ok: dict[str, list[bool]] = defaultdict(list)  # only sentences with expected args
    for row, case, out in zip(rows, scored, outs, strict=True):
        tool_ok[row["intent"]].append(out.get("tool") in row["accept"])
        if row["args"]:
            args_ok[row["intent"]].append(exact_pass(case["expect"], out))
    for intent in tool_ok:
        print(f"  {intent:20} tool {_ratio(tool_ok[intent])}, args {_ratio(args_ok[intent])}")
    all_tools = [ok for marks in tool_ok.values() for ok in marks]
    all_args = [ok for marks in args_ok.values() for ok in marks]
    intent_accuracy = sum(all_tools) / len(all_tools)
    print(f"intent accuracy {intent_accuracy:.1%} ({_ratio(all_tools)}), args {_ratio(all_args)}")
    passed = intent_accuracy >= TARGET_ACCURACY
    print(f"  {'PASS' if passed else 'FAIL'} intent accuracy >= {TARGET_ACCURACY:.0%}")
    return 0 if passed else 1


def _ratio(marks: list[bool]) -> str:
    return f"{sum(marks)}/{len(marks)}" if marks else "n/a"


def home_assistant_intents_version() -> str:
    from importlib.metadata import version

    return version("home-assistant-intents")


if __name__ == "__main__":
    sys.exit(main())
