"""Run the ``huzhu`` command in a child process with an environment of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUZHU = [sys.executable, "-m", "huzhu.cli"]
# Whatever the test run itself was configured with stays out of the child.
_DROPPED_PREFIXES = ("HUZHU_", "DJANGO_", "XDG_", "DATABASE_URL", "GUNICORN_")


def child_env(home: Path, **env: str) -> dict[str, str]:
    """The current environment without huzhu's, Django's or XDG variables, with ``home``
    as HOME so that no key file lands in the real user's configuration directory."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    return {**clean, "HOME": str(home), **env}


def huzhu(*args: str, env: dict[str, str], timeout: int = 120,
          cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*HUZHU, *args], env=env, cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout)
