"""Debug mode is off unless HUZHU_DEBUG=1 says otherwise."""

from __future__ import annotations

import pytest

from huzhu.config import env
from tests.config.procs import child_env, huzhu


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), ("", False), ("0", False), ("no", False), ("1", True), ("true", True),
    ("YES", True),
])
def test_debug_flag(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("HUZHU_DEBUG", raising=False)
    else:
        monkeypatch.setenv("HUZHU_DEBUG", value)
    assert env.debug() is expected


@pytest.mark.slow
def test_settings_have_debug_off_by_default(tmp_path):
    code = "from django.conf import settings; print('DEBUG', settings.DEBUG)"
    base = child_env(tmp_path, HUZHU_VAR_DIR=str(tmp_path / "var"), HUZHU_GENERATE_KEYS="1")
    off = huzhu("manage", "shell", "-c", code, env=base)
    on = huzhu("manage", "shell", "-c", code, env={**base, "HUZHU_DEBUG": "1"})
    assert off.returncode == 0 and on.returncode == 0, off.stderr + on.stderr
    assert "DEBUG False" in off.stdout and "DEBUG True" in on.stdout
