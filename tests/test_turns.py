"""The turn handle's state machine and the timeline that reads a turn's events (no models)."""

from __future__ import annotations

import threading

import pytest

from edgevox.console import summary_lines, turn_summary
from edgevox.events import (
    EndOfTurn,
    Event,
    FinalTranscript,
    LlmFirstToken,
    SpeakingFinished,
    SpeakingStarted,
    TurnQueued,
)
from edgevox.runtime.timeline import TurnTimeline
from edgevox.runtime.turns import Turn, TurnIds, TurnState


def test_a_turn_moves_queued_thinking_acted_speaking_done_and_ends_once():
    turn = Turn(1, "bật đèn")
    assert turn.state is TurnState.QUEUED
    assert turn.start_thinking() and turn.state is TurnState.THINKING
    assert turn.act() and turn.state is TurnState.ACTED
    assert not turn.withdraw(), "an action that ran is never taken back"
    assert turn.start_speaking() and turn.state is TurnState.SPEAKING
    assert turn.finish() and turn.state is TurnState.DONE
    assert not turn.finish() and not turn.interrupt()
    assert turn.wait_for_playout(0) and turn.done.is_set() and not turn.cancel.is_set()


def test_cancel_withdraw_and_uninterruptible_turns():
    waiting = Turn(2, "tắt")
    assert waiting.interrupt() and waiting.cancel.is_set() and waiting.first_audio.is_set()
    assert not waiting.start_thinking(), "a turn cancelled while it waited is not answered"
    assert waiting.finish() and waiting.state is TurnState.CANCELLED

    resumed = Turn(3, "nuôi con theo phong cách")
    assert resumed.start_thinking() and resumed.withdraw()
    assert resumed.resumed and resumed.state is TurnState.WITHDRAWN and not resumed.act()

    speaking = Turn(4, "kể chuyện")
    assert speaking.start_thinking() and speaking.start_speaking()
    assert not speaking.withdraw(), "once heard, new speech is a barge-in, not a resumption"

    notice = Turn(5, "", source="say", say_text="Tôi là trợ lý AI.", interruptible=False)
    assert not notice.interrupt(barge_in=True) and not notice.cancel.is_set()
    assert notice.interrupt(), "an explicit stop or shutdown still ends it"


def test_finish_from_many_threads_happens_once():
    turn = Turn(6, "xin chào")
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda: wins.append(turn.finish())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def test_turn_ids_never_repeat_across_threads():
    ids = TurnIds()
    drawn: list[int] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [ids.next() for _ in range(10_000)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(drawn) == list(range(1, 80_001))


def spoken_turn(audio: bool) -> list[Event]:
    return [
        EndOfTurn(300, "smart_turn", 0.9).event(9, t=20.0),
        FinalTranscript("bây giờ là mấy giờ", audio_s=1.5, decode_s=0.1,
                        finalize_s=0.04).event(9, t=20.05),
        TurnQueued("speech", "bây giờ là mấy giờ").event(9, t=20.06),
        LlmFirstToken(ttft_s=0.2).event(9, t=20.45),
        SpeakingStarted("Bây giờ là chín giờ.", audio=audio, latency_s=0.9,
                        tts_first_audio_s=0.1 if audio else None).event(9, t=20.6),
        SpeakingFinished("Bây giờ là chín giờ.").event(9, t=22.0),
    ]


def test_timeline_parts_add_up_to_voice_to_voice():
    timeline = TurnTimeline(reversed(spoken_turn(audio=True)))  # any order
    breakdown = timeline.breakdown()
    assert breakdown is not None
    assert [breakdown[name] for name in TurnTimeline.BREAKDOWN] == pytest.approx(
        [0.3, 0.04, 0.40, 0.05, 0.1])
    assert sum(breakdown[n] for n in TurnTimeline.BREAKDOWN) == pytest.approx(0.9, abs=0.011)
    assert timeline.voice_to_voice_s == pytest.approx(0.9) == timeline.response_s()
    assert timeline.llm_ttft_s == 0.2 and timeline.answered and not timeline.interrupted


def test_a_text_only_reply_reports_no_audio_figure():
    timeline = TurnTimeline(spoken_turn(audio=False))
    assert timeline.voice_to_voice_s is None and timeline.tts_first_audio_s is None
    assert timeline.breakdown() is None
    assert timeline.response_s() == pytest.approx(0.9)
    lines = "\n".join(summary_lines(turn_summary(timeline)))
    assert "to first reply text" in lines and "audio" not in lines.replace("no audio", "")


def test_a_typed_request_is_timed_from_its_acceptance():
    timeline = TurnTimeline([
        TurnQueued("text", "hẹn giờ năm phút").event(4, t=5.0),
        LlmFirstToken(ttft_s=0.3).event(4, t=5.4),
        SpeakingStarted("Đã hẹn giờ 5 phút.", latency_s=0.7, tts_first_audio_s=0.1
                        ).event(4, t=5.7),
        SpeakingFinished("Đã hẹn giờ 5 phút.").event(4, t=7.0)])
    assert timeline.transcript == "hẹn giờ năm phút"
    assert timeline.response_s() == pytest.approx(0.7)
    assert timeline.llm_first_output_s == pytest.approx(0.4)
    assert timeline.voice_to_voice_s is None, "no voice came in"
    assert timeline.eot_delay_s is None
    summary = turn_summary(timeline)
    assert "from the request to first reply audio" in "\n".join(summary_lines(summary))


def test_events_of_two_turns_do_not_mix():
    with pytest.raises(ValueError, match="several turns"):
        TurnTimeline([Event("listening", 1), Event("listening", 2)])
