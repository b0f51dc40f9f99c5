"""Static checks, run by the test command: mypy on the packages that must type-check, and ruff
on the whole tree, with the settings in pyproject.toml ([tool.mypy], [tool.ruff]).

Each runs in a subprocess of this interpreter, as a developer would run it, so the result does
not depend on what this test process has imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("edgevox/runtime", "edgevox/server")
MYPY_TIMEOUT_S = 600


@pytest.mark.slow
def test_mypy_is_clean():
    result = subprocess.run([sys.executable, "-m", "mypy", *CHECKED], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=MYPY_TIMEOUT_S)
    assert result.returncode == 0, f"mypy {' '.join(CHECKED)} failed:\n{result.stdout}" \
                                   f"{result.stderr}"


def test_ruff_is_clean():
    paths = ("edgevox", "tests", "bench", "deploy")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *paths], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=MYPY_TIMEOUT_S)
    assert result.returncode == 0, f"ruff check failed:\n{result.stdout}{result.stderr}"
