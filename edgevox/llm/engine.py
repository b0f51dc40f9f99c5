"""A GGUF model through llama.cpp's C API, tuned for one short answer per spoken request.

What a voice turn needs from the LLM, and how this engine gets it on a small CPU:

* **Only the request is paid for.** The KV cache keeps every evaluated token; a new prompt
  reuses the longest common prefix with what is cached (the fixed system prompt, tool list and
  examples, warmed once at start-up) and evaluates only the rest. :class:`GenerationStats`
  reports how many prompt tokens were actually evaluated.
* **Streaming and cancellation.** :meth:`LlamaEngine.generate` is a generator of text pieces;
  a ``threading.Event`` is checked before every decode step, so a cancel lands within a token.
* **Grammar-constrained greedy decoding** with llama.cpp's GBNF sampler: the raw arg-max is
  checked against the grammar first (one token, cheap) and the full vocabulary is filtered only
  when that token is not allowed.
* **Tokens nobody has to choose are batched.** A :class:`Guide` may name characters the grammar
  forces (the rest of a tool name, a value the parser already found) and a draft to try (words
  copied from the request). Forced tokens are appended without sampling and evaluated together
  with the next step; draft tokens are evaluated in the same batch and kept while they equal the
  model's own greedy choice (prompt-lookup speculative decoding), so the output is exactly what
  plain greedy decoding under the grammar would give, in fewer, larger decode calls.

llama_cpp is imported only when an engine is created.
"""

from __future__ import annotations

import codecs
import ctypes
import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgevox.errors import ModelError, ToolError

logger = logging.getLogger(__name__)

_GGUF_MAGIC = b"GGUF"
# ggml's log levels: 1 debug, 2 info, 3 warn, 4 error, 5 the previous line continued.
_GGML_ERROR, _GGML_CONT = 4, 5


