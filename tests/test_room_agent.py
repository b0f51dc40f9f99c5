"""The agent's own voice, echoing through a simulated room, never becomes a turn.

The whole agent runs on a simulated full-duplex device (:class:`~edgevox.bench.roomdevice.
RoomDevice`): its replies play into a room impulse response (pyroomacoustics), the microphone
hears that echo plus noise and a real person (a Common Voice clip) speaking over the reply or
after it; the real VAD, streaming ASR and the half-duplex floor policy decide. The joe voice
stands in for a Vietnamese one (none can be fetched here).

Full duplex in these rooms is measured by ``edgevox bench --case room`` (and its test in
test_bench.py): with the canceller the agent no longer hears itself there, but a person speaking
at or below the echo's level is suppressed during double talk, so barge-in is rarely detected.
Until that passes, a loudspeaker means half duplex by default, which this file checks.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import soxr

from edgevox.audio.source import read_wav
from edgevox.catalog import ModelStore
from edgevox.config import load_config
from edgevox.runtime.build import build_agent, build_synthesizer

room = pytest.importorskip("edgevox.bench.room", reason="the room simulator needs pyroomacoustics")

pytestmark = [pytest.mark.models, pytest.mark.slow]
MODELS = ("vietasr-streaming-ctc", "silero-vad", "smart-turn-v3.2", "qwen2.5-coder-1.5b-q4km",
          "piper-en_US-joe-medium")
ASK_TIME = "common_voice_vi_23790300.wav"  # "... Bây giờ là mấy giờ"
REPLY = ("Cửa hàng mở cửa từ tám giờ sáng đến mười giờ tối, "
         "và hôm nay có chương trình giảm giá cho mọi khách hàng thân thiết.")


@pytest.fixture(scope="module")
def setup(model_dir):
    from edgevox.bench.roomdevice import RoomDevice

    for model_id in MODELS:
        model_dir(model_id)
    config = load_config(environ={}, overrides={"tts": {"voice": "piper-en_US-joe-medium"},
                                                "log": {"enabled": False}})
    store = ModelStore()
    synthesizer = build_synthesizer(config, store)
    device = RoomDevice(synthesizer.sample_rate_hz)  # no canceller: the echo arrives whole
    agent = build_agent(config, device, store=store, synthesizer=synthesizer, echo="off")
    with agent:
        device.start(agent.feed_audio)
        yield agent, device, synthesizer


def speech_16k(synthesizer, text: str) -> np.ndarray:
    audio = np.concatenate(list(synthesizer.synthesize(text)))
    return soxr.resample(audio, synthesizer.sample_rate_hz, 16_000).astype(np.float32)


def run(setup, room_name: str, *, user=None, user_start_s: float = 0.0, ask: str | None = None,
        noise_snr_db: float = 20.0, settle_s: float = 2.0) -> list:
    """Play a reply (``say`` REPLY, or the answer to ``ask``) in the room, the person's speech
    starting ``user_start_s`` after the reply's first audio; return the events until everything
    it caused is over."""
    agent, device, synthesizer = setup
    assert agent.wait_idle(timeout_s=60)
    agent.new_session()
    calibration = speech_16k(synthesizer, REPLY)

    def stream(user_clip):
        return room.RoomStream(room.ROOMS[room_name], calibration, user=user_clip,
                               user_start_s=user_start_s, noise_snr_db=noise_snr_db, seed=7)

    subscription = agent.subscribe(maxsize=10_000)
    device.use(stream(None))
    reply = agent.ask_text(ask) if ask else agent.say(REPLY)
    events = []
    while not any(e.type == "speaking_started" for e in events):
        event = subscription.get(timeout_s=120)
        assert event is not None, "the reply never started"
        events.append(event)
    if user is not None:  # the same room, now with the person in it, on a fresh clock
        device.use(stream(user))
    assert reply.wait_for_playout(timeout_s=120)
    time.sleep(settle_s)  # the echo tail, and whatever the person said, are heard out
    assert agent.wait_idle(timeout_s=120)
    subscription.close()
    return events + list(subscription)


@pytest.mark.parametrize("room_name", sorted(room.ROOMS))
def test_half_duplex_never_hears_its_own_reply_nor_speech_over_it(setup, eval_dir, room_name):
    user, _ = read_wav(eval_dir / "asr-cv-vi-dev" / ASK_TIME)
    events = run(setup, room_name, user=user, user_start_s=0.5)
    types = [e.type for e in events]
    assert "interrupted" not in types, "half duplex: nothing interrupts the reply"
    assert types.count("turn_queued") == 1, "neither the echo nor the overlapped speech is a turn"
    assert "speech_started" not in types and "tool_call" not in types
    [finished] = [e for e in events if e.type == "speaking_finished"]
    assert finished.data["text"] == REPLY


def test_half_duplex_hears_the_person_again_after_the_echo_tail(setup, eval_dir):
    agent = setup[0]
    user, _ = read_wav(eval_dir / "asr-cv-vi-dev" / ASK_TIME)
    tail_s = agent.floor.echo_tail_s
    reply_s = len(speech_16k(setup[2], REPLY)) / 16_000
    events = run(setup, "living_room", user=user, user_start_s=reply_s + tail_s + 0.5,
                 settle_s=8.0)
    heard = [e for e in events if e.type == "turn_queued" and e.data["source"] == "speech"]
    assert len(heard) == 1 and "mấy giờ" in heard[0].data["text"]
    assert any(e.type == "tool_call" and e.data["name"] == "get_time" for e in events)
