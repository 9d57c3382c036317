"""The two figures from the settlement feeds: the share paid without an application
(免申即享) and the settled stays no run has evaluated yet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu.claims import payouts
from huzhu.claims.models import Claim
from huzhu.claims.workflow import apply
from huzhu.cli import main
from huzhu.feeds.importing import import_feed
from huzhu.reports import figures
from tests.claims.conftest import changchun, file_hospital  # noqa: F401  (fixtures)
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, run_feed
from tests.feeds.conftest import feed_dir  # noqa: F401

D = dt.date
pytestmark = pytest.mark.django_db


def _pay(users, claim_ids, scheme) -> None:
    finance = users["finance_city"] if "finance_city" in users else users["admin_city"]
    batch = payouts.build_batch(finance, scheme, claim_ids=claim_ids)
    payouts.mark_paid(finance, batch, D(2026, 4, 30))


def test_proactive_share_and_open_stays(users, staff, changchun, feed_dir, file_hospital,  # noqa: F811
                                        capsys, clock):
    clock.at(D(2026, 4, 1))
    for member in (staff["m1"], staff["m2"]):
        member.set_bank_account(f"62220202001122{member.pk:05d}")
        member.save()
    # One stay found in the feed, paid without an application…
    run_feed(feed_file(feed_dir, [member_stay(staff["m1"], "20000.00",
                                              discharge_date="2026-03-01",
                                              admit_date="2026-02-20")]), changchun)
    found = Claim.objects.get(settlement__isnull=False)
    # …and one filed by the clerk.
    filed = file_hospital(staff["m2"], out_of_pocket="40000.00", day=D(2026, 3, 5))
    for claim, filer in ((found, "clerk_a1"), (filed, "clerk_a1")):
        apply(users[filer], claim.pk, "submit")
        apply(users["reviewer_da"], claim.pk, "first_pass")
        apply(users["admin_city"], claim.pk, "approve")
    clock.at(D(2026, 4, 30))
    _pay(users, [found.pk, filed.pk], changchun)
    # A second feed imported but never run: its stay is still open; one discharged in
    # another year is not this year's.
    import_feed(feed_file(feed_dir, [
        member_stay(staff["m3"], "9000.00", discharge_date="2026-03-20",
                    admit_date="2026-03-10"),
        member_stay(staff["m4"], "9000.00", discharge_date="2025-03-20",
                    admit_date="2025-03-10")], name="later.csv"))

    stats = figures.statistics(users["admin_city"], changchun, start=D(2026, 1, 1),
                               end=D(2026, 12, 31))
    assert stats.person_times == 2 and stats.proactive_person_times == 1
    assert stats.proactive_total == Decimal("400.00")  # 20,000 × 2%
    assert stats.proactive_share == Decimal("50.0")
    assert stats.open_settlements == 1
    headlines = {h.key: h.value for h in stats.headlines()}
    assert headlines["proactive_share"] == Decimal("50.0")
    assert headlines["open_settlements"] == 1
    # Another district sees neither.
    other = figures.statistics(users["admin_city"], changchun, start=D(2026, 1, 1),
                               end=D(2026, 12, 31),
                               union=staff["a2x"].union.parent.parent.children.exclude(
                                   pk=staff["m1"].union.parent_id).first())
    assert other.proactive_person_times == 0 and other.open_settlements == 0
    capsys.readouterr()
    assert main(["stats", "--scheme", changchun.code, "--year", "2026", "--json"]) == 0
    import json

    printed = json.loads(capsys.readouterr().out)
    assert printed["proactive_share"] == "50.0" and printed["open_settlements"] == 1
    assert printed["proactive_total"] == "400.00"