@dataclass
class GenerationStats:
    """What one :meth:`LlamaEngine.generate` call cost."""

    prompt_tokens: int = 0
    """Tokens in the prompt."""
    evaluated_tokens: int = 0
    """Prompt tokens actually evaluated; the rest came from the KV cache."""
    generated_tokens: int = 0
    """Output tokens, forced ones included."""
    forced_tokens: int = 0
    """Output tokens the guide forced (evaluated in batches, never sampled)."""
    draft_tokens: int = 0
    """Tokens proposed by the guide's draft."""
    accepted_draft_tokens: int = 0
    """Draft tokens that matched the model's greedy choice."""
    decode_calls: int = 0
    """llama_decode calls after the prompt."""
    prompt_s: float = 0.0
    """Time to evaluate the uncached prompt tokens."""
    ttft_s: float | None = None
    """Call -> first output token."""
    total_s: float = 0.0
    """Call -> last output token."""
    cancelled: bool = False
    first_candidates: tuple[tuple[int, float], ...] = ()
    """The :data:`FIRST_CANDIDATES` highest raw logits at the first output step, as (token,
    logit), before the grammar: where the model decides between replying and each tool, so the
    understanding stage can read how sure it was (see :mod:`edgevox.llm.decide`)."""
    chosen: list[tuple[int, float]] = field(default_factory=list)
    """For each token the model chose (forced ones are not chosen): where in the output it
    starts (in characters) and the probability the model gave it (among the tokens the
    grammar allows, when the grammar refused the model's first choice), which says how sure
    it was of each word of a reply."""

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens per second after the first token."""
        if self.ttft_s is None or self.generated_tokens < 2 or self.total_s <= self.ttft_s:
            return None
        return (self.generated_tokens - 1) / (self.total_s - self.ttft_s)


class Guide(Protocol):
    """Knows the output language well enough to skip work the model need not do."""

    def advance(self, text: str) -> None:
        """``text`` was appended to the output."""

    def forced(self) -> str:
        """Characters that must come next whatever the model picks ('' if none)."""

    def draft(self) -> str:
        """A guess at what comes next, to be verified by the model ('' if none)."""

    def done(self) -> bool:
        """The output is complete; stop without asking the model for an end token."""


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelError(
            f"model file {path} does not exist; fetch it with `edgevox models pull <id>` "
            "(`edgevox models list` names them)"
        )
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc}") from None
    if magic != _GGUF_MAGIC:
        raise ModelError(
            f"model file {path} is not a GGUF file (corrupt or wrong download); "
            "delete it and pull the model again"
        )


def _llama_cpp() -> Any:
    """Import llama_cpp and route llama.cpp's own log lines into Python logging.

    Loading a model makes llama.cpp log a few hundred lines, warnings among them that are
    harmless for the models edgevox ships ("control-looking token ... probably a bug in the
    model", a context smaller than the training one). They go to DEBUG, so a user sees them
    only with debug logging; llama.cpp's errors (a file it cannot read, a grammar it refuses)
    stay errors, because they explain the exception that follows.
    """
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelError(f"llama-cpp-python is not installed ({exc}); reinstall edgevox") from None
    global _log_callback
    if _log_callback is None:
        last_level = [logging.DEBUG]  # a continued line keeps the level of the line it continues

        @llama_cpp.llama_log_callback
        def forward(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
            if level != _GGML_CONT:
                last_level[0] = logging.ERROR if level == _GGML_ERROR else logging.DEBUG
            if logger.isEnabledFor(last_level[0]):
                message = text.decode("utf-8", "replace").rstrip()
                if message:
                    logger.log(last_level[0], "llama.cpp: %s", message)

        _log_callback = forward  # the C side keeps only a pointer: keep the object alive
        llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
    return llama_cpp


_log_callback: Any = None
FIRST_CANDIDATES = 256
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)])


class GrammarConstraint:
    """A compiled GBNF grammar tracking one output (llama.cpp's grammar sampler)."""

    def __init__(self, llama: Any, vocab: Any, n_vocab: int, text: str) -> None:
        self._llama = llama
        self._n_vocab = n_vocab
        self._ptr = llama.llama_sampler_init_grammar(vocab, text.encode("utf-8"), b"root")
        if not self._ptr:
            raise ToolError("llama.cpp rejected the tool grammar (its log names the rule)")
        self._one, self._one_array = self._token_array(1)
        self._all: tuple[np.ndarray, Any] | None = None

    def _token_array(self, size: int) -> tuple[np.ndarray, Any]:
        data = np.zeros(size, dtype=_TOKEN_DATA)
        array = self._llama.llama_token_data_array(
            data=data.ctypes.data_as(self._llama.llama_token_data_p),
            size=size,
            selected=-1,
            sorted=False,
        )
        return data, array

    def allows(self, token: int) -> bool:
        """Whether ``token`` may come next."""
        self._one["id"][0], self._one["logit"][0] = token, 0.0
        self._one_array.size = 1
        self._llama.llama_sampler_apply(self._ptr, ctypes.byref(self._one_array))
        return bool(np.isfinite(self._one["logit"][0]))

    def best(self, logits: np.ndarray) -> tuple[int, float]:
        """The highest-scoring token the grammar allows, and its probability among the tokens
        the grammar allows."""
        if self._all is None:
            self._all = self._token_array(self._n_vocab)
        data, array = self._all
        data["id"] = np.arange(self._n_vocab, dtype=np.intc)
        data["logit"] = logits
        array.size, array.selected, array.sorted = self._n_vocab, -1, False
        self._llama.llama_sampler_apply(self._ptr, ctypes.byref(array))
        masked = data["logit"][: array.size]
        best = int(np.argmax(masked))
        if not np.isfinite(masked[best]):
            raise ToolError("the grammar allows no token here")
        allowed = masked[np.isfinite(masked)]
        return int(data["id"][best]), 1.0 / float(np.exp(allowed - masked[best]).sum())

    def accept(self, token: int) -> None:
        """Advance the grammar past ``token`` (which must be allowed)."""
        self._llama.llama_sampler_accept(self._ptr, token)

    def close(self) -> None:
        if self._ptr:
            self._llama.llama_sampler_free(self._ptr)
            self._ptr = None


class _Vocabulary:
    """Tokenizer and grammar compiler over a loaded model's vocabulary."""

    _llama: Any
    _vocab: Any
    _model: Any
    n_vocab: int
    model_path: Path

    def _init_vocab(self) -> None:
        self._vocab = self._llama.llama_model_get_vocab(self._model)
        self.n_vocab = self._llama.llama_vocab_n_tokens(self._vocab)
        self._pieces: dict[int, bytes] = {}

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        """Token ids of ``text``; ``special`` reads markers like ``<|im_end|>`` (not user text)."""
        data = text.encode("utf-8")
        size = len(data) + 8
        buf = (self._llama.llama_token * size)()
        n = self._llama.llama_tokenize(self._vocab, data, len(data), buf, size, False, special)
        if n < 0:
            raise ModelError(f"tokenizer needs {-n} tokens for a {len(data)}-byte text")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        """The bytes of one token (special tokens render as nothing)."""
        cached = self._pieces.get(token)
        if cached is None:
            buf = ctypes.create_string_buffer(64)
            n = self._llama.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
            cached = self._pieces[token] = buf.raw[: max(n, 0)]
        return cached

    def is_eog(self, token: int) -> bool:
        return bool(self._llama.llama_vocab_is_eog(self._vocab, token))

    def eos(self) -> int:
        return int(self._llama.llama_vocab_eos(self._vocab))

    def token_text(self, token: int) -> str:
        return self._llama.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")

    def compile_grammar(self, text: str) -> GrammarConstraint:
        """Compile GBNF ``text`` (root rule ``root``); :class:`ToolError` if llama.cpp refuses."""
        return GrammarConstraint(self._llama, self._vocab, self.n_vocab, text)


def _load_model(path: Path, vocab_only: bool) -> tuple[Any, Any]:
    _check_gguf(path)
    llama = _llama_cpp()
    params = llama.llama_model_default_params()
    params.vocab_only = vocab_only
    model = llama.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise ModelError(
            f"llama.cpp could not load {path} (truncated or unsupported GGUF); "
            "delete it and pull the model again"
        )
    return llama, model


class LlamaVocab(_Vocabulary):
    """Only the tokenizer of a GGUF: cheap to load, enough to tokenize and compile grammars."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = Path(model_path)
        self._llama, self._model = _load_model(self.model_path, vocab_only=True)
        self._init_vocab()

    def close(self) -> None:
        if self._model:
            self._llama.llama_model_free(self._model)
            self._model = None


class LlamaEngine(_Vocabulary):
    """One GGUF model and one llama.cpp context; one generation at a time."""

    def __init__(
        self,
        model_path: Path,
        n_threads: int = 2,
        n_ctx: int = 3072,
        n_batch: int = 512,
        max_draft_tokens: int = 8,
    ) -> None:
        self.model_path = Path(model_path)
        self._llama, self._model = _load_model(self.model_path, vocab_only=False)
        llama = self._llama
        cparams = llama.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = cparams.n_ubatch = n_batch
        cparams.n_threads = cparams.n_threads_batch = n_threads
        cparams.no_perf = True
        self._ctx = llama.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            llama.llama_model_free(self._model)
            raise ModelError(f"cannot create a llama.cpp context for {self.model_path} (memory?)")
        self._init_vocab()
        self._mem = llama.llama_get_memory(self._ctx)
        self.n_ctx = llama.llama_n_ctx(self._ctx)
        self.n_batch = n_batch
        self.max_draft_tokens = max_draft_tokens
        self._batch = llama.llama_batch_init(n_batch, 0, 1)
        self._kv: list[int] = []
        self._busy = threading.Lock()
        self.last_stats = GenerationStats()
        logger.info("loaded %s (n_ctx=%d, threads=%d)", self.model_path.name, self.n_ctx, n_threads)

    # --- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Free the context and the model (idempotent)."""
        if self._ctx:
            self._llama.llama_batch_free(self._batch)
            self._llama.llama_free(self._ctx)
            self._llama.llama_model_free(self._model)
            self._ctx = self._model = None

    def __enter__(self) -> LlamaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- chat template ----------------------------------------------------------------------

    def chat_template(self) -> str:
        """The model's own chat template (GGUF metadata); :class:`ModelError` if it has none."""
        raw = self._llama.llama_model_chat_template(self._model, None)
        if not raw:
            raise ModelError(f"{self.model_path.name} has no chat template; use an instruct model")
        return raw.decode("utf-8")

    def format_chat(self, messages: Sequence[dict[str, str]]) -> str:
        """Render messages with the model's chat template, ending where the assistant speaks."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos = self.token_text(self.eos())
        bos_id = self._llama.llama_vocab_bos(self._vocab)
        bos = self.token_text(bos_id) if bos_id >= 0 else ""
        formatter = Jinja2ChatFormatter(self.chat_template(), eos_token=eos, bos_token=bos)
        return formatter(messages=list(messages)).prompt

    # --- KV cache --------------------------------------------------------------------------

    def _truncate(self, n: int) -> None:
        """Drop cached tokens from position ``n`` on."""
        if n >= len(self._kv):
            return
        if not self._llama.llama_memory_seq_rm(self._mem, 0, n, -1):
            self._llama.llama_memory_clear(self._mem, True)
            n = 0
        del self._kv[n:]

    def _decode(self, tokens: Sequence[int], first_logits: int) -> int:
        """Evaluate ``tokens`` after the cache, with logits from index ``first_logits`` on.

        Returns the offset to subtract from a token's index to get its logits row. Long inputs
        go in ``n_batch`` chunks arranged so that every requested row is in the last chunk.
        """
        if len(self._kv) + len(tokens) > self.n_ctx:
            raise ModelError(f"prompt and answer exceed the context of {self.n_ctx} tokens")
        last_start = max(0, len(tokens) - self.n_batch)
        if first_logits < last_start:
            raise ValueError("logits requested outside the last batch")
        start = 0
        batch = self._batch
        while start < len(tokens):
            end = min(start + self.n_batch, last_start) if start < last_start else len(tokens)
            for i, token in enumerate(tokens[start:end]):
                batch.token[i] = token
                batch.pos[i] = len(self._kv) + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = start + i >= first_logits
            batch.n_tokens = end - start
            rc = self._llama.llama_decode(self._ctx, batch)
            if rc != 0:  # drop whatever part of the batch made it into the cache
                self._llama.llama_memory_seq_rm(self._mem, 0, len(self._kv), -1)
                raise ModelError(f"llama_decode failed with code {rc}")
            self._kv.extend(tokens[start:end])
            start = end
        return last_start

    def _logits(self, row: int) -> np.ndarray:
        ptr = self._llama.llama_get_logits_ith(self._ctx, row)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def _uncached(self, prompt: Sequence[int]) -> list[int]:
        """Keep the longest cached prefix of ``prompt``; return the tokens still to evaluate."""
        n = 0
        limit = min(len(self._kv), len(prompt))
        while n < limit and self._kv[n] == prompt[n]:
            n += 1
        n = min(n, len(prompt) - 1)  # the last prompt token is re-evaluated for its logits
        self._truncate(n)
        return list(prompt[n:])

    def warm(self, prompt: Sequence[int], state_dir: Path | None = None) -> int:
        """Put ``prompt`` in the KV cache now (start-up); returns the tokens evaluated.

        With ``state_dir``, the cache of exactly this prompt on exactly this model file is
        loaded from there when it was saved before (a second start skips the evaluation), and
        saved there after an evaluation.
        """
        with self._busy:
            state = None if state_dir is None else self._state_path(state_dir, prompt)
            if state is not None and self._load_state(state, prompt):
                return 0
            pending = self._uncached(prompt)
            if pending:
                self._decode(pending, len(pending) - 1)
            if state is not None:
                self._save_state(state)
            return len(pending)

    def _state_path(self, state_dir: Path, prompt: Sequence[int]) -> Path:
        """A file name that changes with the model file, llama.cpp's version and the prompt."""
        stat = self.model_path.stat()
        key = hashlib.sha256()
        key.update(f"{self.model_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|".encode())
        key.update(f"{getattr(self._llama, '__version__', '')}|{self.n_ctx}|".encode())
        key.update(np.asarray(prompt, dtype=np.int32).tobytes())
        return Path(state_dir) / f"{self.model_path.stem}-{key.hexdigest()[:20]}.kv"

    def _load_state(self, path: Path, prompt: Sequence[int]) -> bool:
        if not path.is_file():
            return False
        self._truncate(0)
        buf = (self._llama.llama_token * (len(prompt) + 1))()
        count = ctypes.c_size_t(0)
        read = self._llama.llama_state_seq_load_file(
            self._ctx, str(path).encode(), 0, buf, len(prompt) + 1, ctypes.byref(count)
        )
        if read and list(buf[: count.value]) == list(prompt):
            self._kv = list(prompt)
            logger.info("prompt prefix loaded from %s", path)
            return True
        logger.warning("ignoring unusable prefix state %s", path)
        self._llama.llama_memory_clear(self._mem, True)
        self._kv = []
        return False

    def _save_state(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in path.parent.glob(f"{self.model_path.stem}-*.kv"):
                stale.unlink()
        except OSError as exc:
            logger.warning("cannot keep the prompt prefix in %s: %s", path.parent, exc)
            return
        tokens = (self._llama.llama_token * len(self._kv))(*self._kv)
        partial = path.with_suffix(".part")
        if self._llama.llama_state_seq_save_file(
            self._ctx, str(partial).encode(), 0, tokens, len(self._kv)
        ):
            partial.replace(path)
        else:
            logger.warning("llama.cpp could not save the prompt prefix to %s", path)

    # --- generation --------------------------------------------------------------------------

    def _top(self, row: int) -> tuple[tuple[int, float], ...]:
        logits = self._logits(row)
        top = np.argpartition(logits, -FIRST_CANDIDATES)[-FIRST_CANDIDATES:]
        return tuple((int(t), float(logits[t])) for t in top)

    def _pick(self, row: int, grammar: GrammarConstraint | None) -> tuple[int, float]:
        """The greedy token the grammar allows, and how sure the model was of it: its
        probability, among the tokens the grammar allows when it refused the model's first
        choice (a "=" the reply may not write makes "bằng" no less sure)."""
        logits = self._logits(row)
        token = int(np.argmax(logits))
        if grammar is not None and not grammar.allows(token):
            return grammar.best(logits)
        top = float(logits[token])
        return token, 1.0 / float(np.exp(logits - top).sum())

    def generate(
        self,
        prompt: Sequence[int],
        grammar: str | None = None,
        max_tokens: int = 128,
        cancel: threading.Event | None = None,
        guide: Guide | None = None,
    ) -> Iterator[str]:
        """Greedy text pieces for ``prompt``, constrained by GBNF ``grammar`` when given.

        Stops at an end-of-generation token, when ``guide.done()``, after ``max_tokens``, or
        when ``cancel`` is set (checked before every decode step). :attr:`last_stats` holds the
        costs afterwards.
        """
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("LlamaEngine runs one generation at a time")
        constraint = None
        start = time.perf_counter()
        try:
            constraint = self.compile_grammar(grammar) if grammar is not None else None
            yield from self._generate(prompt, constraint, max_tokens, cancel, guide)
        finally:
            self.last_stats.total_s = time.perf_counter() - start
            if constraint is not None:
                constraint.close()
            self._busy.release()

    def _generate(
        self,
        prompt: Sequence[int],
        grammar: GrammarConstraint | None,
        max_tokens: int,
        cancel: threading.Event | None,
        guide: Guide | None,
    ) -> Iterator[str]:
        start = time.perf_counter()
        stats = self.last_stats = GenerationStats(prompt_tokens=len(prompt))
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending = self._uncached(prompt)
        stats.evaluated_tokens = len(pending)
        draft: list[int] = []

        written = 0

        def emit(token: int, p: float | None = None) -> str:
            nonlocal written
            if grammar is not None:
                grammar.accept(token)
            text = decoder.decode(self.piece(token))
            if p is not None:
                stats.chosen.append((written, p))
            written += len(text)
            if stats.ttft_s is None:
                stats.ttft_s = time.perf_counter() - start
            stats.generated_tokens += 1
            if guide is not None and text:
                guide.advance(text)
            return text

        def finished() -> bool:
            return stats.generated_tokens >= max_tokens or (guide is not None and guide.done())

        while True:
            if cancel is not None and cancel.is_set():
                stats.cancelled = True
                break
            first_row = len(pending) - 1
            offset = self._decode(pending + draft, first_row)
            if stats.prompt_s:
                stats.decode_calls += 1
            else:
                stats.prompt_s = time.perf_counter() - start
            stats.draft_tokens += len(draft)
            pending = []
            stop = False
            if not stats.first_candidates:
                stats.first_candidates = self._top(first_row - offset)
            for j in range(len(draft) + 1):
                token, p = self._pick(first_row + j - offset, grammar)
                if j < len(draft) and token == draft[j]:
                    stats.accepted_draft_tokens += 1
                    if text := emit(token, p):
                        yield text
                    stop = finished()
                    if stop:
                        break
                    continue
                self._truncate(len(self._kv) - (len(draft) - j))
                stop = self.is_eog(token)
                if not stop:
                    if text := emit(token, p):
                        yield text
                    pending = [token]
                    stop = finished()
                break
            if stop:
                break
            draft = []
            if guide is not None and not decoder.getstate()[0]:
                forced = guide.forced()
                for token in self.tokenize(forced) if forced else ():
                    if grammar is not None and not grammar.allows(token):
                        logger.debug("grammar refused forced token %r", self.piece(token))
                        break
                    stats.forced_tokens += 1
                    if text := emit(token):
                        yield text
                    pending.append(token)
                if finished():
                    break
                guess = guide.draft()
                draft = self.tokenize(guess)[: self.max_draft_tokens] if guess else []
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail
