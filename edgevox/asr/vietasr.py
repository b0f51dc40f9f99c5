"""Turn the speech model shipped inside the ``viet-asr`` wheel into a sherpa-onnx streaming model.

The PyPI wheel ``viet-asr==0.1.0.dev11`` carries a streaming Conformer-CTC (WeNet-style U2)
model, but only as bytes linked into ``vietasr/_native/libvietasr.so``: the ONNX graph is the
read-only data symbol ``vietasr_asr_model_onnx`` and the BPE vocabulary the symbol
``vietasr_asr_vocab``, each with a companion ``<name>_size`` holding its length as a native
``size_t``. We read those bytes straight out of the ELF file instead of loading the vendor
library, so the extraction neither runs vendor code nor depends on the host architecture: an
x86 machine can extract the model from the aarch64 wheel while building a Raspberry Pi image.

The extracted graph does not have the interface sherpa-onnx expects from a WeNet CTC model, so
:func:`build_sherpa_model` wraps it (see that function for exactly what changes and why). The
model catalogue runs this step by name after fetching the wheel (its source says
``transform = "edgevox.asr.vietasr:sherpa_model_from_wheel"``), which keeps the catalogue free of
any import of this package.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import struct
from pathlib import Path

from edgevox.errors import ModelError
from edgevox.files import atomic_write

logger = logging.getLogger(__name__)

MODEL_SYMBOL = "vietasr_asr_model_onnx"
VOCAB_SYMBOL = "vietasr_asr_vocab"
_SIZE_SUFFIX = "_size"

# Hashes of the bytes as extracted (verified facts, see MODELS.md). tokens.txt is written
# unchanged from the vocabulary bytes, which are already in sherpa's ``token id`` format.
MODEL_ONNX_SHA256 = "b34e699e5557f87741c6fca80246267268922c9d57045602da6fdf77039f0057"
TOKENS_SHA256 = "7b15d985d06e3c942f131f96e39b29a7170a9871f9800e794eb6e002940f9716"
NUM_TOKENS = 4972

# Architecture of the extracted model, written into the metadata sherpa-onnx reads.
# The model emits ids below VOCAB_SIZE; tokens.txt also lists <sos/eos> and punctuation.
NUM_BLOCKS = 12
ATTENTION_HEADS = 4
OUTPUT_SIZE = 448
CNN_MODULE_KERNEL = 31
RIGHT_CONTEXT_FRAMES = 6
SUBSAMPLING_FACTOR = 4
VOCAB_SIZE = 4968
CHUNK_SIZE = 10
NUM_LEFT_CHUNKS = 4
# The graph looks up positional encodings in a 5,040-row table, reading the 50 rows
# (40 cached + 10 new frames) starting at its ``offset`` input; larger offsets fail in Gather.
_POSITION_TABLE_ROWS = 5040
_ATTENTION_SPAN_FRAMES = CHUNK_SIZE * (NUM_LEFT_CHUNKS + 1)
MAX_GRAPH_OFFSET = _POSITION_TABLE_ROWS - _ATTENTION_SPAN_FRAMES

_WRAP_PREFIX = "edgevox_wrap/"

# ---------------------------------------------------------------------------------------------
# ELF reading
# ---------------------------------------------------------------------------------------------

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS32, _ELFCLASS64 = 1, 2
_ELFDATA2LSB, _ELFDATA2MSB = 1, 2
_SHT_DYNSYM = 11
_PT_LOAD = 1


class _ElfImage:
    """Just enough of an ELF reader to copy exported data symbols out of a shared library.

    The route is: ELF header -> section headers -> ``SHT_DYNSYM`` (the exported symbols) and the
    string table it links to -> a symbol's virtual address -> the ``PT_LOAD`` segment that maps
    that address -> the file offset of the bytes. Both classes (32/64-bit) and byte orders are
    handled, so the same code reads x86_64 and aarch64 builds.
    """

    def __init__(self, data: bytes | mmap.mmap, path: Path) -> None:
        self._data = data
        self._path = path
        if len(data) < 64 or data[:4] != _ELF_MAGIC:
            raise ModelError(f"{path} is not an ELF shared library; expected libvietasr.so")
        elf_class, byte_order = data[4], data[5]
        if elf_class not in (_ELFCLASS32, _ELFCLASS64) or byte_order not in (
            _ELFDATA2LSB,
            _ELFDATA2MSB,
        ):
            raise ModelError(f"{path} has an unknown ELF class or byte order")
        self._is64 = elf_class == _ELFCLASS64
        self._endian = "<" if byte_order == _ELFDATA2LSB else ">"
        self.word_size = 8 if self._is64 else 4
        # e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, ...
        header_fmt, header_at = ("QQIHHHHHH", 0x20) if self._is64 else ("IIIHHHHHH", 0x1C)
        header = self._unpack(header_fmt, header_at)
        self._phoff, self._shoff = header[0], header[1]
        self._phentsize, self._phnum, self._shentsize, self._shnum = header[4:8]

    def _unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        full = self._endian + fmt
        end = offset + struct.calcsize(full)
        if end > len(self._data):
            raise ModelError(f"{self._path} is truncated (ELF structure past end of file)")
        return struct.unpack(full, self._data[offset:end])

    def _section(self, index: int) -> tuple[int, int, int, int, int]:
        """Return (type, file offset, size, link, entry size) of section ``index``."""
        base = self._shoff + index * self._shentsize
        if self._is64:
            _, sh_type, _, _, off, size, link, _, _, entsize = self._unpack("IIQQQQIIQQ", base)
        else:
            _, sh_type, _, _, off, size, link, _, _, entsize = self._unpack("IIIIIIIIII", base)
        return sh_type, off, size, link, entsize

    def dynamic_symbols(self, wanted: set[str]) -> dict[str, int]:
        """Map each named symbol found in the dynamic symbol table (``nm -D``) to its address.

        The vendor's symbols have ``st_size`` 0 (the data is linked in with an assembler
        directive), which is why each blob's length comes from its ``_size`` companion.
        """
        found: dict[str, int] = {}
        for index in range(self._shnum):
            sh_type, off, size, link, entsize = self._section(index)
            if sh_type != _SHT_DYNSYM or entsize == 0:
                continue
            _, str_off, str_size, _, _ = self._section(link)
            for sym_off in range(off + entsize, off + size, entsize):  # entry 0 is reserved
                if self._is64:
                    name_off, _, _, _, value, _ = self._unpack("IBBHQQ", sym_off)
                else:
                    name_off, value, _, _, _, _ = self._unpack("IIIBBH", sym_off)
                if name_off >= str_size:
                    continue
                start = str_off + name_off
                name = bytes(self._data[start : self._data.find(b"\0", start)]).decode(
                    "ascii", "replace"
                )
                if name in wanted:
                    found[name] = value
        return found

    def read_at(self, vaddr: int, length: int) -> bytes:
        """Copy ``length`` bytes mapped at virtual address ``vaddr`` from the file."""
        for index in range(self._phnum):
            base = self._phoff + index * self._phentsize
            if self._is64:
                p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = self._unpack("IIQQQQQQ", base)
            else:
                p_type, p_offset, p_vaddr, _, p_filesz, _, _, _ = self._unpack("IIIIIIII", base)
            if p_type == _PT_LOAD and p_vaddr <= vaddr and vaddr + length <= p_vaddr + p_filesz:
                start = p_offset + vaddr - p_vaddr
                return bytes(self._data[start : start + length])
        raise ModelError(
            f"{self._path}: address {vaddr:#x}+{length} is not in any loaded segment; "
            "the library is not the expected vendor build"
        )

    def read_blob(self, symbols: dict[str, int], name: str) -> bytes:
        """Read the data symbol ``name`` whose length is stored in ``<name>_size``."""
        word = self.read_at(symbols[name + _SIZE_SUFFIX], self.word_size)
        (length,) = struct.unpack(self._endian + ("Q" if self._is64 else "I"), word)
        return self.read_at(symbols[name], length)


def extract_native_blobs(native_lib: Path) -> tuple[bytes, bytes]:
    """Return ``(onnx_bytes, vocab_bytes)`` read from ``libvietasr.so``, verified by sha256."""
    wanted = {MODEL_SYMBOL, VOCAB_SYMBOL, MODEL_SYMBOL + _SIZE_SUFFIX, VOCAB_SYMBOL + _SIZE_SUFFIX}
    try:
        with open(native_lib, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            elf = _ElfImage(mm, native_lib)
            symbols = elf.dynamic_symbols(wanted)
            missing = sorted(wanted - symbols.keys())
            if missing:
                raise ModelError(
                    f"{native_lib} does not export {', '.join(missing)}; "
                    "expected libvietasr.so from the viet-asr==0.1.0.dev11 wheel"
                )
            onnx_bytes = elf.read_blob(symbols, MODEL_SYMBOL)
            vocab_bytes = elf.read_blob(symbols, VOCAB_SYMBOL)
    except (OSError, ValueError) as exc:  # ValueError: mmap of an empty file
        raise ModelError(f"cannot read {native_lib}: {exc}") from exc
    _verify(onnx_bytes, MODEL_ONNX_SHA256, f"{MODEL_SYMBOL} in {native_lib}")
    _verify(vocab_bytes, TOKENS_SHA256, f"{VOCAB_SYMBOL} in {native_lib}")
    return onnx_bytes, vocab_bytes


def _verify(data: bytes, expected_sha256: str, what: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ModelError(
            f"{what} has sha256 {actual}, expected {expected_sha256}; "
            "use the viet-asr==0.1.0.dev11 wheel"
        )


def _check_tokens(vocab_bytes: bytes) -> None:
    """Fail loudly if the vocabulary is not sherpa's ``token id`` format, ids 0..N-1 in order."""
    lines = vocab_bytes.decode("utf-8").splitlines()
    if len(lines) != NUM_TOKENS or lines[0] != "<blank> 0":
        raise ModelError(f"vocabulary has {len(lines)} lines, expected {NUM_TOKENS} from <blank> 0")
    for expected_id, line in enumerate(lines):
        token, _, token_id = line.rpartition(" ")
        if not token or token_id != str(expected_id):
            raise ModelError(f"vocabulary line {expected_id + 1} is malformed: {line!r}")


