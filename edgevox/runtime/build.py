"""Wiring: configuration + model store -> ready stage objects.

The only place that knows both the config schema and the backends' constructors, so backends
stay free of config objects and the CLI, daemon and benchmark build stages the same way. Models
are looked up with :meth:`ModelStore.path`, which never downloads: a missing model is a
ModelError naming the `edgevox models pull` to run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from edgevox.catalog import ModelStore
from edgevox.config import Config
from edgevox.errors import ConfigError, LicenceError, ModelError

log = logging.getLogger(__name__)

# Catalogue `format` of an ASR model -> how sherpa-onnx runs it.
ASR_KINDS = {
    "sherpa-wenet-ctc": "wenet_ctc",
    "sherpa-online-transducer": "online_transducer",
    "sherpa-offline-transducer": "offline_transducer",
}


def _entry(config: Config, store: ModelStore, model_id: str, task: str):
    """The catalogue entry a stage loads, checked for its task and, under ``commercial``, for
    its licence: the licence gate sits here so no stage can load a model around it."""
    entry = store.catalog.get(model_id)
    if entry.task != task:
        raise ConfigError(f"model '{model_id}' is a {entry.task} model, not {task}")
    if config.commercial:
        from edgevox.licensing import commercial_problems

        problems = commercial_problems([entry], store.catalog)
        if problems:
            raise LicenceError(f"commercial mode refuses to load {problems[0]}")
    return entry


def build_recognizer(config: Config, store: ModelStore):
    from edgevox.asr.sherpa import load_recognizer

    entry = _entry(config, store, config.asr.model, "asr")
    if entry.format not in ASR_KINDS:
        raise ConfigError(f"ASR model '{entry.id}' has format '{entry.format}', which edgevox "
                          f"cannot run; use one of: {', '.join(ASR_KINDS)}")
    return load_recognizer(ASR_KINDS[entry.format], store.path(entry.id),
                           num_threads=config.asr.num_threads)


def build_vad(config: Config, store: ModelStore):
    from edgevox.vad import load_vad

    vad = config.vad
    model_dir = store.path(_entry(config, store, vad.model, "vad").id) if vad.backend == "silero" \
        else None
    return load_vad(vad.backend, model_path=model_dir / "silero_vad.onnx" if model_dir else None,
                    aggressiveness=vad.webrtc_aggressiveness, frame_ms=vad.frame_ms,
                    threshold=vad.silero_threshold)


def build_end_of_turn(config: Config, store: ModelStore):
    from edgevox.turn import EndOfTurnDetector
    from edgevox.turn.smart_turn import SmartTurn

    turn = config.turn
    smart_turn = None
    if turn.smart_turn != "off":
        entry = _entry(config, store, turn.model, "turn")
        try:
            model_dir = store.path(entry.id)
        except ModelError:
            if turn.smart_turn == "on":
                raise
            log.info("Smart Turn model not installed: ending turns after %d ms of silence",
                     turn.hangover_ms)
        else:
            smart_turn = SmartTurn(model_dir / entry.files[0].name)
    return EndOfTurnDetector(smart_turn, hangover_ms=turn.hangover_ms,
                             min_silence_ms=turn.min_silence_ms,
                             max_silence_ms=turn.max_silence_ms, threshold=turn.threshold)


def build_listener(config: Config, store: ModelStore | None = None):
    from edgevox.runtime.listener import Listener

    store = store or ModelStore()
    return Listener(build_recognizer(config, store), build_vad(config, store),
                    build_end_of_turn(config, store), chunk_ms=config.asr.chunk_ms,
                    min_speech_ms=config.vad.min_speech_ms,
                    speech_pad_ms=config.vad.speech_pad_ms, auto_gain=config.audio.auto_gain)


def build_synthesizer(config: Config, store: ModelStore | None = None, voice: str | None = None):
    """The configured Piper voice, or ``voice`` (a catalogue id or a path to a .onnx voice)."""
    from edgevox.tts.piper import PiperSynthesizer

    voice = voice or config.tts.voice
    threads, length_scale = config.tts.num_threads, config.tts.length_scale
    if voice.endswith(".onnx"):
        return PiperSynthesizer(Path(voice), num_threads=threads, length_scale=length_scale)
    store = store or ModelStore()
    entry = _entry(config, store, voice, "tts")
    model_dir = store.path(entry.id)
    onnx = next(f.name for f in entry.files if f.name.endswith(".onnx"))
    return PiperSynthesizer(model_dir / onnx, model_dir / f"{onnx}.json", num_threads=threads,
                            length_scale=length_scale)


def build_voice_or_none(config: Config, store: ModelStore | None = None):
    """The configured voice, or None when it is not installed: the agent then replies in text
    only, with a warning naming the pull command, rather than in another language's voice."""
    try:
        voice = build_synthesizer(config, store)
    except ModelError as exc:
        log.warning("speech output off, replies are text only: %s", exc)
        return None
    if voice.language != "vi":
        log.warning("voice %s speaks '%s', not Vietnamese: replies will not sound right",
                    config.tts.voice, voice.language)
    return voice


