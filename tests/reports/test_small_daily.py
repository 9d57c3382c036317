"""Issue 21, item 13 ("small but daily") on the statistics pages: no future years in the
year selector."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from huzhu.reports.views import year_choices


def test_the_year_selector_offers_no_year_that_has_not_begun(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a: dt.date(2026, 12, 7))
    assert year_choices(2026) == [2026, 2025, 2024, 2023, 2022, 2021, 2020]
    # A year typed into the address bar still appears when it is older than the list.
    assert year_choices(2015)[0] == 2026 and year_choices(2015)[-1] == 2015
    assert 2027 not in year_choices(2027)
