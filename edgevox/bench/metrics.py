"""The bench's shared vocabulary: its cases, the metrics they report (units and meanings), the
targets, and the parts of voice-to-voice latency. The runner produces these names, the report
reads them; neither imports the other.
"""

from __future__ import annotations

from edgevox.runtime.timeline import TurnTimeline

CASES = ("asr", "llm", "tts", "agent")
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
}

# (metric, limit): each is met when the median is at or under the limit. Set for the default
# x86 profile on 2 cores; other machines print them for reference.
TARGETS: tuple[tuple[str, float], ...] = (
    ("agent.voice_to_voice_s", 1.2),
    ("asr.rtf", 0.15),
    ("tts.first_audio_s", 0.2),
    ("agent.peak_rss_mib", 2.5 * 1024),  # 2.5 GiB
)

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