def llm_model_path(config: Config, store: ModelStore) -> Path:
    entry = _entry(config, store, config.llm.model, "llm")
    gguf: str = next(f.name for f in entry.files if f.name.endswith(".gguf"))
    return store.path(entry.id) / gguf


def build_understander(config: Config, store: ModelStore, tools):
    """The LLM with ``tools``; its fixed prompt prefix is evaluated now, not on first request."""
    from edgevox.llm import LlamaEngine, Understander
    from edgevox.llm.decide import ActPolicy

    engine = LlamaEngine(llm_model_path(config, store), n_threads=config.llm.n_threads,
                         n_ctx=config.llm.n_ctx)
    return Understander(engine, tools, max_tokens=config.llm.max_reply_tokens,
                        policy=ActPolicy(config.llm.act_threshold,
                                         config.llm.confirm_threshold,
                                         config.llm.unsure_below))


EchoMode = Literal["on", "off", "external"]


def echo_mode(config: Config, *, loudspeaker: bool, canceller: bool = False) -> EchoMode:
    """How an agent keeps its own voice out of what it hears (``audio.echo_cancellation``).

    ``loudspeaker``: edgevox itself plays the replies through a speaker near the microphone
    that feeds this agent (``edgevox run``); ``canceller``: its echo canceller is running on
    that audio. ``auto`` is ``off`` there, half duplex: full duplex does not yet pass the room
    bench (81 % of the barge-ins caught against 95 %; docs/loudspeakers.md), so ``on`` is an
    explicit choice until it does. Elsewhere ``auto`` is ``external``: a file has no echo,
    and a daemon client or embedding app plays the replies and cancels their echo itself
    (browsers do with ``echoCancellation``).
    """
    setting = config.audio.echo_cancellation
    if setting == "auto":
        return "off" if loudspeaker else "external"
    if setting == "on" and not canceller:
        raise ConfigError(
            'audio.echo_cancellation = "on" needs edgevox to play the replies itself with its '
            "echo canceller running (edgevox run); where an app or client plays them, it "
            'cancels the echo: use "external", or "off" for half duplex')
    return setting


def build_agent(config: Config, sink, *, tools=None, store: ModelStore | None = None,
                synthesizer=None, echo: EchoMode = "external"):
    """A ready (not yet started) :class:`~edgevox.runtime.agent.Agent` on ``sink``.

    ``tools`` defaults to the built-in everyday tools (:mod:`edgevox.tools.home`). Without a
    ``synthesizer`` the agent answers in text only (``sink`` then takes text, see
    :class:`~edgevox.audio.sink.TranscriptSink`). ``echo`` (see :func:`echo_mode`) decides
    whether the agent listens while it talks.
    """
    from edgevox.runtime.agent import Agent, History
    from edgevox.runtime.floor import Floor
    from edgevox.tools.home import home_tools

    store = store or ModelStore()
    tools = tools if tools is not None else home_tools()
    listener = build_listener(config, store)
    understander = build_understander(config, store, tools)
    history = History(config.llm.history_tokens,
                      lambda text: len(understander.engine.tokenize(text)))
    floor = Floor(sink, half_duplex=echo == "off", echo_tail_ms=config.audio.echo_tail_ms,
                  barge_in=config.barge_in.enabled and echo != "off",
                  min_speech_ms=config.barge_in.min_speech_ms,
                  pause_after_ms=config.barge_in.pause_after_ms,
                  resume_after_ms=config.barge_in.resume_after_ms,
                  min_level_dbfs=config.barge_in.min_level_dbfs,
                  above_noise_db=config.barge_in.above_noise_db,
                  backchannels=config.barge_in.backchannels)
    return Agent(listener=listener, understander=understander, synthesizer=synthesizer,
                 sink=sink, tools=tools, history=history, floor=floor,
                 tool_timeout_s=config.llm.tool_timeout_s,
                 max_clause_chars=config.tts.max_clause_chars,
                 first_clause_chars=config.tts.first_clause_chars)
