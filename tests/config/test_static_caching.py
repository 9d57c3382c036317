"""Static files under ``huzhu serve``: hashed names, gzip copies, cached for a year — also
in debug mode (``make demo``); plain names everywhere else (tests, runserver)."""

from __future__ import annotations

import argparse
import re

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import RequestFactory

from huzhu.config import serve

HASHED = "huzhu.config.static_storage.HashedStaticStorage"
CHARTS = "reports/vendor/plotly-basic-3.7.0.min.js"  # the statistics page's chart script


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """One collect with the hashed storage, as huzhu serve runs it at start."""
    from django.test import override_settings

    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": HASHED}}):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def hashed(settings, collected):
    settings.STATIC_ROOT = collected
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": HASHED}}
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    return collected


@pytest.mark.parametrize("debug", [False, True])
def test_pages_link_hashed_names_even_in_debug_mode(hashed, settings, debug):
    settings.DEBUG = debug
    url = staticfiles_storage.url(CHARTS)
    assert re.fullmatch(r"/static/reports/vendor/plotly-basic-3\.7\.0\.min\.[0-9a-f]{12}\.js",
                        url), url
    assert (hashed / url.removeprefix("/static/")).is_file()
    assert (hashed / (url.removeprefix("/static/") + ".gz")).is_file()
    # A file added since the collect is linked by its plain name, not an error page.
    assert staticfiles_storage.url("web/not-collected-yet.js") == \
        "/static/web/not-collected-yet.js"


def _get(url: str, **headers):
    from whitenoise.middleware import WhiteNoiseMiddleware

    middleware = WhiteNoiseMiddleware(lambda request: pytest.fail(f"not served: {url}"))
    return middleware(RequestFactory().get(url, **headers))


def test_a_hashed_name_is_cached_for_a_year_and_sent_gzipped(hashed):
    url = staticfiles_storage.url(CHARTS)
    answer = _get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "max-age=315360000, public, immutable"
    assert answer["Content-Encoding"] == "gzip"
    plain_size = (hashed / CHARTS).stat().st_size
    assert int(answer["Content-Length"]) < plain_size / 2
    # The plain name (a bookmark, an old page) still answers, briefly cached.
    plain = _get("/static/" + CHARTS)
    assert plain.status_code == 200 and "immutable" not in plain["Cache-Control"]


def test_other_processes_link_plain_names():
    # The test settings are a process huzhu serve did not start.
    url = staticfiles_storage.url("web/site.css")
    assert url == "/static/web/site.css"


def test_huzhu_serve_tells_its_children_the_files_are_collected(monkeypatch):
    seen = {}

    class Supervisor:
        def __init__(self, environ, *args, **kwargs):
            seen.update(environ)

        def run(self) -> int:
            return 0

    monkeypatch.setattr(serve, "Supervisor", Supervisor)
    args = argparse.Namespace(addr="8000", no_worker=True, workers=1, threads=1)
    assert serve.run(args) == 0
    assert seen["HUZHU_STATIC_COLLECTED"] == "1"
