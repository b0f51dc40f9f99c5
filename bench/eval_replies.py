"""Score what the understanding stage does with speech that is not a command, and calibrate
when it acts.

    python bench/eval_replies.py                  # every set, the configured thresholds
    python bench/eval_replies.py --calibrate      # choose the thresholds on the dev sets
    python bench/eval_replies.py --sets test      # the held-out non-command set only

Sets, in ``bench/data`` (written for edgevox, not taken from any evaluation corpus):

* ``noncommands.dev.jsonl``: questions, remarks, stories and advice that mention devices,
  places, times, songs, weather, dates and numbers but ask for no action. Calibration set.
* ``noncommands.test.jsonl``: the same kinds of speech, other sentences. Held out from the
  thresholds; its false actions were read while the cue words of
  :func:`edgevox.llm.decide.unasked` were written, so it is not a clean test of those.
* ``noncommands.fresh.jsonl`` and ``commands.fresh.jsonl``: 150 non-commands and 90 commands
  written afterwards by someone who saw neither the other sets nor the prompt. **Held out**:
  nothing was read or chosen on them; they are only reported.
* ``commands.unseen.jsonl``: commands in phrasings the prompt never saw, with the exact call
  expected. Calibration set (the thresholds must not cost real commands).
* ``noncommands.negation.jsonl`` and ``commands.negation.jsonl``: negated and cancelled
  wishes, hypotheticals and remarks (60), and requests that say "đừng", "không", "nếu được"
  yet ask for something (40). Calibration sets for the negation and hypothetical rules.
* ``noncommands.blind.jsonl``, ``commands.blind.jsonl`` and ``facts.blind.jsonl``: 150
  non-commands, 60 commands (28 of them worded with negation or "if") and 50 factual
  questions, written by someone who saw neither the other sets, the prompt nor the rules.
  **Held out** like the fresh sets.
* ``facts.dev.jsonl``: simple factual questions with accepted answers (a reply is correct when
  it contains one of them).
* ``followups.dev.jsonl``: two-turn conversations whose second turn only makes sense after the
  first ("bật đèn phòng khách" ... "tắt nó đi"), with the second turn's expected call.

Figures: the **false-action rate** (a tool *called* on a non-command; a confirming question is
not an action), the share asked about first, tool accuracy on the commands (a question instead
of the call counts as a miss), knowledge accuracy, replies in a non-Vietnamese script or in a
loop, and the median request -> validated call. The tool set is the shared reference one
(``$EDGEVOX_EVAL_DIR/tools.json``).

``--calibrate`` runs the dev sets once with every call let through and its act probability
recorded, then replays :func:`edgevox.llm.decide.decide` over a grid of thresholds: the act
threshold is the lowest that keeps the dev false-action rate at or under half the 2 % target
(headroom for unseen speech), and the confirm threshold the lowest that keeps questions asked
about non-commands at or under :data:`MAX_CONFIRM_RATE`. It prints them for
``edgevox.llm.decide.ActPolicy``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import unicodedata
from pathlib import Path
from typing import Any

from eval_commands import default_model, eval_dir, exact_pass, print_checks

from edgevox.llm.decide import UNSURE_REPLY, asks_something

DATA = Path(__file__).resolve().parent / "data"
TARGET_FALSE_ACTION = 0.02
TARGET_TOOL_ACCURACY = 0.95
TARGET_KNOWLEDGE = 0.60
TARGET_CALL_S = 0.6
MAX_CONFIRM_RATE = 0.10
KEEP_RIGHT_ANSWERS = 0.9
CALIBRATION_TOKENS = 40
_PUNCTUATION = frozenset(" .,!?;:'()%/+-")


def voice_readable(reply: str) -> bool:
    """Only Latin letters, digits and plain punctuation: judged from Unicode itself, not from
    the reply grammar this evaluation checks."""
    return all(c.isdigit() or c.isspace() or c in _PUNCTUATION
               or (c.isalpha() and unicodedata.name(c, "").startswith("LATIN"))
               for c in unicodedata.normalize("NFC", reply))


def read(name: str) -> list[dict[str, Any]]:
    path = DATA / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def run(sets: dict[str, list[dict]], tools_file: Path, model: Path, threads: int, policy,
        max_tokens: int = 100) -> dict[str, list[dict]]:
    """Each request through one Understander, as ``edgevox ask`` answers it; a follow-up's
    second turn sees the first as the agent's history holds it (the call, or the reply)."""
    from edgevox.llm.calls import format_call
    from edgevox.llm.engine import LlamaEngine
    from edgevox.llm.understand import Understander
    from edgevox.tools.registry import ToolRegistry

    tools = ToolRegistry.from_file(tools_file)
    outs: dict[str, list[dict]] = {}
    done = 0
    with LlamaEngine(model, n_threads=threads) as engine:
        understander = Understander(engine, tools, policy=policy, max_tokens=max_tokens)
        for name, rows in sets.items():
            outs[name] = []
            for row in rows:
                history: list[dict[str, str]] = []
                for text in row.get("turns", [])[:-1]:
                    earlier = understander.ask(text, history=history)
                    answer = (format_call(tools[earlier.tool], earlier.args) if earlier.tool
                              else earlier.reply or "")
                    history += [{"role": "user", "content": text},
                                {"role": "assistant", "content": answer}]
                text = row["turns"][-1] if "turns" in row else row["text"]
                result = understander.ask(text, history=history)
                outs[name].append({**result.to_dict(), "reason": result.reason,
                                   "clauses": clause_sureness(result)})
                done += 1
                if done % 25 == 0:
                    print(f"  {done} requests", file=sys.stderr, flush=True)
    return outs


