"""Premium arithmetic without a database (huzhu.rules.premiums): pro-rata premiums, the
first-enrolment date, the unit share, and how a payment is allocated."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huzhu.rules import premiums

D = dt.date
START, END = D(2026, 1, 1), D(2026, 12, 31)


def test_pro_rata_counts_the_month_of_joining_and_rounds_half_up():
    assert premiums.premium_for(Decimal("150.00"), period_start=START, period_end=END,
                                joined=D(2026, 7, 15), pro_rata=True) == Decimal("75.00")
    # 100 × 5 / 12 = 41.666… → 41.67
    assert premiums.premium_for(Decimal("100.00"), period_start=START, period_end=END,
                                joined=D(2026, 8, 31), pro_rata=True) == Decimal("41.67")
    # 0.30 × 1 / 12 = 0.025 → 0.03 (half-up, where half-even would say 0.02)
    assert premiums.premium_for(Decimal("0.30"), period_start=START, period_end=END,
                                joined=D(2026, 12, 1), pro_rata=True) == Decimal("0.03")
    assert premiums.premium_for(Decimal("150.00"), period_start=START, period_end=END,
                                joined=D(2026, 7, 15), pro_rata=False) == Decimal("150.00")


def test_a_renewal_within_the_grace_keeps_the_first_enrolment_date():
    first = D(2020, 1, 1)
    assert premiums.first_enrolled(D(2027, 1, 31), END, first) == first
    assert premiums.first_enrolled(D(2027, 2, 15), END, first) == D(2027, 2, 15)
    assert premiums.first_enrolled(D(2027, 1, 1), None, None) == D(2027, 1, 1)


def test_the_share_refusal_says_how_many_must_join_and_reads_the_percent_half_up():
    assert premiums.share_problem(enrolled=5, staff=10, min_share=Decimal("0.5"),
                                  whom="在职职工") is None
    text = premiums.share_problem(enrolled=1, staff=16, min_share=Decimal("0.5"),
                                  whom="在职职工")
    # 1/16 = 6.25% reads 6.3 (half-up, as every percent people read)
    assert text == ("本单位在职职工 16 人，参保后为 1 人（6.3%），低于本项目要求的 50%；"
                    "至少需要 8 人参保")


def test_a_payment_pays_whole_premiums_in_enrolment_order_and_stops_at_the_first_it_cannot():
    unpaid = [(1, Decimal("150.00"), D(2026, 1, 5)), (2, Decimal("150.00"), D(2026, 3, 2)),
              (3, Decimal("75.00"), D(2026, 7, 1)), (4, Decimal("10.00"), D(2026, 7, 1))]
    starts = premiums.allocate(Decimal("310.00"), unpaid, paid_on=D(2026, 2, 1),
                               period_start=START)
    # 150 + 150 = 300; the 75 after them does not fit in 10, and the 10 behind it waits
    assert starts == {1: D(2026, 2, 1), 2: D(2026, 3, 2)}
    assert premiums.allocate(Decimal("0"), unpaid, paid_on=D(2026, 2, 1),
                             period_start=START) == {}
    # a payment before the period starts: coverage from the period's first day
    assert premiums.allocate(Decimal("150.00"), unpaid[:1], paid_on=D(2025, 12, 20),
                             period_start=START) == {1: D(2026, 1, 5)}


def test_notice_state_by_its_amounts():
    assert premiums.notice_state(Decimal("300.00"), Decimal("0.00")) == "unpaid"
    assert premiums.notice_state(Decimal("300.00"), Decimal("0.01")) == "partial"
    assert premiums.notice_state(Decimal("300.00"), Decimal("300.00")) == "paid"
    assert premiums.notice_state(Decimal("0.00"), Decimal("0.00")) == "paid"
