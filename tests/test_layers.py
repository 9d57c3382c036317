"""The layer contract (pyproject.toml, ``[tool.importlinter]``) holds on the tree, and it
would name an upward import if one were planted: a lower app importing a higher one, or
the engine importing Django."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(src: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), "--no-cache", str(config)], cwd=src,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Path, Path]:
    """A copy of the package with two planted violations."""
    src = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "src" / "huzhu", src / "huzhu",
                    ignore=shutil.ignore_patterns("__pycache__", "templates", "static"))
    money = src / "huzhu" / "rules" / "money.py"
    money.write_text(money.read_text() + "\nimport django.db  # planted\n")
    ledger = src / "huzhu" / "coverage" / "ledger.py"
    ledger.write_text(ledger.read_text() + "\nfrom huzhu.claims import ledger as planted\n")
    config = src / "pyproject.toml"
    shutil.copy(ROOT / "pyproject.toml", config)
    return src, config


def test_the_tree_keeps_its_layers():
    run = lint(ROOT / "src", ROOT / "pyproject.toml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout


def test_a_planted_upward_import_is_named(planted):
    src, config = planted
    run = lint(src, config)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "huzhu.coverage.ledger -> huzhu.claims.ledger" in run.stdout
    assert "huzhu.rules.money -> django (l." in run.stdout
