"""``manage.py check --deploy`` is clean for a production configuration over HTTPS, and
what HUZHU_HTTPS turns on is there."""

from __future__ import annotations

import json

import pytest

from huzhu.config.secrets import new_keys
from tests.config.procs import child_env, huzhu

pytestmark = pytest.mark.slow

CHECK = ("manage", "check", "--deploy", "--fail-level", "WARNING")
SHOW = ("manage", "shell", "-c", "from django.conf import settings as s; import json; "
        "print(json.dumps({k: getattr(s, k, None) for k in ("
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
        "'SECURE_PROXY_SSL_HEADER', 'ALLOWED_HOSTS', 'CSRF_TRUSTED_ORIGINS', "
        "'SECURE_REFERRER_POLICY')}))")


def production(tmp_path, **extra: str) -> dict[str, str]:
    return child_env(tmp_path, HUZHU_VAR_DIR=str(tmp_path / "var"), HUZHU_HTTPS="1",
                     HUZHU_ALLOWED_HOSTS="huzhu.example.cn",
                     HUZHU_CSRF_TRUSTED_ORIGINS="https://huzhu.example.cn",
                     **new_keys(), **extra)


def settings_under(environ: dict[str, str]) -> dict:
    run = huzhu(*SHOW, env=environ)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_over_https(tmp_path):
    run = huzhu(*CHECK, env=production(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_check_deploy_is_clean_behind_a_proxy_with_preload(tmp_path):
    environ = production(tmp_path, HUZHU_BEHIND_PROXY="1", HUZHU_HSTS_PRELOAD="1",
                         HUZHU_HSTS_SECONDS="63072000")
    run = huzhu(*CHECK, env=environ)
    assert run.returncode == 0, run.stdout + run.stderr
    got = settings_under(environ)
    assert got["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert got["SECURE_HSTS_PRELOAD"] is True and got["SECURE_HSTS_SECONDS"] == 63072000


def test_check_deploy_fails_without_https(tmp_path):
    environ = production(tmp_path)
    del environ["HUZHU_HTTPS"]
    run = huzhu(*CHECK, env=environ)
    assert run.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in run.stderr, warning


def test_https_settings(tmp_path):
    got = settings_under(production(tmp_path))
    assert got == {
        "DEBUG": False, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None, "ALLOWED_HOSTS": ["huzhu.example.cn"],
        "CSRF_TRUSTED_ORIGINS": ["https://huzhu.example.cn"],
        "SECURE_REFERRER_POLICY": "same-origin",
    }


def test_a_bad_hsts_value_is_refused(tmp_path):
    run = huzhu(*CHECK, env=production(tmp_path, HUZHU_HSTS_SECONDS="one year"))
    assert run.returncode != 0 and "HUZHU_HSTS_SECONDS" in run.stderr
