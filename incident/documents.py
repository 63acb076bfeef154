"""YAML documents people write (the policy, the directory): read, validated, and refused
with one line per problem naming the file, the field and the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

Explain = Callable[[Any], list[str] | None]
"""Lines for one validation error's ``ctx['error']`` a document explains its own way
(e.g. every dangling reference of a directory, each with its field), or None."""


def parse_document(
    text: str,
    source: str,
    model: type[M],
    error: type[ValueError],
    what: str,
    explain: Explain | None = None,
) -> M:
    """``text`` as a ``model``; ``error`` naming ``source``, each field and its reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise error(f"{source}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise error(f"{source}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        lines = [f"{source}: invalid {what}"]
        for item in err.errors():
            special = explain(item.get("ctx", {}).get("error")) if explain else None
            if special is not None:
                lines += special
                continue
            field = ".".join(str(p) for p in item["loc"]) or "(top level)"
            lines.append(f"  {field}: {item['msg']}")
        raise error("\n".join(lines)) from err


def read_document(path: str | Path, error: type[ValueError], what: str) -> tuple[str, str]:
    """The text of the file at ``path`` and its name; ``error`` when it cannot be read."""
    file = Path(path)
    try:
        return file.read_text(), str(file)
    except OSError as err:
        raise error(f"{file}: cannot read {what} file: {err.strerror}") from err
