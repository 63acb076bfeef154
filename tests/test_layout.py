"""Product code never reaches into test or development code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("incident", "workflows", "activities", "worker", "starter")
NOT_PRODUCT = ("tests", "dev", "bench")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_product_module_imports_tests_dev_or_bench() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in NOT_PRODUCT
    }
    assert not offenders, "\n".join(sorted(offenders))


def test_no_product_module_uses_the_sdks_private_testing_modules() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if name.startswith("temporalio.testing")
    }
    assert not offenders, "\n".join(sorted(offenders))
