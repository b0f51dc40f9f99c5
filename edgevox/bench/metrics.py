"""The bench's shared vocabulary: its cases, the metrics they report (units and meanings), the
targets, and the parts of voice-to-voice latency. The runner produces these names, the report
reads them; neither imports the other.
"""

from __future__ import annotations

from edgevox.runtime.timeline import TurnTimeline

CASES = ("asr", "llm", "tts", "agent", "room")
"""Each runs in its own process (see :mod:`edgevox.bench.runner`)."""

# name -> (unit, what it measures); the report lists metrics in this order.
METRICS: dict[str, tuple[str, str]] = {
    "agent.voice_to_voice_s": ("s", "end of user speech -> first reply audio sample"),
    "agent.eot_delay_s": ("s", "end of speech -> end-of-turn decision (silence waited)"),
    "agent.asr_finalize_s": ("s", "end-of-turn decision -> final transcript"),
    "agent.llm_first_output_s": ("s", "final transcript -> first LLM output the agent acts on: "
                                      "first reply words, or the whole tool call"),
    "agent.first_clause_s": ("s", "first LLM output -> first clause handed to TTS (for a tool "
                                  "call: running the tool)"),
    "agent.tts_first_audio_s": ("s", "first clause -> its audio ready to play"),
    "agent.llm_ttft_s": ("s", "the LLM engine's own request -> first generated token"),
    "agent.cold_start_s": ("s", "process start -> ready to listen (models loaded, LLM prefix "
                                "warmed)"),
    "agent.peak_rss_mib": ("MiB", "peak RSS of the whole agent process"),
    "asr.rtf": ("x", "processing / audio time per clip (VAD + streaming ASR + end of turn)"),
    "asr.load_s": ("s", "VAD, ASR and end-of-turn models loaded"),
    "asr.peak_rss_mib": ("MiB", "peak RSS of a process running only the listener"),
    "llm.ready_s": ("s", "model loaded and tool prompt prefix evaluated"),
    "llm.request_ttft_s": ("s", "request -> first output token (prefix cached)"),
    "llm.request_total_s": ("s", "request -> validated tool call or complete reply"),
    "llm.prompt_tokens_per_s": ("tok/s", "prefill speed on a fixed Vietnamese text"),
    "llm.gen_tokens_per_s": ("tok/s", "greedy generation speed, one token per step"),
    "llm.peak_rss_mib": ("MiB", "peak RSS of a process running only the LLM"),
    "tts.first_audio_s": ("s", "first complete clause -> its audio ready to play"),
    "tts.rtf": ("x", "synthesis / audio time per paragraph"),
    "tts.load_s": ("s", "voice loaded"),
    "tts.peak_rss_mib": ("MiB", "peak RSS of a process running only the TTS"),
    "room.false_barge_in_rate": ("", "echo canceller on: replies interrupted with nobody "
                                     "speaking, share of the echo-only replies"),
    "room.barge_in_detect_rate": ("", "echo canceller on: replies a person spoke over that "
                                      "stopped for them"),
    "room.barge_in_delay_s": ("s", "echo canceller on: the person's speech onset at the mic -> "
                                   "the loudspeaker's last sample"),
    "room.double_talk_wer": ("", "echo canceller on: WER of the person's words spoken over a "
                                 "reply (compare room.clean_wer)"),
    "room.clean_wer": ("", "WER of the same recordings in the same rooms, talker positions and "
                           "noise, with no reply playing"),
    "room.dry_wer": ("", "WER of the same recordings as recorded (no room)"),
    "room.double_talk_wer_gap": ("", "echo canceller on: room.double_talk_wer - room.clean_wer, "
                                     "what speaking over the reply costs"),
    "room.false_pause_rate": ("", "echo canceller on: echo-only replies paused for speech that "
                                  "was not there (each resumed; no interruption)"),
    "room.backchannel_pause_s": ("s", "echo canceller on: how long a backchannel paused the "
                                      "reply before it went on"),
    "room.backchannel_pass_rate": ("", "echo canceller on: short speech over a reply that "
                                       "neither interrupted it nor became a turn"),
    "room.echo_turns": ("", "echo canceller on: turns formed from the agent's own voice"),
    "room.echo_tool_calls": ("", "echo canceller on: tool calls among those turns"),
    "room.erle_db": ("dB", "echo return loss enhancement over far-end-only audio, per reply"),
    "room.aec_rtf": ("x", "the echo canceller's processing / audio time"),
    "room.no_aec.false_barge_in_rate": ("", "half duplex (no canceller): as above"),
    "room.no_aec.barge_in_detect_rate": ("", "half duplex: as above (it cannot hear a person "
                                             "over the agent)"),
    "room.no_aec.barge_in_delay_s": ("s", "half duplex: as above"),
    "room.no_aec.double_talk_wer": ("", "half duplex: as above (the words after the reply "
                                        "ended and its echo tail)"),
    "room.no_aec.double_talk_wer_gap": ("", "half duplex: as above"),
    "room.no_aec.backchannel_pass_rate": ("", "half duplex: as above"),
    "room.no_aec.echo_turns": ("", "half duplex: turns formed from the agent's own voice"),
    "room.no_aec.echo_tool_calls": ("", "half duplex: tool calls among those turns"),
}

# (metric, limit): each is met when the median is at or under the limit, or for those in
# AT_LEAST at or over it. Set for the default x86 profile on 2 cores; other machines print them
# for reference.
TARGETS: tuple[tuple[str, float], ...] = (
    ("agent.voice_to_voice_s", 1.2),
    ("asr.rtf", 0.15),
    ("tts.first_audio_s", 0.2),
    ("agent.peak_rss_mib", 2.5 * 1024),  # 2.5 GiB
    ("room.echo_turns", 0.0),
    ("room.echo_tool_calls", 0.0),
    ("room.no_aec.echo_turns", 0.0),
    ("room.no_aec.echo_tool_calls", 0.0),
    ("room.false_barge_in_rate", 0.01),
    ("room.erle_db", 25.0),
    ("room.barge_in_detect_rate", 0.95),
    ("room.barge_in_delay_s", 0.3),
    ("room.double_talk_wer_gap", 0.05),
    ("room.backchannel_pass_rate", 0.9),
)
AT_LEAST = frozenset({"room.erle_db", "room.barge_in_detect_rate", "room.backchannel_pass_rate"})

BREAKDOWN = TurnTimeline.BREAKDOWN
"""The consecutive parts of voice-to-voice latency, in the order they happen (the timeline's)."""

# Each part's metric, label and chart colour (Okabe-Ito palette).
BREAKDOWN_PARTS: tuple[tuple[str, str, tuple[int, int, int]], ...] = tuple(
    (f"agent.{part}", label, colour) for part, (label, colour) in zip(BREAKDOWN, (
        ("end of turn (silence waited)", (230, 159, 0)),
        ("ASR finalisation", (86, 180, 233)),
        ("LLM prefill to first output", (0, 158, 115)),
        ("first clause (or tool run)", (240, 228, 66)),
        ("TTS first audio", (0, 114, 178)),
    ), strict=True))
