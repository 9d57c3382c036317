"""Statistics in real Chromium: a leader (the city's admin) opens the statistics page,
sees the charts drawn by plotly, drills down to a district, and runs a what-if."""

from __future__ import annotations

import pytest

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

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def immediate(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_leader_drills_down_and_runs_a_what_if(transactional_db, page, history, tree,  # noqa: F811
                                              screenshot):
    login(page, "admin_city", PASSWORD)
    page.click("#nav-reports")
    page.select_option("#f-year", "2026")
    page.click("#stats-show")
    assert page.locator("#figure-paid_total").inner_text() == "56,240.00 元"
    page.wait_for_selector("[data-chart='chart-month'] .main-svg")  # plotly drew it
    screenshot(page, "reports-city")
    page.click("a.drill[data-code='D01']")
    page.wait_for_selector("#union-crumbs >> text=甲区总工会")
    assert page.locator("#figure-paid_total").inner_text() == "54,240.00 元"
    assert page.locator("#figure-person_times").inner_text() == "4 人次"
    page.click("#what-if")
    page.fill("[data-path='benefits[hospital].formula.bands[6].rate']", "12%")
    page.click("#what-if-run")
    page.wait_for_selector("#what-if-report")
    assert page.locator("#wi-difference").inner_text() == "8,000.00 元"
    screenshot(page, "reports-what-if")
