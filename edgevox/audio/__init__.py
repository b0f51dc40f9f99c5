"""Audio in and out: 16 kHz mono float32 blocks from sources, played through sinks."""
