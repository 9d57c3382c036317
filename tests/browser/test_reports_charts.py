"""The statistics page in real Chromium is usable before plotly.js arrives: the page loads
without it (the tables and figures are there), then the basic bundle — not the 4.8 MB full
one — is fetched after the load event and draws every chart, with no English mode bar."""

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

TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const js = performance.getEntriesByType('resource').filter(r => r.name.includes('plotly'));
  return {load: nav.loadEventEnd, plotly: js.map(r => [r.name, r.startTime])};
}"""


def test_the_charts_come_after_the_page(transactional_db, page, history):  # noqa: F811
    login(page, "admin_city", PASSWORD)
    page.goto("/reports/?scheme=changchun-2023&year=2026", wait_until="load")
    # Usable at load: the figures and tables are there, whether or not a chart is drawn.
    assert page.locator("#figure-paid_total").inner_text() == "56,240.00 元"
    page.wait_for_selector("[data-chart='chart-month'] .main-svg", state="attached")
    page.wait_for_selector("[data-chart='chart-tier'] .main-svg", state="attached")
    timing = page.evaluate(TIMING)
    assert [name.rsplit("/", 1)[1] for name, _ in timing["plotly"]] == [
        "plotly-basic-3.7.0.min.js"]
    # Requested only once the page had loaded: it never held up the first paint.
    assert timing["plotly"][0][1] >= timing["load"]
    assert page.locator(".modebar").count() == 0  # its tooltips are English
