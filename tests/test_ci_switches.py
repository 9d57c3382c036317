"""The suite's own switches, exercised in a child pytest: a missing PostgreSQL or browser
fails the run under CI=true and is a skip with its reason on a developer's machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("CI", "HUZHU_TEST_DB", "HUZHU_PG_BIN", "HUZHU_CHROMIUM", "PYTEST_ADDOPTS")

pytestmark = pytest.mark.slow


def child_pytest(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=600,
    )


PG_TEST = ("tests/web/test_database.py", "-k", "requested_database")
BROWSER_TEST = ("tests/browser/test_registry_flow.py", "-k", "admin_home")


def test_missing_postgresql_fails_under_ci():
    run = child_pytest(*PG_TEST, CI="true", HUZHU_TEST_DB="postgresql",
                       HUZHU_PG_BIN="/nonexistent")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "no PostgreSQL server binaries were found" in run.stderr


def test_missing_postgresql_skips_locally_with_the_reason():
    run = child_pytest(*PG_TEST, HUZHU_TEST_DB="postgresql", HUZHU_PG_BIN="/nonexistent")
    assert run.returncode == pytest.ExitCode.OK, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "PostgreSQL is not installed" in run.stdout


def test_unknown_database_is_a_usage_error():
    run = child_pytest(*PG_TEST, HUZHU_TEST_DB="oracle")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    assert "HUZHU_TEST_DB='oracle'" in run.stderr


def test_missing_browser_fails_under_ci():
    run = child_pytest(*BROWSER_TEST, CI="true", HUZHU_CHROMIUM="/nonexistent")
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "CI=true: Chromium is not installed" in run.stdout
    assert "skipped" not in run.stdout


def test_missing_browser_skips_locally_with_the_reason():
    run = child_pytest(*BROWSER_TEST, HUZHU_CHROMIUM="/nonexistent")
    assert run.returncode == pytest.ExitCode.OK, run.stdout + run.stderr
    assert "1 skipped" in run.stdout and "Chromium is not installed" in run.stdout
