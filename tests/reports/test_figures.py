"""The figures against the hand-worked history of conftest.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huzhu.reports import figures

D = dt.date


def stats_2026(user=None, union=None, scheme=None, history=None):
    return figures.statistics(user, scheme or history["c1"].scheme, start=D(2026, 1, 1),
                              end=D(2026, 12, 31), union=union)


def test_year_2026_as_worked_by_hand(history):
    s = stats_2026(history=history)
    assert [c.state for c in history.values()].count("paid") == 6
    assert s.paid_total == Decimal("56240.00")
    assert (s.person_times, s.members_paid) == (5, 4)
    assert (s.over_10000_count, s.over_10000_total) == (2, Decimal("52800.00"))
    assert s.max_single == Decimal("40000.00")
    assert s.max_member_total == Decimal("40000.00")
    b = {line.code: line for line in s.by_benefit}
    assert (b["hospital"].paid_total, b["hospital"].person_times, b["hospital"].members) == (
        Decimal("54240.00"), 4, 3)
    assert (b["accident"].paid_total, b["accident"].person_times, b["accident"].members) == (
        Decimal("2000.00"), 1, 1)
    assert (b["fire"].paid_total, b["fire"].person_times) == (Decimal("0.00"), 0)
    assert (s.cycle.claims, s.cycle.median_days, s.cycle.p90_days) == (5, 46, 84)
    months = {m.month: (m.paid_total, m.person_times) for m in s.by_month}
    assert len(months) == 12
    assert months["2026-01"] == (Decimal("240.00"), 1)
    assert months["2026-04"] == (Decimal("56000.00"), 4)
    tiers = {(t.benefit, t.label): t.person_times for t in s.by_tier if t.person_times}
    # Bands in words, as the claim's 计算过程 writes them (not "(20000,50000] 3%").
    assert tiers == {("hospital", "超过 10,000.00 元至 20,000.00 元（含）按 2%"): 1,
                     ("hospital", "超过 20,000.00 元至 50,000.00 元（含）按 3%"): 1,
                     ("hospital", "超过 150,000.00 元至 300,000.00 元（含）按 8%"): 1,
                     ("hospital", "超过 300,000.00 元按 10%"): 1,
                     ("accident", "骨折（主要部位）"): 1}
    assert s.loss_ratio is None and s.enrolled is None
    assert s.covered == 7  # active members of the city: 6 of the staff (not retired, left), 冯丙


def test_2025_counts_only_the_2025_payment(history):
    s = figures.statistics(None, history["c0"].scheme, start=D(2025, 1, 1), end=D(2025, 12, 31))
    assert (s.paid_total, s.person_times, s.members_paid) == (Decimal("400.00"), 1, 1)
    assert s.by_tier[1].person_times == 1  # (10,000,20,000]: 20,000 is the band's top


def test_districts_add_up_to_the_city(history, tree):
    city = stats_2026(history=history)
    rows = {u.code: u for u in city.by_union}
    assert (rows["D01"].paid_total, rows["D01"].person_times, rows["D01"].members) == (
        Decimal("54240.00"), 4, 3)
    assert (rows["D02"].paid_total, rows["D02"].person_times, rows["D02"].members) == (
        Decimal("2000.00"), 1, 1)
    assert sum(u.paid_total for u in city.by_union) == city.paid_total
    district = stats_2026(union=tree["da"], history=history)
    assert district.paid_total == rows["D01"].paid_total
    assert sum(u.paid_total for u in district.by_union) == district.paid_total
    assert {u.code: u.person_times for u in district.by_union} == {"G011": 3, "G012": 1}
    grassroots = stats_2026(union=tree["a1"], history=history)
    assert (grassroots.paid_total, grassroots.members_paid) == (Decimal("41440.00"), 2)
    assert grassroots.max_member_total == Decimal("40000.00")
    assert grassroots.by_union == []


def test_a_payout_paid_later_is_recorded_once(history, users, clock):
    from huzhu.claims.models import Payout
    from huzhu.reports import housekeeping
    from huzhu.reports.models import PaidPayout
    from tests.reports.conftest import _pay

    before = stats_2026(history=history)
    assert PaidPayout.objects.count() == 6
    _pay(users, clock, [history["c6"]], D(2026, 5, 1))
    first = housekeeping.sweep()
    assert first["统计新记录的给付"] == 1 and first["统计预先计算的页面"] > 0
    assert housekeeping.sweep() == {"统计新记录的给付": 0, "统计预先计算的页面": 0}
    after = stats_2026(history=history)
    assert after.paid_total - before.paid_total == Decimal("1500.00")
    assert after.person_times == 6 and after.members_paid == 5
    assert PaidPayout.objects.count() == Payout.objects.filter(state="paid").count() == 7


def test_figures_are_cached_until_a_payout_is_recorded(history, users, clock,
                                                        django_assert_max_num_queries):
    first = stats_2026(history=history)
    with django_assert_max_num_queries(9):  # the refresh (and its 退票 check), no aggregates
        again = stats_2026(history=history)
    assert again.paid_total == first.paid_total
    from tests.reports.conftest import _pay

    _pay(users, clock, [history["c6"]], D(2026, 5, 1))
    assert stats_2026(history=history).paid_total == first.paid_total + Decimal("1500.00")


def test_housekeeping_computes_the_usual_pages_ahead(history, users, clock, tree):
    """After a payout posts, housekeeping computes this year's city and district pages
    into the shared cache: the page then runs no aggregate, and its figures are the ones
    computed afresh."""
    from huzhu.reports import housekeeping, precompute
    from tests.reports.conftest import _pay

    scheme = history["c1"].scheme
    assert [u.code for u in precompute.nodes(scheme)] == [scheme.union.code, "D01", "D02"]
    stats_2026(history=history)  # records the history's payouts
    _pay(users, clock, [history["c6"]], D(2026, 5, 1))
    done = housekeeping.sweep()
    assert done["统计新记录的给付"] == 1
    assert done["统计预先计算的页面"] == 2 * 3  # 2026 and 2025, city and two districts
    fresh = figures.statistics_for(figures.select(None, scheme, start=D(2026, 1, 1),
                                                  end=D(2026, 12, 31), union=tree["da"]),
                                   cached=False)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ran:
        kept = stats_2026(union=tree["da"], history=history)
    assert ran.captured_queries  # the refresh and the cache were read …
    assert not [q for q in ran.captured_queries if "sum(" in q["sql"].lower()]  # … no sums
    assert kept.to_dict() == fresh.to_dict()
    assert kept.paid_total == Decimal("55740.00")  # 54,240 + c6's 1,500
    assert precompute.precompute() == 0  # current: nothing to do
    clock.at(D(2026, 5, 2))
    assert precompute.precompute() == 6  # renewed before the kept figures expire
