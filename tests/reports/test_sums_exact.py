"""The statistics add money exactly on SQLite: the recorded payouts hold amounts that a
float sum gets wrong in the last places (0.01, 0.29, 1,196,623.97), and every total,
per benefit, month, union and tier, and the largest member total, is exact to the fen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from huzhu.lib.money import from_fen
from huzhu.reports import figures, paid
from huzhu.reports.models import PaidPayout

D = dt.date
# The five 2026 payouts of the hand-worked history (c1–c5), given amounts a float sum
# reads back with trailing digits: c1 240.00 → 0.01, c2 1,200.00 → 0.29, c3 40,000.00 →
# 1,196,623.97, c4 12,800.00 → 0.07, c5 (accident) 2,000.00 → 0.10.
NEW = {Decimal("240.00"): "0.01", Decimal("1200.00"): "0.29",
       Decimal("40000.00"): "1196623.97", Decimal("12800.00"): "0.07",
       Decimal("2000.00"): "0.10"}


def _restate(history) -> None:
    paid.refresh()
    rows = PaidPayout.objects.filter(paid_on__gte=D(2026, 1, 1))
    assert sorted(r.amount for r in rows) == sorted(NEW)
    table = PaidPayout._meta.db_table
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(f"UPDATE {table} SET amount = %s WHERE payout_id = %s",
                           [NEW[row.amount], row.payout_id])


def test_the_figures_are_exact_to_the_fen(history):
    _restate(history)
    sel = figures.select(None, history["c1"].scheme, start=D(2026, 1, 1), end=D(2026, 12, 31))
    s = figures.statistics_for(sel, refresh=False, cached=False)
    assert str(s.paid_total) == "1196624.44"
    assert str(s.over_10000_total) == "1196623.97" and s.over_10000_count == 1
    assert str(s.max_single) == "1196623.97"
    assert str(s.max_member_total) == "1196623.97"
    by_benefit = {b.code: str(b.paid_total) for b in s.by_benefit}
    assert by_benefit["hospital"] == "1196624.34" and by_benefit["accident"] == "0.10"
    months = {m.month: str(m.paid_total) for m in s.by_month}
    assert months["2026-01"] == "0.01" and months["2026-04"] == "1196624.43"
    unions = {u.name: str(u.paid_total) for u in s.by_union}
    assert unions == {"甲区总工会": "1196624.34", "乙区总工会": "0.10"}
    assert sum((t.paid_total for t in s.by_tier), Decimal("0.00")) == s.paid_total


def test_the_fen_sum_of_many_fen(history):
    _restate(history)
    table = PaidPayout._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {figures._sum('r.amount')} FROM {table} r "
                       "CROSS JOIN (SELECT 1 FROM " + table + " LIMIT 3) x "
                       "WHERE r.paid_on >= %s", [D(2026, 1, 1)])
        (total,) = cursor.fetchone()
    assert str(from_fen(total)) == "3589873.32"  # three times 1,196,624.44
