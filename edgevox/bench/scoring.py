"""Word error rate, the one way the bench, its scripts and the tests score a transcript."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def normalise(text: str) -> list[str]:
    """Words for WER: Unicode NFC, lower case, punctuation removed."""
    text = unicodedata.normalize("NFC", text).lower()
    kept = "".join(c if (c.isalnum() or c.isspace()) else " " for c in text)
    return kept.split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1]


def word_error_rate(references: Iterable[str], hypotheses: Iterable[str]) -> float:
    """Corpus WER: word edits summed over all pairs / reference words."""
    errors = words = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        ref_words = normalise(ref)
        errors += edit_distance(ref_words, normalise(hyp))
        words += len(ref_words)
    return errors / words if words else 0.0
