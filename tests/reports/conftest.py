"""A small, hand-worked history of Changchun's free scheme, built through the claims
services (intake, workflow, payout batches), with the clock set to each step's day.

Members (tree of tests.fixtures: city → 甲区 (a1, a2), 乙区 (b1)):

==========  =====  ==========  ==========  =========  ========  ===============================
claim       union  member      event       paid on    amount    note
==========  =====  ==========  ==========  =========  ========  ===============================
c0          a1     赵一 m1      2025-06-01  2025-07-01    400.00  20,000 × 2%; a 2025 payout
c1          a1     赵一 m1      2025-11-20  2026-01-15    240.00  12,000 × 2%; event 2025, paid 2026
c2          a1     赵一 m1      2026-03-10  2026-04-30  1,200.00  40,000 × 3%
c3          a1     钱二 m2      2026-03-10  2026-04-30 40,000.00  400,000 × 10%
c4          a2     郑甲 a2x     2026-02-01  2026-04-30 12,800.00  160,000 × 8%; first payout failed
                                           (2026-04-20), paid in a second batch
c5          b1     冯丙 b1m     2026-03-20  2026-04-30  2,000.00  accident, fracture at a major site
c6          a1     孙三 m3      2026-04-01  —           1,500.00  approved, not paid (never counts)
==========  =====  ==========  ==========  =========  ========  ===============================

2026 (paid 2026-01-01 … 2026-12-31): 5 person-times, 4 people, 56,240.00; hospital 4
person-times, 3 people, 54,240.00; accident 1, 1, 2,000.00; above 10,000: 2 (c3, c4) for
52,800.00; largest single 40,000.00; largest member total 40,000.00 (m2; m1 has 1,440.00).
District 甲区: 4 person-times (c1 c2 c3 c4), 3 people, 54,240.00; 乙区: 1, 1, 2,000.00.
Cycle (submitted → paid, days): c1 filed 2025-11-25 → 2026-01-15 = 51; c2, c3 filed
2026-03-15 → 46; c4 filed 2026-02-05 → 84; c5 filed 2026-03-25 → 36: sorted 36 46 46 51 84,
median 46, p90 84.
Tiers (hospital, of 2026): (10,000,20,000] 2%: 1 (c1); (20,000,50,000] 3%: 1 (c2);
(150,000,300,000] 8%: 1 (c4); (300,000,+∞) 10%: 1 (c3); accident 骨折（主要部位）: 1.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from huzhu.claims import intake, payouts
from huzhu.claims.models import Claim, Payout
from huzhu.claims.workflow import apply
from huzhu.coverage import schemes
from huzhu.orgs.models import User
from tests.claims.conftest import add_materials
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401  (fixtures)
from tests.fixtures import PASSWORD

D = dt.date


class Clock:
    """Sets Django's ``now`` and ``localdate`` to noon (Beijing time) of a day."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch

    def at(self, day: dt.date) -> None:
        moment = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 12))
        self.monkeypatch.setattr(timezone, "now", lambda: moment)
        self.monkeypatch.setattr(timezone, "localdate", lambda *a: day)


@pytest.fixture(autouse=True)
def fresh_cache(db):
    """Cached figures are keyed by ids and a version that a rolled-back test reuses."""
    from django.core.cache import cache, caches

    cache.clear()
    caches["reports"].clear()
    yield
    cache.clear()
    caches["reports"].clear()


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def changchun(admin, free_scheme):  # noqa: F811
    for year in (2025, 2026):
        schemes.create_period(admin, free_scheme, name=f"{year}年", start=D(year, 1, 1),
                              end=D(year, 12, 31), premium=Decimal("0"),
                              enrol_from=D(year, 1, 1), enrol_until=D(year, 12, 31))
    return free_scheme


@pytest.fixture
def clerks(users, tree):
    for key in ("a2",):
        users[f"clerk_{key}"] = User.objects.create_user(
            username=f"clerk_{key}", password=PASSWORD, role="clerk", union=tree[key])
    users["reviewer_db"] = User.objects.create_user(
        username="reviewer_db", password=PASSWORD, role="reviewer", union=tree["db"])
    return users