def clause_sureness(result) -> list[tuple[str, float]]:
    """Each clause of a reply with how sure the model was of it (see
    :func:`edgevox.llm.understand.sureness`), to replay ``unsure_below`` without the model."""
    from edgevox.llm.understand import clause_ends, reply_body, sureness

    body = reply_body(result.raw or "") if result.tool is None else None
    if not body:
        return []
    ends = clause_ends(body)
    if not ends or ends[-1] < len(body):
        ends.append(len(body))
    return [(body[start:end], round(sureness(result.stats.chosen, start, end), 4))
            for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def hedged(text: str, out: dict[str, Any], unsure_below: float) -> dict[str, Any]:
    """The answer to ``text`` as the understanding stage would have said it with
    ``unsure_below``: cut before the first clause it was unsure of, "Tôi không chắc." when
    that is the first. Only questions are hedged."""
    if not out.get("clauses") or not asks_something(text):
        return out
    kept = []
    for clause, sure in out["clauses"]:
        if sure < unsure_below:
            break
        kept.append(clause)
    return {**out, "reply": "".join(kept).strip() or UNSURE_REPLY}


def reply_problems(outs: list[dict[str, Any]]) -> tuple[int, int]:
    """Replies with a character a Vietnamese voice cannot read, and replies that loop."""
    from edgevox.llm.understand import loop_start

    replies = [o.get("reply") or "" for o in outs if o.get("tool") is None]
    script = sum(1 for r in replies if not voice_readable(r))
    loops = sum(1 for r in replies if loop_start(r.rstrip()) is not None)
    return script, loops


def knowledge_correct(row: dict[str, Any], out: dict[str, Any]) -> bool:
    reply = unicodedata.normalize("NFC", out.get("reply") or "").lower()
    return out.get("tool") is None and any(
        unicodedata.normalize("NFC", a).lower() in reply for a in row["answers"])


def summarise(name: str, rows: list[dict], outs: list[dict], verbose: bool) -> dict[str, Any]:
    acted = [o.get("tool") is not None for o in outs]
    asked = ["confirm" in o for o in outs]
    script, loops = reply_problems(outs)
    summary: dict[str, Any] = {"set": name, "n": len(rows), "acted": sum(acted),
                               "confirmed": sum(asked), "script": script, "loops": loops}
    line = f"{name}: {len(rows)} requests"
    if name.startswith("noncommands"):
        summary["false_action_rate"] = sum(acted) / len(rows)
        line += (f", false actions {sum(acted)} ({summary['false_action_rate']:.1%}), "
                 f"asked first {sum(asked)} ({sum(asked) / len(rows):.1%})")
        misses = [(r, o) for r, o, a in zip(rows, outs, acted, strict=True) if a]
    elif name.startswith(("commands", "followups")):
        passed = [exact_pass(r["expect"], o) for r, o in zip(rows, outs, strict=True)]
        summary["accuracy"] = sum(passed) / len(rows)
        calls = [o["total_s"] for o in outs if o.get("tool") is not None]
        summary["median_call_s"] = statistics.median(calls) if calls else None
        line += (f", tool accuracy {summary['accuracy']:.1%}, asked first {sum(asked)}, "
                 f"median request->validated call "
                 f"{summary['median_call_s'] or float('nan'):.3f} s")
        misses = [(r, o) for r, o, p in zip(rows, outs, passed, strict=True) if not p]
    else:
        correct = [knowledge_correct(r, o) for r, o in zip(rows, outs, strict=True)]
        summary["knowledge_accuracy"] = sum(correct) / len(rows)
        wrong = sum(o.get("tool") is None and o.get("reply") != UNSURE_REPLY and not c
                    for o, c in zip(outs, correct, strict=True))
        line += (f", correct {sum(correct)} ({summary['knowledge_accuracy']:.1%}), wrong "
                 f"{wrong}, tools called {sum(acted)}")
        misses = [(r, o) for r, o, c in zip(rows, outs, correct, strict=True) if not c]
    unsure = sum(o.get("tool") is None and o.get("reply") == UNSURE_REPLY for o in outs)
    summary["unsure"] = unsure
    print(f"{line}, \"{UNSURE_REPLY}\" {unsure}, replies in another script {script}, "
          f"loops {loops}")
    if verbose:
        for row, out in misses:
            shown = {k: out[k] for k in ("tool", "args", "reply", "confirm", "act_p", "reason")
                     if k in out and out[k] not in (None, "")}
            print(f"  MISS {row.get('text')!r}: {json.dumps(shown, ensure_ascii=False)}")
    return summary


def calibrate(rows_by_set: dict[str, list[dict]], outs_by_set: dict[str, list[dict]],
              tools_file: Path) -> tuple[float, float]:
    """Thresholds from the dev sets' raw calls (see the module doc)."""
    from edgevox.llm.decide import ActPolicy, Verdict, decide
    from edgevox.tools.registry import ToolRegistry

    tools = ToolRegistry.from_file(tools_file)

    def verdicts(rows: list[dict], outs: list[dict], policy: ActPolicy) -> list[Verdict | None]:
        found: list[Verdict | None] = []
        for row, out in zip(rows, outs, strict=True):
            call = out.get("confirm") or (out if out.get("tool") else None)
            found.append(None if call is None else
                         decide(tools[call["tool"]], call["args"], out.get("act_p"), policy,
                                row["text"])[0])
        return found

    non, non_rows = outs_by_set["noncommands.dev"], rows_by_set["noncommands.dev"]
    grid = [i / 100 for i in range(0, 100)]
    act = next((t for t in grid
                if sum(v is Verdict.ACT for v in verdicts(non_rows, non, ActPolicy(t, t)))
                / len(non)
                <= TARGET_FALSE_ACTION / 2), 0.99)
    confirm = next((t for t in grid if t <= act and sum(
        v is Verdict.CONFIRM for v in verdicts(non_rows, non, ActPolicy(act, t))) / len(non)
        <= MAX_CONFIRM_RATE), act)
    policy = ActPolicy(act, confirm)
    for name in outs_by_set:
        found = verdicts(rows_by_set[name], outs_by_set[name], policy)
        counts = {v.value: sum(f is v for f in found) for v in Verdict}
        if name.startswith("commands"):
            rows, outs = rows_by_set[name], outs_by_set[name]
            right = sum(f is Verdict.ACT and exact_pass(r["expect"], o)
                        for r, o, f in zip(rows, outs, found, strict=True))
            right += sum(r["expect"]["tool"] is None and f is None
                         for r, f in zip(rows, found, strict=True))
            counts["accuracy"] = round(right / len(rows), 4)
        print(f"  {name} at act {act:.2f} / confirm {confirm:.2f}: {counts}")
    return act, confirm


def calibrate_unsure(rows: list[dict], outs: list[dict], others: list[dict],
                     other_outs: list[dict]) -> float:
    """``unsure_below``: the highest value (walking up from 0) at which the replies to the
    factual dev questions keep at least :data:`KEEP_RIGHT_ANSWERS` of their right answers;
    the wrong ones it silences, and what it does to the dev non-commands' questions, are
    printed."""
    def replay(unsure_below: float) -> tuple[int, int, int]:
        said = [hedged(r["text"], o, unsure_below) for r, o in zip(rows, outs, strict=True)]
        right = sum(knowledge_correct(r, o) for r, o in zip(rows, said, strict=True))
        unsure = sum(o.get("reply") == UNSURE_REPLY for o in said)
        return right, len(rows) - right - unsure, unsure

    right_at_0 = replay(0.0)[0]
    chosen = 0.0
    for step in range(1, 20):
        if replay(step / 20)[0] < KEEP_RIGHT_ANSWERS * right_at_0:
            break
        chosen = step / 20
    right, wrong, unsure = replay(chosen)
    questions = [(r, o) for r, o in zip(others, other_outs, strict=True)
                 if o.get("tool") is None and asks_something(r["text"])]
    silenced = sum(hedged(r["text"], o, chosen).get("reply") == UNSURE_REPLY
                   for r, o in questions)
    print(f"  facts.dev at unsure_below {chosen:.2f}: right {right} (from {right_at_0}), wrong "
          f"{wrong} (from {replay(0.0)[1]}), \"{UNSURE_REPLY}\" {unsure}; the dev "
          f"non-commands' questions answered \"{UNSURE_REPLY}\": {silenced} of {len(questions)}")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", type=Path, default=None, help="default: <eval>/tools.json")
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: the 1.5B)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sets", default="dev,test,fresh,blind,unseen,freshcmd,blindcmd,negdev,"
                                          "negcmd,facts,blindfacts,followups",
                        help="any of dev (non-commands), test, fresh and blind (held out), "
                             "unseen, freshcmd and blindcmd (held out), negdev and negcmd "
                             "(negation), facts, blindfacts (held out), followups")
    parser.add_argument("--calibrate", action="store_true",
                        help="choose the act and confirm thresholds on the dev sets")
    parser.add_argument("--out", type=Path, help="write every answer (JSONL) here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list what went wrong")
    args = parser.parse_args()
    tools_file = args.tools or eval_dir() / "tools.json"
    if not tools_file.is_file():
        sys.exit(f"no tool set at {tools_file}: set EDGEVOX_EVAL_DIR or pass --tools")
    model = args.model or default_model()
    from edgevox.llm.decide import ActPolicy

    files = {"dev": "noncommands.dev.jsonl", "test": "noncommands.test.jsonl",
             "fresh": "noncommands.fresh.jsonl", "unseen": "commands.unseen.jsonl",
             "freshcmd": "commands.fresh.jsonl", "facts": "facts.dev.jsonl",
             "followups": "followups.dev.jsonl", "negdev": "noncommands.negation.jsonl",
             "negcmd": "commands.negation.jsonl", "blind": "noncommands.blind.jsonl",
             "blindcmd": "commands.blind.jsonl", "blindfacts": "facts.blind.jsonl"}
    wanted = ["dev", "unseen", "facts"] if args.calibrate else args.sets.split(",")
    sets = {files[k].removesuffix(".jsonl"): read(files[k]) for k in wanted}
    texts = [row.get("text") or " / ".join(row["turns"]) for rows in sets.values()
             for row in rows]
    policy = ActPolicy(0.0, 0.0) if args.calibrate else ActPolicy()
    print(f"model {model.name}, {args.threads} threads, {len(texts)} requests, act threshold "
          f"{policy.act_threshold:.2f}, confirm threshold {policy.confirm_threshold:.2f}")
    # calibration reads only the calls: replies are cut short there, which saves most of the time
    outs_by_set = run(sets, tools_file, model, args.threads, policy,
                      max_tokens=CALIBRATION_TOKENS if args.calibrate else 100)
    outs = [out for name in sets for out in outs_by_set[name]]
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for text, out in zip(texts, outs, strict=True):
                f.write(json.dumps({"text": text, **out}, ensure_ascii=False) + "\n")
    if args.calibrate:
        act, confirm = calibrate(sets, outs_by_set, tools_file)
        unsure = calibrate_unsure(sets["facts.dev"], outs_by_set["facts.dev"],
                                  sets["noncommands.dev"], outs_by_set["noncommands.dev"])
        print(f"calibrated on the dev sets: ActPolicy(act_threshold={act:.2f}, "
              f"confirm_threshold={confirm:.2f}, unsure_below={unsure:.2f})")
        return 0
    summaries = [summarise(name, rows, outs_by_set[name], args.verbose)
                 for name, rows in sets.items()]
    ok = True
    for s in summaries:
        checks = [(f"{s['set']}: no reply in another script or in a loop",
                   s["script"] == 0 and s["loops"] == 0)]
        if "false_action_rate" in s:
            checks.append((f"{s['set']}: false-action rate <= {TARGET_FALSE_ACTION:.0%}",
                           s["false_action_rate"] <= TARGET_FALSE_ACTION))
        if "accuracy" in s:
            checks.append((f"{s['set']}: tool accuracy >= {TARGET_TOOL_ACCURACY:.0%}",
                           s["accuracy"] >= TARGET_TOOL_ACCURACY))
            checks.append((f"{s['set']}: median call <= {TARGET_CALL_S} s",
                           s["median_call_s"] is not None
                           and s["median_call_s"] <= TARGET_CALL_S))
        if "knowledge_accuracy" in s:
            checks.append((f"{s['set']}: knowledge correct >= {TARGET_KNOWLEDGE:.0%}",
                           s["knowledge_accuracy"] >= TARGET_KNOWLEDGE))
        ok &= print_checks(checks)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
