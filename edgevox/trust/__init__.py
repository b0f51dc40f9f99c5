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

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` (permissions ``mode``) so that readers see the old file or the
    whole new one.

    The bytes go to a temporary file in the same directory, are flushed to disk, and replace
    ``path`` in one :func:`os.replace`; a crash never leaves a half-written file under the name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
