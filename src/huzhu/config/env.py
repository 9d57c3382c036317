"""Environment switches shared by the settings and ``huzhu serve`` (which must not import
Django's settings just to know where ``var/`` is or whether debug mode is on)."""

from __future__ import annotations

import os
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def flag(name: str, default: bool = False) -> bool:
    """A yes/no environment variable: 1, true, yes or on (any case) mean yes."""
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in _TRUE


def debug() -> bool:
    """Debug mode is off unless ``HUZHU_DEBUG=1``: its error pages show code and settings."""
    return flag("HUZHU_DEBUG")


def var_dir() -> Path:
    """The data directory: ``$HUZHU_VAR_DIR``, else ``var/`` under the current directory."""
    return Path(os.environ.get("HUZHU_VAR_DIR") or Path.cwd() / "var").resolve()


def csv_list(name: str, default: str = "") -> list[str]:
    """A comma-separated environment variable as a list, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def number(name: str, default: int) -> int:
    """A whole number (0 or more) from the environment, e.g. seconds or minutes."""
    from django.core.exceptions import ImproperlyConfigured

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ImproperlyConfigured(f"{name} 应为非负整数，而不是“{raw}”")
    return int(raw)