def _approve(users, clock, member, benefit: str, event: dt.date, filed: dt.date,
             **facts) -> Claim:
    clock.at(filed)
    clerk = {"G011": "clerk_a1", "G012": "clerk_a2", "G021": "clerk_b1"}[member.union.code]
    reviewer = "reviewer_db" if member.union.code == "G021" else "reviewer_da"
    offer = next(o for o in intake.offers(member, event) if o.benefit.code == benefit)
    data = {"event_date": event, **facts}
    if benefit == "hospital":
        data.update(admit_date=event - dt.timedelta(days=5), diagnosis="I21.9",
                    invoice_number=f"INV-{member.pk}-{event}")
    claim = intake.file_claim(users[clerk], member, offer, data)
    add_materials(claim, users[clerk])
    apply(users[clerk], claim.pk, "submit")
    claim = Claim.objects.get(pk=claim.pk)
    if claim.state == Claim.State.SUBMITTED:
        apply(users[reviewer], claim.pk, "first_pass")
    claim = Claim.objects.get(pk=claim.pk)
    if claim.state != Claim.State.APPROVED:
        apply(users["admin_city"], claim.pk, "approve")
    return Claim.objects.get(pk=claim.pk)


def _pay(users, clock, claims: list[Claim], day: dt.date, fail: Claim | None = None) -> None:
    clock.at(day)
    batch = payouts.build_batch(users["finance_city"], claims[0].scheme,
                                [c.pk for c in claims])
    if fail is not None:
        payout = Payout.objects.get(batch=batch, claim=fail)
        payouts.mark_failed(users["finance_city"], payout, "账号已销户")
    if batch.payouts.filter(state=Payout.State.PENDING).exists():
        payouts.mark_paid(users["finance_city"], batch, day)


@pytest.fixture
def history(clerks, clock, changchun, staff, make_member):  # noqa: F811
    users = clerks
    for key, account in (("m1", "6222020200112345678"), ("m2", "6222020200118765432"),
                         ("m3", "6222020200110000003"), ("a2x", "6217000010012345678")):
        staff[key].set_bank_account(account)
        staff[key].save()
    b1m = make_member("b1", name="冯丙", birth=D(1979, 9, 9))
    b1m.set_bank_account("6217000010099999999")
    b1m.save()
    oop = Decimal
    c = {}
    c["c0"] = _approve(users, clock, staff["m1"], "hospital", D(2025, 6, 1), D(2025, 6, 5),
                       out_of_pocket=oop("20000.00"))
    _pay(users, clock, [c["c0"]], D(2025, 7, 1))
    c["c1"] = _approve(users, clock, staff["m1"], "hospital", D(2025, 11, 20), D(2025, 11, 25),
                       out_of_pocket=oop("12000.00"))
    _pay(users, clock, [c["c1"]], D(2026, 1, 15))
    c["c4"] = _approve(users, clock, staff["a2x"], "hospital", D(2026, 2, 1), D(2026, 2, 5),
                       out_of_pocket=oop("160000.00"))
    _pay(users, clock, [c["c4"]], D(2026, 4, 20), fail=c["c4"])
    c["c2"] = _approve(users, clock, staff["m1"], "hospital", D(2026, 3, 10), D(2026, 3, 15),
                       out_of_pocket=oop("40000.00"))
    c["c3"] = _approve(users, clock, staff["m2"], "hospital", D(2026, 3, 10), D(2026, 3, 15),
                       out_of_pocket=oop("400000.00"))
    c["c5"] = _approve(users, clock, b1m, "accident", D(2026, 3, 20), D(2026, 3, 25),
                       outcome="fracture", fracture_site="major", work_related=False)
    _pay(users, clock, [c["c2"], c["c3"], c["c4"], c["c5"]], D(2026, 4, 30))
    c["c6"] = _approve(users, clock, staff["m3"], "hospital", D(2026, 4, 1), D(2026, 4, 5),
                       out_of_pocket=oop("50000.00"))
    clock.at(D(2026, 5, 1))
    return {k: Claim.objects.get(pk=v.pk) for k, v in c.items()}
