"""Trust features: what a provider needs to account for the assistant it deploys.

Vietnam's Law on Artificial Intelligence (No. 134/2025/QH15) asks providers for an operational
log, technical documentation, transparency towards the people who talk to the system, and
machine-readable marking of AI-generated content. Each has one module here:

* :mod:`edgevox.trust.oplog`: one JSON line per completed turn, crash-safe, rotated and pruned.
* :mod:`edgevox.trust.marking`: WAV files that say in their own metadata (and in a hashed JSON
  sidecar) that they are AI-generated speech, plus the spoken disclosure sentence.
* :mod:`edgevox.trust.dossier`: a technical dossier template filled from the configuration, the
  model catalogue and the latest benchmark.
* :mod:`edgevox.trust.commands`: the ``edgevox log`` and ``edgevox dossier`` subcommands.

None of this is legal advice; the dossier says so in its first lines.
"""

from __future__ import annotations

from edgevox.files import atomic_write

__all__ = ["atomic_write"]