# ---------------------------------------------------------------------------------------------
# Wrapping the graph into sherpa-onnx's WeNet CTC interface
# ---------------------------------------------------------------------------------------------


def wrap_for_sherpa(onnx_bytes: bytes) -> bytes:
    """Return the serialised wrapped model; see :func:`build_sherpa_model` for what changes."""
    import onnx  # only the build step needs onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(onnx_bytes)
    graph = model.graph
    old_inputs = [i.name for i in graph.input]
    old_outputs = [o.name for o in graph.output]
    if old_inputs != ["chunk", "offset", "att_cache", "cnn_cache"] or old_outputs != [
        "output",
        "r_att_cache",
        "r_cnn_cache",
    ]:
        raise ModelError(f"unexpected graph interface {old_inputs} -> {old_outputs}")

    def wrap(name: str) -> str:
        return _WRAP_PREFIX + name

    # Inputs that are also names of new inputs ("offset") get fresh internal names first.
    internal = {
        "chunk": "x",
        "offset": wrap("offset"),
        "att_cache": wrap("att_cache"),
        "cnn_cache": wrap("cnn_cache"),
    }
    for node in graph.node:
        node.input[:] = [internal.get(name, name) for name in node.input]

    cache_size = NUM_LEFT_CHUNKS * CHUNK_SIZE
    head_dim2 = OUTPUT_SIZE // ATTENTION_HEADS * 2
    int64 = TensorProto.INT64
    constants = [
        helper.make_tensor(wrap("max_offset"), int64, [1], [MAX_GRAPH_OFFSET]),
        helper.make_tensor(wrap("offset_shape"), int64, [2], [1, 1]),
        helper.make_tensor(wrap("axis0"), int64, [1], [0]),
    ]
    prologue = [
        # sherpa counts offset from required_cache_size; the graph counts from 0.
        helper.make_node(
            "Sub", ["offset", "required_cache_size"], [wrap("offset0")], name=wrap("offset_sub")
        ),
        helper.make_node(
            "Min",
            [wrap("offset0"), wrap("max_offset")],
            [wrap("offset_clamped")],
            name=wrap("offset_clamp"),
        ),
        helper.make_node(
            "Reshape",
            [wrap("offset_clamped"), wrap("offset_shape")],
            [internal["offset"]],
            name=wrap("offset_reshape"),
        ),
        helper.make_node(
            "Unsqueeze",
            ["attn_cache", wrap("axis0")],
            [internal["att_cache"]],
            name=wrap("attn_cache_batch"),
        ),
        helper.make_node(
            "Transpose",
            ["conv_cache"],
            [internal["cnn_cache"]],
            perm=[1, 0, 2, 3],
            name=wrap("conv_cache_batch"),
        ),
    ]
    epilogue = [
        helper.make_node("Identity", ["output"], ["log_probs"], name=wrap("log_probs")),
        helper.make_node(
            "Squeeze",
            ["r_att_cache", wrap("axis0")],
            ["new_attn_cache"],
            name=wrap("attn_cache_unbatch"),
        ),
        helper.make_node(
            "Transpose",
            ["r_cnn_cache"],
            ["new_conv_cache"],
            perm=[1, 0, 2, 3],
            name=wrap("conv_cache_unbatch"),
        ),
    ]
    nodes = prologue + list(graph.node) + epilogue
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(constants)

    float32 = TensorProto.FLOAT
    conv_cache_shape = [NUM_BLOCKS, 1, OUTPUT_SIZE, CNN_MODULE_KERNEL - 1]
    attn_cache_shape = [NUM_BLOCKS, ATTENTION_HEADS, cache_size, head_dim2]
    del graph.input[:]
    graph.input.extend(
        [
            # Batch left symbolic on purpose: see build_sherpa_model.
            helper.make_tensor_value_info("x", float32, ["N", _chunk_frames(), 80]),
            helper.make_tensor_value_info("offset", int64, [1]),
            helper.make_tensor_value_info("required_cache_size", int64, [1]),
            helper.make_tensor_value_info("attn_cache", float32, attn_cache_shape),
            helper.make_tensor_value_info("conv_cache", float32, conv_cache_shape),
            helper.make_tensor_value_info(
                "attn_mask", TensorProto.BOOL, [1, 1, cache_size + CHUNK_SIZE]
            ),
        ]
    )
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info("log_probs", float32, [1, CHUNK_SIZE, VOCAB_SIZE]),
            helper.make_tensor_value_info("new_attn_cache", float32, attn_cache_shape),
            helper.make_tensor_value_info("new_conv_cache", float32, conv_cache_shape),
        ]
    )

    metadata = {
        "model_type": "wenet_ctc",
        "head": ATTENTION_HEADS,
        "num_blocks": NUM_BLOCKS,
        "output_size": OUTPUT_SIZE,
        "cnn_module_kernel": CNN_MODULE_KERNEL,
        "right_context": RIGHT_CONTEXT_FRAMES,
        "subsampling_factor": SUBSAMPLING_FACTOR,
        "vocab_size": VOCAB_SIZE,
        "chunk_size": CHUNK_SIZE,
        "left_chunks": NUM_LEFT_CHUNKS,
    }
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=str(value))

    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)


