"""The batch (免申即享): a feed's stays through the engine as one batch, proactive claims
whose amounts equal the claims app's own computation, every row accounted for, reruns
and overlapping feeds that claim nothing twice, stays already claimed left alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu.claims import computation, intake
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.feeds.importing import import_feed
from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.feeds.proactive import run as batch
from huzhu.feeds.proactive.status import open_settlements
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, outcomes, run_feed
from tests.feeds.conftest import outsider, stay

pytestmark = pytest.mark.django_db
D = dt.date
P = StayOutcome.Outcome


@pytest.fixture
def city_feed(feed_dir, staff):  # noqa: F811
    rows = [
        member_stay(staff["m1"], "7000.00"),       # 1.5% → 105.00
        member_stay(staff["m2"], "4000.00"),       # below the 5,000 threshold
        member_stay(staff["m3"], "152000.00"),     # 8% → 12,160.00 (the seed's example)
        member_stay(staff["retired"], "9000.00"),  # not in service
        stay(outsider(1)),                         # not a member
        member_stay(staff["m4"], "8000.00", discharge_date="2026-02-01"),  # before admission
    ]
    return feed_file(feed_dir, rows)


def test_a_feed_becomes_proactive_claims_with_the_engines_amounts(city_feed, free_scheme):  # noqa: F811
    result = run_feed(city_feed, free_scheme)
    run = result.run
    assert run.status == BatchRun.Status.DONE
    got = outcomes(run)
    assert [(r, b, o) for r, b, o, _, _ in got] == [
        (2, "hospital", P.PROPOSED), (3, "hospital", P.INELIGIBLE), (4, "hospital", P.PROPOSED),
        (5, "hospital", P.INELIGIBLE), (6, "", P.UNMATCHED), (7, "", P.INVALID)]
    assert got[0][3] == Decimal("105.00") and got[2][3] == Decimal("12160.00")
    assert got[1][4] == "below_threshold" and got[3][4] == "status_not_eligible"
    assert run.counts == {"proposed": 2, "ineligible": 2, "unmatched": 1, "invalid": 1}
    assert sum(run.counts.values()) >= run.feed.rows == 6
    assert run.proposed_amount == Decimal("12265.00")

    claims = list(Claim.objects.filter(settlement__isnull=False).order_by("computed"))
    assert len(claims) == 2 and result.created == 2
    for claim in claims:
        assert claim.state == Claim.State.PROACTIVE and claim.source == Claim.Source.PROACTIVE
        assert claim.number == f"LP2026{claim.pk:07d}"
        assert claim.event_date == claim.settlement.discharge_date == D(2026, 3, 10)
        assert claim.out_of_pocket == claim.settlement.out_of_pocket
        # The claims app, one claim at a time, computes the same money to the fen.
        alone = computation.compute(claim)
        assert alone["payable"] == claim.computed
        assert claim.computation["payable"] == str(claim.computed)
        assert claim.policy_hash == free_scheme.policy().content_hash
        assert ClaimEvent.objects.get(claim=claim).to_state == Claim.State.PROACTIVE
        # The settlement proves the stay; only the bank card (none in the registry) is left.
        assert claim.missing_materials == ["bank_card"]
    assert StayOutcome.objects.get(run=run, row=2).claim.member.name == "赵一"


def test_rerun_and_overlapping_feed_claim_nothing_twice(city_feed, feed_dir, free_scheme,  # noqa: F811
                                                        staff):  # noqa: F811
    first = run_feed(city_feed, free_scheme).run
    again = run_feed(city_feed, free_scheme).run
    assert Claim.objects.count() == 2
    assert again.counts == {"already_claimed": 2, "ineligible": 2, "unmatched": 1,
                            "invalid": 1}
    reasons = dict(StayOutcome.objects.filter(run=again, outcome=P.ALREADY_CLAIMED)
                   .values_list("row", "reason_text"))
    number = StayOutcome.objects.get(run=first, row=2).claim.number
    assert reasons[2] == f"已有理赔 {number}（免申即享待审核）"
    # A later feed repeats two stays and brings a new one.
    import csv

    with city_feed.open(encoding="utf-8") as fh:
        old = list(csv.reader(fh))
    header, repeated = old[0], old[1:3]
    new = member_stay(staff["a2x"], "12000.00")
    later = feed_dir / "later.csv"
    from tests.feeds.conftest import csv_text

    later.write_text(",".join(header) + "\n" + "\n".join(",".join(r) for r in repeated) + "\n"
                     + csv_text([new]).split("\n", 1)[1], encoding="utf-8")
    third = run_feed(later, free_scheme).run
    assert third.counts == {"already_claimed": 1, "ineligible": 1, "proposed": 1}
    assert Claim.objects.count() == 3
    assert Claim.objects.get(member=staff["a2x"]).computed == Decimal("240.00")


def test_a_stay_already_filed_by_a_clerk_is_not_claimed_again(city_feed, free_scheme, staff,  # noqa: F811
                                                               users, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a: D(2026, 4, 1))
    offer = next(o for o in intake.offers(staff["m1"], D(2026, 3, 10))
                 if o.benefit.code == "hospital")
    filed = intake.file_claim(users["clerk_a1"], staff["m1"], offer, {
        "event_date": D(2026, 3, 10), "admit_date": D(2026, 3, 1),
        "out_of_pocket": Decimal("7000.00")})
    run = run_feed(city_feed, free_scheme).run
    row = StayOutcome.objects.get(run=run, row=2)
    assert row.outcome == P.ALREADY_CLAIMED and row.claim_id == filed.pk
    assert not Claim.objects.filter(member=staff["m1"], settlement__isnull=False).exists()
    assert run.counts["proposed"] == 1


def test_pending_proactive_claims_consume_the_cap_and_paid_ones_count_as_prior(
        feed_dir, free_scheme, staff):  # noqa: F811
    """Two stays of one member in a year: 90,000 is capped at the yearly 50,000, so the
    later stay gets nothing — in one batch, and again when the first claim is paid."""
    m = staff["m1"]
    rows = [member_stay(m, "900000.00"),
            member_stay(m, "100000.00", admit_date="2026-05-01", discharge_date="2026-05-09")]
    run = run_feed(feed_file(feed_dir, rows), free_scheme).run
    got = outcomes(run)
    assert got[0][2:4] == (P.PROPOSED, Decimal("50000.00"))
    assert got[1][2:] == (P.INELIGIBLE, Decimal("0.00"), "cap_per_year")
    claim = Claim.objects.get(settlement__isnull=False)
    Claim.objects.filter(pk=claim.pk).update(state=Claim.State.PAID, final=claim.computed)
    third = member_stay(m, "20000.00", admit_date="2026-07-01", discharge_date="2026-07-05")
    later = run_feed(feed_file(feed_dir, [third], "later.csv"), free_scheme).run
    assert outcomes(later)[0][2:] == (P.INELIGIBLE, Decimal("0.00"), "cap_per_year")


def test_open_settlements_are_those_no_run_has_evaluated(city_feed, free_scheme, admin):  # noqa: F811
    import_feed(city_feed, valid_only=True)
    assert open_settlements(admin).count() == 6 - 1  # the invalid row is not a stay
    run_feed(city_feed, free_scheme)
    # The stay of a non-member stays open: a member registered later makes it one to run.
    left = list(open_settlements(admin, free_scheme))
    assert len(left) == 1 and left[0].member_id is None


def test_a_scheme_without_hospital_benefits_is_refused(city_feed, admin, tree):  # noqa: F811
    from huzhu.coverage import schemes

    covid = schemes.create_scheme(admin, union=tree["city"], policy_name="guangdong-covid-2020")
    feed = import_feed(city_feed, valid_only=True).feed
    with pytest.raises(batch.RunRefused, match="没有可按医保结算数据测算的项目"):
        batch.start_run(feed, covid)


def test_a_proactive_claim_goes_through_review_and_approval(city_feed, free_scheme, staff,  # noqa: F811
                                                            users):
    from huzhu.claims.workflow import ClaimRefused, allowed, apply

    staff["m1"].set_bank_account("6222020200112233445")
    staff["m1"].save()
    run_feed(city_feed, free_scheme)
    claim = Claim.objects.get(member=staff["m1"], settlement__isnull=False)
    assert claim.missing_materials == []  # the registry has the account
    assert "submit" in [t.name for t in allowed(users["clerk_a1"], claim)]
    assert "reject" in [t.name for t in allowed(users["reviewer_da"], claim)]
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    claim = apply(users["admin_city"], claim.pk, "approve")
    assert claim.state == Claim.State.APPROVED and claim.final == Decimal("105.00")
    # Without a bank account the bank card is still needed before review.
    other = Claim.objects.get(member=staff["m3"], settlement__isnull=False)
    with pytest.raises(ClaimRefused, match="银行卡"):
        apply(users["clerk_a1"], other.pk, "submit")
