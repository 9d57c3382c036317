"""The pages work under the Content-Security-Policy in Chromium (issue 22, finding 5):
no refusal on the charts, the union tree's htmx buttons and the navbar's styles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import login
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

# Registered before any page script runs (Playwright's init scripts are not subject to
# the page's policy): every refusal the policy makes is collected.
WATCH = ("document.addEventListener('securitypolicyviolation', e => (window.__refused ="
         " window.__refused || []).push(e.violatedDirective + ' ' + e.blockedURI));")


@pytest.mark.browser
def test_the_pages_work_under_the_policy_in_chromium(transactional_db, page, history):  # noqa: F811
    page.add_init_script(WATCH)
    login(page, "admin_city", PASSWORD)
    # Charts: plotly draws with its rules from the stylesheet (its layers stacked, not
    # one under another), the chart's height from a class.
    page.goto("/reports/?scheme=changchun-2023&year=2026", wait_until="load")
    page.wait_for_selector("[data-chart='chart-month'] .main-svg", state="attached")
    assert page.evaluate("getComputedStyle(document.querySelector('.main-svg')).position") \
        == "absolute"
    assert page.evaluate("document.querySelector('[data-chart=chart-month]')"
                         ".getBoundingClientRect().height") == 320
    assert page.evaluate("window.__refused || []") == []
    # htmx: the tree's 展开 button loads the children and removes itself (site.js).
    page.goto(reverse("orgs:union-tree"), wait_until="load")
    page.wait_for_selector("button[data-remove-after-request]")
    before = page.locator("li.tree-node").count()
    buttons = page.locator("button[data-remove-after-request]").count()
    page.locator("button[data-remove-after-request]").first.click()
    # (Functions, not expression strings: Playwright evaluates those with eval, which the
    # policy refuses.)
    page.wait_for_function("n => document.querySelectorAll('li.tree-node').length > n",
                           arg=before)
    page.wait_for_function("n => document.querySelectorAll("
                           "'button[data-remove-after-request]').length < n", arg=buttons)
    assert page.evaluate("getComputedStyle(document.getElementById('navbar'))"
                         ".backgroundColor") == "rgb(181, 38, 43)"
    assert page.evaluate("window.__refused || []") == []
