"""ASR: the vietasr model built for sherpa-onnx, the recogniser backends, and their failures."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import struct
import subprocess
import sys
import unicodedata
import wave
from pathlib import Path

import numpy as np
import pytest

from edgevox.asr import load_recognizer
from edgevox.asr.vietasr import (
    MODEL_ONNX_SHA256,
    MODEL_SYMBOL,
    NUM_TOKENS,
    VOCAB_SYMBOL,
    build_sherpa_model,
)
from edgevox.errors import AudioError, ModelError

MODEL_ID = "vietasr-streaming-ctc"
CHUNK_SAMPLES = 1600  # 100 ms at 16 kHz
CLIP = "common_voice_vi_23790300.wav"  # 5.5 s: "Trinh đưa tay lên xem đồng hồ Bây giờ là mấy giờ"


def _normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower()
    return re.sub(r"[^\w\s]|_", " ", text).split()


def _word_errors(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, 1):
            diagonal, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, diagonal + (ref_word != hyp_word)),
            )
    return row[-1]


def _clip(eval_dir: Path, name: str) -> tuple[np.ndarray, str]:
    corpus = eval_dir / "asr-cv-vi-dev"
    with open(corpus / "manifest.jsonl", encoding="utf-8") as fh:
        entries = {e["audio"]: e for e in map(json.loads, fh)}
    with wave.open(str(corpus / name)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0, entries[name]["text"]


@pytest.fixture(scope="module")
def vietasr_dir(model_dir) -> Path:
    return model_dir(MODEL_ID)


@pytest.fixture(scope="module")
def recognizer(vietasr_dir):
    return load_recognizer("wenet_ctc", vietasr_dir, num_threads=2)


@pytest.mark.models
def test_tokens_txt_is_sherpa_vocabulary(vietasr_dir):
    lines = (vietasr_dir / "tokens.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == NUM_TOKENS
    assert lines[0] == "<blank> 0"
    assert lines[-1] == f"! {NUM_TOKENS - 1}"


@pytest.mark.models
def test_model_has_sherpa_wenet_ctc_interface(vietasr_dir):
    import onnx

    model = onnx.load(str(vietasr_dir / "model.onnx"))
    assert [i.name for i in model.graph.input] == [
        "x",
        "offset",
        "required_cache_size",
        "attn_cache",
        "conv_cache",
        "attn_mask",
    ]
    assert [o.name for o in model.graph.output] == ["log_probs", "new_attn_cache", "new_conv_cache"]
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata["model_type"] == "wenet_ctc"
    assert (metadata["chunk_size"], metadata["left_chunks"], metadata["vocab_size"]) == (
        "10",
        "4",
        "4968",
    )


@pytest.mark.models
def test_real_clip_transcribes_close_to_reference(recognizer, eval_dir):
    audio, reference = _clip(eval_dir, CLIP)
    stream = recognizer.create_stream()
    for start in range(0, audio.size, CHUNK_SAMPLES):
        stream.accept(audio[start : start + CHUNK_SAMPLES])
    text = stream.finish()
    assert text == unicodedata.normalize("NFC", text)
    assert "\u2581" not in text and text == " ".join(text.split())
    ref_words = _normalise(reference)
    wer = _word_errors(ref_words, _normalise(text)) / len(ref_words)
    assert wer <= 0.25, f"WER {wer:.2f}: {text!r} vs {reference!r}"


@pytest.mark.models
def test_partials_grow_while_audio_streams(recognizer, eval_dir):
    audio, _ = _clip(eval_dir, CLIP)
    assert recognizer.streaming
    stream = recognizer.create_stream()
    partials: list[tuple[float, str]] = []  # (fraction of audio still to come, partial)
    for start in range(0, audio.size, CHUNK_SAMPLES):
        stream.accept(audio[start : start + CHUNK_SAMPLES])
        remaining = 1.0 - min(start + CHUNK_SAMPLES, audio.size) / audio.size
        partials.append((remaining, stream.partial()))
    final = stream.finish()

    assert any(text and remaining >= 0.3 for remaining, text in partials), partials
    texts = [text for _, text in partials] + [final]
    for earlier, later in itertools.pairwise(texts):
        assert later.startswith(earlier), f"{later!r} does not extend {earlier!r}"
    assert len({t for t in texts if t}) >= 3, "the hypothesis should grow over several steps"


@pytest.mark.models
def test_finish_without_audio_is_empty(recognizer):
    stream = recognizer.create_stream()
    stream.accept(np.zeros(0, dtype=np.float32))
    assert stream.partial() == ""
    assert stream.finish() == ""


def test_load_recognizer_on_missing_dir_names_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelError, match=re.escape(str(missing))):
        load_recognizer("wenet_ctc", missing, num_threads=1)


@pytest.mark.parametrize(
    ("kind", "present", "missing"),
    [
        ("wenet_ctc", [], "tokens.txt"),
        ("wenet_ctc", ["tokens.txt"], "model.onnx"),
        ("online_transducer", ["tokens.txt"], "encoder.onnx"),
        ("offline_transducer", ["tokens.txt", "encoder.onnx"], "decoder.onnx"),
    ],
)
def test_load_recognizer_names_the_missing_file(tmp_path, kind, present, missing):
    for name in present:
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ModelError, match=re.escape(missing)):
        load_recognizer(kind, tmp_path, num_threads=1)


def test_load_recognizer_rejects_empty_model_file(tmp_path):
    (tmp_path / "tokens.txt").write_text("<blank> 0\n", encoding="utf-8")
    (tmp_path / "model.onnx").touch()
    with pytest.raises(ModelError, match=re.escape("model.onnx is empty")):
        load_recognizer("wenet_ctc", tmp_path, num_threads=1)


def test_build_rejects_a_file_that_is_not_a_library(tmp_path):
    fake = tmp_path / "libvietasr.so"
    fake.write_text("not a shared library", encoding="utf-8")
    with pytest.raises(ModelError, match="not an ELF"):
        build_sherpa_model(fake, tmp_path / "out")
    assert not (tmp_path / "out" / "model.onnx").exists()


def test_build_rejects_a_library_without_the_model(tmp_path):
    other_elf = Path(sys.executable).resolve()  # a real ELF that exports no vietasr symbols
    with pytest.raises(ModelError, match=MODEL_SYMBOL):
        build_sherpa_model(other_elf, tmp_path / "out")


def _fake_library(blobs: dict[str, bytes], is64: bool, little_endian: bool) -> bytes:
    """A minimal ELF shared object exporting each blob and its ``<name>_size`` as data symbols.

    The single PT_LOAD segment maps file offset 0 at address 0x10000, so a reader that forgets
    to translate addresses into file offsets reads the wrong bytes.
    """
    e = "<" if little_endian else ">"
    word = "Q" if is64 else "I"
    base_vaddr = 0x10000
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    data, symbols = bytearray(), []
    data_at = ehsize + phentsize
    for name, blob in blobs.items():
        symbols.append((name, data_at + len(data)))
        data += blob
        symbols.append((name + "_size", data_at + len(data)))
        data += struct.pack(e + word, len(blob))
    dynstr = bytearray(b"\0")
    dynsym = bytearray(struct.calcsize(e + ("IBBHQQ" if is64 else "IIIBBH")))  # null symbol
    for name, offset in symbols:
        name_at, vaddr = len(dynstr), base_vaddr + offset
        dynstr += name.encode() + b"\0"
        if is64:
            dynsym += struct.pack(e + "IBBHQQ", name_at, 0x10, 0, 1, vaddr, 0)
        else:
            dynsym += struct.pack(e + "IIIBBH", name_at, vaddr, 0, 0x10, 0, 1)
    dynsym_at = data_at + len(data)
    dynstr_at = dynsym_at + len(dynsym)
    shoff = dynstr_at + len(dynstr)
    file_size = shoff + 3 * shentsize
    sh_fmt = e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    sym_entsize = 24 if is64 else 16
    sections = [
        struct.pack(sh_fmt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        struct.pack(sh_fmt, 0, 11, 2, 0, dynsym_at, len(dynsym), 2, 1, 8, sym_entsize),
        struct.pack(sh_fmt, 0, 3, 2, 0, dynstr_at, len(dynstr), 0, 0, 1, 0),
    ]
    if is64:
        phdr = struct.pack(e + "IIQQQQQQ", 1, 4, 0, base_vaddr, base_vaddr, file_size, file_size, 1)
    else:
        phdr = struct.pack(e + "IIIIIIII", 1, 0, base_vaddr, base_vaddr, file_size, file_size, 4, 1)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1 if little_endian else 2, 1]) + bytes(9)
    rest = e + "HHI" + word * 3 + "IHHHHHH"
    header = ident + struct.pack(
        rest, 3, 0, 1, 0, ehsize, shoff, 0, ehsize, phentsize, 1, shentsize, 3, 0
    )
    return header + phdr + bytes(data) + bytes(dynsym) + bytes(dynstr) + b"".join(sections)


@pytest.mark.parametrize(("is64", "little_endian"), [(True, True), (False, False)])
def test_build_reports_both_hashes_when_bytes_differ(tmp_path, is64, little_endian):
    payload = b"this is not the vietasr model"
    library = tmp_path / "libvietasr.so"
    library.write_bytes(
        _fake_library({MODEL_SYMBOL: payload, VOCAB_SYMBOL: b"<blank> 0\n"}, is64, little_endian)
    )
    with pytest.raises(ModelError) as excinfo:
        build_sherpa_model(library, tmp_path / "out")
    message = str(excinfo.value)
    assert hashlib.sha256(payload).hexdigest() in message  # proves the right bytes were read
    assert MODEL_ONNX_SHA256 in message
    assert not (tmp_path / "out" / "model.onnx").exists()


def test_importing_asr_loads_no_native_engine():
    code = "import sys, edgevox.asr; print('sherpa_onnx' in sys.modules, 'onnx' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.models
def test_stream_rejects_int16_and_stereo(recognizer):
    stream = recognizer.create_stream()
    with pytest.raises(AudioError, match="float"):
        stream.accept(np.zeros(1600, dtype=np.int16))
    with pytest.raises(AudioError, match="mono"):
        stream.accept(np.zeros((1600, 2), dtype=np.float32))
