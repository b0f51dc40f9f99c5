"""Vietnamese text normalisation for speech: numbers, dates, money, units, abbreviations.

Pure Python (``re`` and ``unicodedata``), so importing it costs nothing on a small board.
"""

from __future__ import annotations

from edgevox.text.normalize import normalize_vi
from edgevox.text.numbers import number_to_words

__all__ = ["normalize_vi", "number_to_words"]
