"""Enrolment, premiums and the loss ratio of a premium scheme (Ningshan's policy)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huzhu.coverage import enrolment, premiums
from huzhu.coverage.models import PremiumNotice
from huzhu.reports import figures
from tests.coverage.conftest import TODAY, period, premium_scheme  # noqa: F401

D = dt.date


def test_enrolled_covered_premiums_and_loss_ratio(users, units, staff, period, tree):  # noqa: F811
    for key in ("a1", "a2"):
        enrolment.enrol_unit(users["admin_city"], period, units[key], on=TODAY)
    a1 = PremiumNotice.objects.get(unit=units["a1"])  # 4 × 150 = 600 due
    a2 = PremiumNotice.objects.get(unit=units["a2"])  # 2 × 150 = 300
    premiums.register_payment(users["finance_city"], a1.pk, amount=Decimal("320.00"),
                              paid_on=D(2026, 2, 12), bank_reference="B-1")  # covers 2
    premiums.register_payment(users["finance_city"], a2.pk, amount=Decimal("300.00"),
                              paid_on=D(2026, 2, 13), bank_reference="B-2")
    s = figures.statistics(None, period.scheme, start=D(2026, 1, 1), end=D(2026, 12, 31))
    assert (s.enrolled, s.covered, s.premiums) == (6, 4, Decimal("620.00"))
    assert s.loss_ratio == Decimal("0.0") and s.paid_total == Decimal("0.00")
    grassroots = figures.statistics(None, period.scheme, start=D(2026, 1, 1),
                                    end=D(2026, 12, 31), union=tree["a2"])
    assert (grassroots.enrolled, grassroots.covered, grassroots.premiums) == (
        2, 2, Decimal("300.00"))
    before = figures.statistics(None, period.scheme, start=D(2026, 1, 1), end=D(2026, 2, 12))
    assert before.premiums == Decimal("320.00")
    nothing = figures.statistics(None, period.scheme, start=D(2025, 1, 1), end=D(2025, 12, 31))
    assert (nothing.enrolled, nothing.covered, nothing.loss_ratio) == (0, 0, None)
    tiers = [t.label for t in s.by_tier if t.benefit == s.by_tier[0].benefit]
    assert tiers  # Ningshan's own tiers are read from its policy


def test_the_page_of_a_premium_scheme(client, users, units, staff, period):  # noqa: F811
    from django.urls import reverse

    from tests.fixtures import PASSWORD

    enrolment.enrol_unit(users["admin_city"], period, units["a2"], on=TODAY)
    notice = PremiumNotice.objects.get(unit=units["a2"])
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("300.00"),
                              paid_on=D(2026, 2, 13), bank_reference="B-2")
    assert client.login(username="finance_city", password=PASSWORD)
    html = client.get(reverse("reports:statistics"), {"scheme": period.scheme.code,
                                                      "year": "2026"}).content.decode()
    assert 'id="figure-enrolled">2 人次' in html
    assert 'id="figure-premiums">300.00 元' in html
    assert 'id="figure-loss_ratio">0.0%' in html
