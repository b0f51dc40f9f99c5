"""`edgevox doctor`: everything needed to understand a bug report from a device in one page.

Also the source of the hardware fingerprint that benchmark reports embed, so both describe a
machine the same way.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

from edgevox.config import Config

DEPENDENCIES = ("numpy", "pydantic", "sherpa-onnx", "onnxruntime", "onnx", "protobuf", "piper-tts",
                "llama-cpp-python", "webrtcvad-wheels", "sounddevice", "soxr", "aiohttp",
                "tqdm", "blake3", "psutil", "livekit")


def dependency_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Model"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _board() -> str:
    """The board name Raspberry Pi and Jetson kernels publish in the device tree."""
    try:
        return Path("/proc/device-tree/model").read_bytes().rstrip(b"\0").decode(errors="replace")
    except OSError:
        return ""


def hardware() -> dict[str, object]:
    import psutil

    return {
        "cpu": _cpu_model(),
        "board": _board() or "n/a",
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(terse=True),
        "kernel": platform.release(),
    }


def audio_devices() -> list[str]:
    """Input and output devices, or a one-line reason why none can be listed."""
    try:
        import sounddevice

        devices = sounddevice.query_devices()
    except OSError as exc:  # PortAudio missing
        return [f"none (PortAudio unavailable: {exc}; apt-get install libportaudio2)"]
    except Exception as exc:
        return [f"none ({exc})"]
    lines = []
    for index, dev in enumerate(devices):
        kinds = [k for k, n in (("in", dev["max_input_channels"]),
                                ("out", dev["max_output_channels"])) if n]
        lines.append(f"[{index}] {dev['name']} ({'/'.join(kinds)}, "
                     f"{int(dev['default_samplerate'])} Hz)")
    return lines or ["none"]


def report(config: Config) -> str:
    from edgevox.catalog import ModelStore

    out = ["edgevox doctor", "", "versions:"]
    out += [f"  {k}: {v}" for k, v in dependency_versions().items()]
    out += ["", "hardware:"] + [f"  {k}: {v}" for k, v in hardware().items()]
    out += ["", f"profile: {config.profile}",
            f"  threads: asr {config.asr.num_threads}, llm {config.llm.n_threads}, "
            f"tts {config.tts.num_threads}"]
    out += ["", "audio devices:"] + [f"  {line}" for line in audio_devices()]
    store = ModelStore()
    out += ["", f"models ({store.root}):"]
    in_use = set(config.model_ids().values())
    for entry in store.catalog:
        state = "ready (verified at pull)" if store.is_ready(entry) else "not installed"
        mark = "*" if entry.id in in_use else " "
        out.append(f" {mark}{entry.id}: {state}")
    out.append("  (* used by this profile; `edgevox models verify` re-hashes every file)")
    return "\n".join(out)