def _chunk_frames() -> int:
    """Feature frames sherpa feeds per chunk: (chunk_size - 1) * subsampling + right context + 1."""
    return (CHUNK_SIZE - 1) * SUBSAMPLING_FACTOR + RIGHT_CONTEXT_FRAMES + 1


def build_sherpa_model(native_lib: Path, out_dir: Path) -> dict[str, Path]:
    """Extract the vietasr model from ``libvietasr.so`` and write a sherpa-onnx WeNet CTC model.

    Steps: read the ONNX bytes and the vocabulary out of the library's dynamic symbols (no vendor
    code runs), check both sha256s against the catalogue's values (:class:`ModelError` naming the
    actual and expected hash on mismatch), write ``tokens.txt`` (the vocabulary bytes are already
    sherpa's ``token id`` format: 4,972 lines from ``<blank> 0``), then wrap the graph and write
    ``model.onnx``. Each file goes to a temporary name in ``out_dir`` and is renamed into place,
    so a crash never leaves a half-written model that looks complete.

    What the wrap does, and why: sherpa-onnx's ``OnlineRecognizer.from_wenet_ctc`` feeds a model
    six inputs in this order and expects three outputs, all batch-free, while the vendor graph
    (exported from TensorFlow with tf2onnx) takes batched caches and no mask. The wrap keeps every
    original node and adds a few at both ends:

    * ``x`` [N,43,80] -> the original ``chunk`` (renamed; 43 = (10-1)*4 + 6 + 1 feature frames).
      sherpa feeds N=1, but the batch stays symbolic as in the vendor graph: declaring it 1 makes
      onnxruntime fuse the quantised MatMuls differently (MatMulNBits instead of
      DynamicQuantizeMatMul), which is about 15% slower and no longer matches the vendor numerics.
    * ``offset`` [1] int64 -> the original ``offset`` [1,1] as
      ``min(offset - required_cache_size, 4990)``. sherpa starts its offset at
      ``required_cache_size`` (40) and adds 10 per chunk; the vendor runtime starts the graph's
      offset at 0 (and adds 10 per chunk), because the graph itself reads positional-encoding
      rows ``offset .. offset+49``. The clamp keeps the table's 5,040 rows from running out, so
      a stream longer than about 200 s keeps decoding instead of failing in ``Gather``.
    * ``required_cache_size`` [1] int64: used only for the offset shift above.
    * ``attn_cache`` [12,4,40,224] -> ``Unsqueeze`` -> ``att_cache`` [1,12,4,40,224].
    * ``conv_cache`` [12,1,448,30] -> ``Transpose(1,0,2,3)`` -> ``cnn_cache`` [1,12,448,30].
    * ``attn_mask`` [1,1,50] bool: accepted and unused. The graph has no mask input; like the
      vendor runtime it attends to the zero-initialised cache during the first four chunks.
    * outputs: ``output`` -> ``log_probs`` [1,10,4968] (already log-softmax), ``r_att_cache`` ->
      ``Squeeze`` -> ``new_attn_cache``, ``r_cnn_cache`` -> ``Transpose`` -> ``new_conv_cache``.
    * metadata sherpa reads: ``model_type=wenet_ctc``, head, num_blocks, output_size,
      cnn_module_kernel, right_context, subsampling_factor, vocab_size, chunk_size, left_chunks.

    Features are not part of the wrap: the graph starts with its own global CMVN and expects
    80-bin log-mel fbank of int16-scale samples, which is what sherpa computes for WeNet CTC
    models (it turns off sample normalisation for them). The serialisation is deterministic, but
    its bytes depend on the ``onnx`` (and ``protobuf``) version that writes them.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_bytes, vocab_bytes = extract_native_blobs(native_lib)
    _check_tokens(vocab_bytes)
    tokens_path, model_path = out_dir / "tokens.txt", out_dir / "model.onnx"
    atomic_write(tokens_path, vocab_bytes)
    atomic_write(model_path, wrap_for_sherpa(onnx_bytes))
    logger.info("wrote %s and %s", model_path, tokens_path)
    return {"model.onnx": model_path, "tokens.txt": tokens_path}


def sherpa_model_from_wheel(fetched: dict[str, Path], out_dir: Path) -> dict[str, Path]:
    """The catalogue's transform for the ``viet-asr`` wheel: its source fetches
    ``libvietasr.so``, and this builds ``model.onnx`` and ``tokens.txt`` from it in ``out_dir``."""
    try:
        native_lib = fetched["libvietasr.so"]
    except KeyError:
        raise ModelError("the catalogue source for the vietasr model must fetch libvietasr.so "
                         "(vietasr/_native/libvietasr.so in the viet-asr wheel)") from None
    return build_sherpa_model(native_lib, out_dir)
