"""Hygiene headers (issue 22, finding 5): pages and files with personal data are never
cached (``no-store``), HTML pages carry a Content-Security-Policy that allows this site's
own scripts, styles and images only, and no template relies on what that policy blocks
(inline scripts, ``on…=`` handlers, ``style=`` attributes, ``<style>`` elements, hx-on)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

import huzhu
from tests.fixtures import PASSWORD
from tests.reports.conftest import (  # noqa: F401  (fixtures)
    admin,
    changchun,
    clerks,
    clock,
    free_scheme,
    fresh_cache,
    history,
    staff,
)

SRC = Path(huzhu.__file__).parent


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_a_member_page_is_never_cached_and_has_the_policy(client, users, staff):  # noqa: F811
    response = signed_in(client, users["clerk_a1"]).get(
        reverse("members:detail", args=[staff["m1"].pk]))
    assert response.status_code == 200 and staff["m1"].name in response.content.decode()
    assert_no_store(response)
    csp = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                      "img-src 'self' data:", "frame-ancestors 'none'", "form-action 'self'",
                      "object-src 'none'", "base-uri 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    # The page's behaviours come from the site's own script, named in the page.
    body = response.content.decode()
    assert "/static/web/site.js" in body
    assert '"includeIndicatorStyles": false' in body and '"allowEval": false' in body


def test_a_pdf_is_never_cached(client, users, free_scheme):  # noqa: F811
    response = signed_in(client, users["admin_city"]).get(
        reverse("reports:annual-pdf"), {"scheme": free_scheme.code, "year": "2026"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert_no_store(response)
    assert "Content-Security-Policy" not in response  # a policy is for HTML pages


def test_the_sign_in_page_too_and_static_files_keep_their_cache(client, db, settings):
    # Static files from the apps' folders (no collectstatic on a fresh clone).
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    sign_in = client.get(reverse("login"))
    assert sign_in.status_code == 200
    assert_no_store(sign_in)
    assert "script-src 'self'" in sign_in["Content-Security-Policy"]
    css = client.get("/static/web/site.css")
    assert css.status_code == 200
    assert "no-store" not in css.get("Cache-Control", "")


TEMPLATES = sorted(SRC.glob("*/templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.I)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_template_relies_on_what_the_policy_blocks(path):
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"{#.*?#}", "", text)  # comments may name what they avoid
    assert not INLINE_SCRIPT.findall(text), "inline <script> without a nonce"
    assert not HANDLER.findall(text), "an on…= handler: use data-confirm and the like (site.js)"
    assert not STYLE_ATTR.findall(text), "a style= attribute: use a class (web/site.css)"
    assert "<style" not in text.lower(), "a <style> element: use a stylesheet"
    assert "hx-on" not in text, "hx-on runs code the policy refuses: use site.js"
    assert "javascript:" not in text.lower()


def test_the_checker_catches_what_it_looks_for():
    assert INLINE_SCRIPT.findall("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.findall('<script src="/static/x.js" defer></script>')
    assert not INLINE_SCRIPT.findall('<script nonce="{{ csp_nonce }}">x</script>')
    assert HANDLER.findall('<button onclick="return confirm(1)">')
    assert not HANDLER.findall('<button data-confirm="确定？">')
    assert STYLE_ATTR.findall('<div style="width: 3%">')
