"""The agent's own voice, echoing through a simulated room, never becomes a turn.

The whole agent runs on a simulated full-duplex device (:class:`~edgevox.bench.roomdevice.
RoomDevice`): its replies play into a room impulse response (pyroomacoustics), the microphone
hears that echo plus noise and a real person (a Common Voice clip) speaking over the reply or
after it; the real VAD, streaming ASR and the half-duplex floor policy decide. The joe voice
stands in for a Vietnamese one (none can be fetched here).

Full duplex is checked here too, on the real WebRTC canceller: a reply in the small office does
not interrupt itself, and a person half a metre from the device who speaks over it pauses it,
takes the floor and is answered, while the reply's turn keeps only what played. The figures
over many rooms, talkers and noises come from ``edgevox bench --case room`` (and its test in
test_bench.py); a loudspeaker still means half duplex by default, which the first tests check.
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


def agent_in_room(model_dir, *, cancel_echo: bool):
    """The whole agent on a simulated duplex device: with the real WebRTC canceller and full
    duplex, or without one (the echo arrives whole) and half duplex."""
    from edgevox.audio.echo import load_echo_canceller
    from edgevox.bench.roomdevice import RoomDevice

    for model_id in MODELS:
        model_dir(model_id)
    config = load_config(environ={}, overrides={"tts": {"voice": "piper-en_US-joe-medium"},
                                                "log": {"enabled": False}})
    store = ModelStore()
    synthesizer = build_synthesizer(config, store)
    device = RoomDevice(synthesizer.sample_rate_hz,
                        canceller=load_echo_canceller() if cancel_echo else None)
    agent = build_agent(config, device, store=store, synthesizer=synthesizer,
                        echo="on" if cancel_echo else "off")
    with agent:
        device.start(agent.feed_audio)
        yield agent, device, synthesizer


@pytest.fixture(scope="module")
def setup(model_dir):
    yield from agent_in_room(model_dir, cancel_echo=False)


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


# --------------------------------------------------------------------------------------------
# full duplex: the real WebRTC canceller between the room and the listener


@pytest.fixture(scope="module")
def duplex(model_dir):
    yield from agent_in_room(model_dir, cancel_echo=True)


def say_in_room(setup, user=None, *, user_dbfs: float = room.DEFAULT_USER_DBFS,
                user_start_s: float = 1.0, settle_s: float = 2.0) -> list:
    """``say`` REPLY in the small office, the person (if any) starting ``user_start_s`` after
    the loudspeaker's first sample; the events until all it caused is over."""
    agent, device, synthesizer = setup
    assert agent.wait_idle(timeout_s=60)
    stream = room.RoomStream(room.ROOMS["small_office"], speech_16k(synthesizer, REPLY),
                             user=user, user_start_s=user_start_s, user_dbfs=user_dbfs,
                             noise_snr_db=20.0, seed=11, user_after_playback=True)
    subscription = agent.subscribe(maxsize=10_000)
    device.use(stream)
    reply = agent.say(REPLY)
    assert reply.done.wait(timeout=120)
    time.sleep(settle_s)
    assert agent.wait_idle(timeout_s=120)
    subscription.close()
    return list(subscription)


def test_full_duplex_reply_never_interrupts_itself_and_a_person_near_the_device_does(duplex,
                                                                                     eval_dir):
    say_in_room(duplex)  # the canceller learns the room, as a device on a shelf long has
    events = say_in_room(duplex)
    types = [e.type for e in events]
    assert "interrupted" not in types and "turn_queued" not in types[1:], types
    [finished] = [e for e in events if e.type == "speaking_finished"]
    assert finished.data["text"] == REPLY

    user, _ = read_wav(eval_dir / "asr-cv-vi-dev" / ASK_TIME)
    events = say_in_room(duplex, user, user_dbfs=-25.0, settle_s=8.0)  # half a metre away
    [cut] = [e for e in events if e.type == "interrupted"]
    assert cut.data["reason"] == "barge_in"
    paused = [e for e in events if e.type == "paused"]
    assert paused and paused[0].t <= cut.t
    finished = next(e for e in events if e.type == "speaking_finished"
                    and e.turn_id == cut.turn_id)
    heard = finished.data["text"]
    assert heard and REPLY.startswith(heard) and heard != REPLY, "only what played is heard"
    asked = [e for e in events if e.type == "turn_queued" and e.data["source"] == "speech"]
    assert asked and "giờ" in asked[0].data["text"], [e.data for e in asked]


def test_full_duplex_a_person_across_the_room_takes_the_floor_too(duplex, eval_dir):
    """At the bench's -35 dBFS (a talker metres away, quieter than the echo): the automatic
    gain lets the recogniser hear them, and their speech outlasting the pause takes the floor."""
    say_in_room(duplex)  # the canceller has learnt the room
    user, _ = read_wav(eval_dir / "asr-cv-vi-dev" / ASK_TIME)
    events = say_in_room(duplex, user, settle_s=8.0)
    cut = [e for e in events if e.type == "interrupted" and e.data["reason"] == "barge_in"]
    assert cut, [(e.type, e.data) for e in events if e.type != "audio_chunk"]
    asked = [e for e in events if e.type == "turn_queued" and e.data["source"] == "speech"]
    assert asked and "giờ" in asked[0].data["text"], [e.data for e in asked]


def test_full_duplex_a_short_sound_over_the_reply_lets_it_play_on(duplex, eval_dir):
    """A quarter of a second of voice (the bench's backchannel stand-in: too short for a word
    of its own) pauses the reply at most, which then plays to its end; no turn comes of it."""
    say_in_room(duplex)
    user, _ = read_wav(eval_dir / "asr-cv-vi-dev" / ASK_TIME)
    events = say_in_room(duplex, room.voiced_segment(user, 0.25))
    assert not [e for e in events if e.type == "interrupted"]
    assert not [e for e in events if e.type == "turn_queued" and e.data["source"] == "speech"]
    [finished] = [e for e in events if e.type == "speaking_finished"]
    assert finished.data["text"] == REPLY
