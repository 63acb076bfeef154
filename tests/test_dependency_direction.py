"""Dependencies point one way: each package imports only the packages below it.

    incident  ←  directory  ←  settings, activities  ←  workflows  ←  worker  ←  starter

``incident`` is the pure domain and imports nothing of ours; ``directory`` (people,
schedules, escalation policies) is pure too and stands on it alone; ``activities``
stand on it alone; ``workflows`` on it and on the activities it calls, by
typed method reference (passed through the sandbox, never run in it);
``settings`` (the settings layer and the Temporal connection) stands on it too,
so the worker and the clients share it;
``worker`` composes workflows and activities; ``starter`` (hooks, API, CLI,
local stack) and ``bench`` are where processes start, and nothing else imports
them. Every module of every package is read, imports inside functions
included, so a package reshaped into new modules is covered as it is.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MAY_IMPORT: dict[str, set[str]] = {
    "incident": set(),
    "directory": {"incident"},
    "settings": {"incident"},
    "workflows": {"incident", "activities"},
    "activities": {"incident", "directory"},
    "worker": {"incident", "directory", "settings", "workflows", "activities"},
    "starter": {"incident", "directory", "settings", "workflows", "activities", "worker"},
    # Entry points: benchmarks run the real processes, so they may import anything.
    "bench": {
        "incident",
        "directory",
        "settings",
        "workflows",
        "activities",
        "worker",
        "starter",
        "dev",
    },
    # Servers and ports for tests and benchmarks only; never packaged or imported by product code.
    "dev": {"incident", "directory", "settings", "starter"},
}
"""For each top-level package, the packages of ours its modules may import."""

KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}
"""Imports against the direction that are still to be moved, each with where it goes."""


def packages() -> list[str]:
    """Every top-level package of the repository except the tests."""
    return sorted(
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name != "tests" and not path.parent.name.startswith(".")
    )


def modules(package: str) -> Iterator[tuple[str, Path]]:
    """Each module of ``package`` (any depth) with its file."""
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imported(module: str, source: str, *, is_package: bool = False) -> Iterator[tuple[str, int]]:
    """Each module name ``source`` imports (relative imports resolved), with its line."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, name] if name else base)
            yield name, node.lineno
            # `from workflows import incident` imports the module workflows.incident
            for alias in node.names:
                yield f"{name}.{alias.name}" if name else alias.name, node.lineno


def wrong_imports(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """The imports of ``module`` (its ``source``) that point against the direction."""
    package = module.split(".")[0]
    allowed = MAY_IMPORT.get(package, set()) | {package}
    found = []
    for name, line in imported(module, source, is_package=is_package):
        target = name.split(".")[0]
        if target not in MAY_IMPORT or target in allowed:
            continue  # not ours (stdlib, third party), or allowed
        if any(module == src and name.startswith(dst) for src, dst in KNOWN_EXCEPTIONS):
            continue
        found.append(f"{module}:{line}: {package} imports {name}")
    return found


def violations() -> list[str]:
    """Every import against the direction in the repository's packages."""
    return sorted(
        {
            wrong
            for package in packages()
            for module, path in modules(package)
            for wrong in wrong_imports(
                module, path.read_text(), is_package=path.name == "__init__.py"
            )
        }
    )


def test_every_package_has_its_place_in_the_direction() -> None:
    assert set(packages()) == set(MAY_IMPORT), (
        "a top-level package without a rule: add it to MAY_IMPORT with what it may import"
    )


def test_dependencies_point_one_way() -> None:
    assert violations() == []


def test_known_exceptions_still_exist() -> None:
    """A moved import leaves its exception behind: remove it, so the direction holds again."""
    for source, target in KNOWN_EXCEPTIONS:
        path = dict(modules(source.split(".")[0])).get(source)
        names = [name for name, _ in imported(source, path.read_text())] if path else []
        assert any(name.startswith(target) for name in names), (
            f"{source} no longer imports {target}: remove it from KNOWN_EXCEPTIONS"
        )


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("activities.notify", "from workflows.incident import IncidentWorkflow"),
        ("activities.store", "from starter.api import decide"),
        ("worker.__main__", "import starter.api"),
        ("worker.run", "from starter import local"),
        ("activities.notify", "from workflows import incident"),
        ("workflows.incident", "from settings import connect"),
        ("incident.lifecycle", "from settings import connect"),
        ("incident.models", "from workflows import search_attributes"),
        ("settings.temporal", "def later():\n    from worker.run import build_worker"),
        ("settings.fields", "from activities.redact import safe_url"),
    ],
)
def test_an_import_against_the_direction_is_found(module: str, source: str) -> None:
    assert wrong_imports(module, source)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("starter.cli.main", "from worker.settings import WorkerSettings"),
        ("worker.settings", "from activities.channels import Channel\nimport settings"),
        (
            "workflows.incident",
            "from incident.models import Alert\nfrom . import search_attributes",
        ),
        ("bench.stack", "from starter.devserver import DevServer"),
        ("activities.lineage", "from incident.search_attributes import INCIDENT_ID"),
        ("workflows.incident", "from activities.notify import NotifyActivities"),
    ],
)
def test_an_import_along_the_direction_is_allowed(module: str, source: str) -> None:
    assert wrong_imports(module, source) == []


def test_every_package_is_installed_and_type_checked() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = config["tool"]["setuptools"]["packages"]["find"]["include"]
    checked = config["tool"]["mypy"]["packages"]
    for package in packages():
        if package not in ("bench", "dev"):  # run from a checkout, never installed
            assert f"{package}*" in installed, f"{package} is missing from packages.find"
        assert package in checked, f"{package} is missing from mypy's packages"
