"""受益率 on the statistics page: the city's and each district's take-up of the proactive
scheme, by count and by amount, exact, for the page's dates and the reader's scope."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from huzhu.reports import figures, take_up
from tests.claims.conftest import changchun, file_hospital  # noqa: F401  (fixtures)
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.conftest import feed_dir  # noqa: F401
from tests.feeds.test_gaps import city  # noqa: F401
from tests.reports.conftest import clock  # noqa: F401

D = dt.date
pytestmark = pytest.mark.django_db


def _cells(html: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr[^>]*id="{row_id}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row,
                                                                   re.S)]


def test_take_up_of_the_city_and_its_districts(city, changchun, tree):  # noqa: F811
    sel = figures.select(None, changchun, start=D(2026, 1, 1), end=D(2026, 12, 31))
    found = take_up.take_up_for(sel, cached=False)
    assert (found.total.given, found.total.eligible) == (2, 5)
    assert (found.total.given_amount, found.total.eligible_amount) == (Decimal("505.00"),
                                                                       Decimal("640.00"))
    assert (found.total.rate_count, found.total.rate_amount) == (Decimal("40.0"),
                                                                 Decimal("78.9"))
    districts = {u.name: u for u in found.by_union}
    assert list(districts) == ["甲区总工会", "乙区总工会"]
    assert (districts["甲区总工会"].rate_count, districts["乙区总工会"].rate_count) == (
        Decimal("25.0"), Decimal("100.0"))
    # The events of another year: nobody eligible, no rate.
    other = figures.select(None, changchun, start=D(2025, 1, 1), end=D(2025, 12, 31))
    nothing = take_up.take_up_for(other, cached=False)
    assert nothing.total.eligible == 0 and nothing.total.rate_count is None


def test_the_statistics_page_shows_it(city, changchun, users, client):  # noqa: F811
    client.force_login(users["admin_city"])
    html = client.get("/reports/", {"scheme": changchun.code, "year": 2026}).content.decode()
    assert "受益率（免申即享）" in html
    assert _cells(html, "take-up-total") == ["测试市总工会", "5", "2", "40.0%", "640.00",
                                             "505.00", "78.9%"]
    link = f'href="/feeds/gaps/?scheme={changchun.code}&amp;union={users["admin_city"].union_id}"'
    assert link in html  # from the rate to the people behind it
    html = client.get("/reports/", {"scheme": changchun.code, "year": 2025}).content.decode()
    assert _cells(html, "take-up-total")[3] == "—"


def test_a_district_reviewer_sees_their_district(city, changchun, users, client):  # noqa: F811
    client.force_login(users["reviewer_da"])
    html = client.get("/reports/", {"scheme": changchun.code, "year": 2026}).content.decode()
    assert _cells(html, "take-up-total") == ["甲区总工会", "4", "1", "25.0%", "240.00",
                                             "105.00", "43.8%"]
    table = html[html.index('id="table-take-up"'):]
    assert "甲区一号基层工会" in table and "乙区" not in table[:table.index("</table>")]
