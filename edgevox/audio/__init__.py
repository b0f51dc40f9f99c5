"""Audio in and out: 16 kHz mono float32 blocks from sources, played through sinks."""

SAMPLE_RATE_HZ = 16_000
"""The pipeline's one sample rate: sources resample to it; VAD, ASR and end of turn expect it."""
