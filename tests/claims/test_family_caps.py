"""A family cap (``per: family``) holds in the claims path as in the batch: the given
claims of every member of the family count, and the family is locked while one is
approved. Under guangdong-covid-2020 two members of one family each had four relatives'
claims approved: 40,000.00 under a 20,000 family cap."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from huzhu.claims import computation, intake
from huzhu.claims.models import Claim
from huzhu.claims.workflow import ClaimRefused, apply
from huzhu.coverage import schemes
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from huzhu.rules import evaluate
from huzhu.rules.columns import arrow_schema

D = dt.date
DAY = D(2020, 3, 1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def guangdong(admin, tree):
    scheme = schemes.create_scheme(admin, union=tree["city"], policy_name="guangdong-covid-2020",
                                   code="gd-test")
    schemes.create_period(admin, scheme, name="2020年", start=D(2020, 1, 1),
                          end=D(2020, 12, 31), premium=Decimal("0"), enrol_from=D(2020, 1, 1),
                          enrol_until=D(2020, 12, 31))
    return scheme


@pytest.fixture
def family(staff):
    """m1 heads a family; m3 is linked to it. Both are medical staff."""
    head, other = staff["m1"], staff["m3"]
    Member.objects.filter(pk__in=[head.pk, other.pk]).update(occupation="medical")
    Member.objects.filter(pk=other.pk).update(family_head=head)
    return [Member.objects.get(pk=head.pk), Member.objects.get(pk=other.pk)]


def given(users, member, benefit, n, **facts) -> Claim:
    offer = next(o for o in intake.offers(member, DAY) if o.benefit.code == benefit)
    claim = intake.file_claim(users["clerk_a1"], member, offer, {"event_date": DAY, **facts})
    row = computation.compute(claim)
    computation.record(claim, row)
    Claim.objects.filter(pk=claim.pk).update(
        state=Claim.State.APPROVED, computed=row["payable"], final=row["payable"],
        computation=claim.computation)
    return Claim.objects.get(pk=claim.pk)


def relative(n: int) -> dict:
    return {"relation": "parent", "co_resident": True, "relative_name": f"亲属{n}",
            "relative_id_number": make_id_number("220102", D(1950, 1, 1), n), "on_duty": True}


def test_a_family_cap_counts_every_member_of_the_family(users, guangdong, family):
    head, other = family
    given(users, head, "covid_staff", 0, on_duty=True)
    given(users, other, "covid_staff", 0, on_duty=True)
    for n in range(1, 4):  # the head's three relatives: 15,000.00
        assert given(users, head, "covid_relative", n, **relative(n)).final == Decimal("5000.00")
    # The other member's first relative: 5,000.00 fills the family's 20,000.00 ...
    assert given(users, other, "covid_relative", 4, **relative(4)).final == Decimal("5000.00")
    # ... and the next relative of either member is given nothing.
    offer = next(o for o in intake.offers(other, DAY) if o.benefit.code == "covid_relative")
    claim = intake.file_claim(users["clerk_a1"], other, offer, {"event_date": DAY,
                                                                **relative(5)})
    row = computation.compute(claim)
    assert row["payable"] == Decimal("0.00") and row["cap"] == "cap_per_family"
    total = sum(c.final for c in Claim.objects.filter(benefit="covid_relative",
                                                      state=Claim.State.APPROVED))
    assert total == Decimal("20000.00")


def test_the_claims_path_gives_the_batchs_answer(users, guangdong, family):
    """The same events through the engine as one batch pay the family 20,000.00 too."""
    head, other = family
    given(users, head, "covid_staff", 0, on_duty=True)
    given(users, other, "covid_staff", 0, on_duty=True)
    for n, who in enumerate([head, head, other, other, other], start=1):
        given(users, who, "covid_relative", n, **relative(n))
    one_by_one = sum(c.final for c in Claim.objects.filter(benefit="covid_relative"))
    members = pa.Table.from_pylist([computation.member_row(m) for m in family],
                                   schema=arrow_schema("members"))
    events = pa.Table.from_pylist(
        [computation.event_row(c) for c in Claim.objects.order_by("event_date", "number")],
        schema=arrow_schema("events"))
    batch = evaluate(guangdong.policy(), members, events)
    by_event = {r["event_id"]: r["payable"] for r in batch.to_pylist()}
    relatives = sum(by_event[c.number] for c in Claim.objects.filter(benefit="covid_relative"))
    assert one_by_one == relatives == Decimal("20000.00")


def test_approving_past_the_family_cap_is_refused(users, guangdong, family):
    head, other = family
    given(users, head, "covid_staff", 0, on_duty=True)
    given(users, other, "covid_staff", 0, on_duty=True)
    for n in range(1, 5):
        given(users, head, "covid_relative", n, **relative(n))
    offer = next(o for o in intake.offers(other, DAY) if o.benefit.code == "covid_relative")
    claim = intake.file_claim(users["clerk_a1"], other, offer, {"event_date": DAY,
                                                                **relative(9)})
    Claim.objects.filter(pk=claim.pk).update(state=Claim.State.SECOND_REVIEW,
                                             first_reviewed_by=users["reviewer_da"])
    with pytest.raises(ClaimRefused, match=r"本次可给付 0\.00 元"):
        apply(users["admin_city"], claim.pk, "approve", amount="", note="")
    assert Claim.objects.get(pk=claim.pk).state == Claim.State.SECOND_REVIEW


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_two_relatives_of_one_family_at_once_keep_the_cap(
        users, tree, units, guangdong, monkeypatch):
    """Each race: a family with 15,000.00 of relatives' relief given, and one relative's
    claim of each of its two members waiting for the second review. Two reviewers approve
    them at the same moment: the family lock lets one have the last 5,000.00."""
    import threading
    import time

    from django.db import connections

    read_prior = computation.prior_rows

    def slow_prior(claim, *args):
        rows = read_prior(claim, *args)
        time.sleep(0.01)  # widen the read-then-write window the lock must close
        return rows

    monkeypatch.setattr(computation, "prior_rows", slow_prior)
    races = []
    for i in range(12):
        head = Member(name=f"家{i}甲", unit=units["a1"], union=units["a1"].union,
                      birth_date=D(1980, 1, 1), gender="M", status="active",
                      occupation="medical")
        head.set_id_number(make_id_number("220102", D(1980, 1, 1), 100 + 2 * i))
        head.save()
        other = Member(name=f"家{i}乙", unit=units["a1"], union=units["a1"].union,
                       birth_date=D(1982, 1, 1), gender="F", status="active",
                       occupation="medical", family_head=head)
        other.set_id_number(make_id_number("220102", D(1982, 1, 1), 101 + 2 * i))
        other.save()
        given(users, head, "covid_staff", 0, on_duty=True)
        given(users, other, "covid_staff", 0, on_duty=True)
        for n in range(3):
            given(users, head, "covid_relative", n, **relative(30 * i + n))
        pair = []
        for who, n in ((head, 7), (other, 8)):
            offer = next(o for o in intake.offers(who, DAY) if o.benefit.code == "covid_relative")
            claim = intake.file_claim(users["clerk_a1"], who, offer,
                                      {"event_date": DAY, **relative(30 * i + n)})
            Claim.objects.filter(pk=claim.pk).update(state=Claim.State.SECOND_REVIEW,
                                                     first_reviewed_by=users["reviewer_da"])
            pair.append(claim.pk)
        races.append((head, pair))
    second = users["auditor_city"]
    second.role = "reviewer"
    second.save()
    barrier = threading.Barrier(2)

    def reviewer(user, side: int) -> None:
        try:
            for _, pair in races:
                barrier.wait()
                try:
                    apply(user, pair[side], "approve")
                except ClaimRefused:
                    pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reviewer, args=(u, i))
               for i, u in enumerate((users["admin_city"], second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for head, _ in races:
        members = [head.pk, *Member.objects.filter(family_head=head).values_list("pk", flat=True)]
        total = sum(c.final for c in Claim.objects.filter(
            member_id__in=members, benefit="covid_relative", state=Claim.State.APPROVED))
        assert total == Decimal("20000.00"), head.name


# The relative's relief and the staff member's own claim on the same day (issue 20): a
# batch pays the relative (the staff event is "on or before", and every event of a batch
# is an input, paid or not); one claim at a time refused it while the staff member's claim
# was not yet approved (the relative's claim, filed first, was reviewed first).

def filed(users, member, benefit, state, **facts) -> Claim:
    offer = next(o for o in intake.offers(member, DAY) if o.benefit.code == benefit)
    claim = intake.file_claim(users["clerk_a1"], member, offer, {"event_date": DAY, **facts})
    Claim.objects.filter(pk=claim.pk).update(state=state)
    return Claim.objects.get(pk=claim.pk)


def batch_amounts(policy, members, claims) -> dict[str, Decimal]:
    """The engine's batch over the same members and events: every claim an input."""
    members = pa.Table.from_pylist([computation.member_row(m) for m in members],
                                   schema=arrow_schema("members"))
    events = pa.Table.from_pylist([computation.event_row(c) for c in claims],
                                  schema=arrow_schema("events"))
    return {r["event_id"]: r["payable"] for r in evaluate(policy, members, events).to_pylist()}


def test_a_relative_on_the_staff_members_day_is_paid_as_the_batch_pays(
        users, guangdong, family):
    head, _ = family
    mine = filed(users, head, "covid_relative", Claim.State.SUBMITTED, **relative(1))
    staff_claim = filed(users, head, "covid_staff", Claim.State.SUBMITTED, on_duty=True)
    assert mine.pk < staff_claim.pk  # the relative's claim sorts first
    row = computation.compute(mine)
    batch = batch_amounts(guangdong.policy(), [head], [mine, staff_claim])
    assert row["payable"] == batch[mine.number] == Decimal("5000.00")
    # The staff member's claim under review is no payout: it uses none of its own cap.
    assert computation.compute(staff_claim)["payable"] == Decimal("30000.00")


def test_approving_the_relative_before_the_staff_member_gives_the_batchs_amount(
        users, guangdong, family):
    head, _ = family
    mine = filed(users, head, "covid_relative", Claim.State.SECOND_REVIEW, **relative(1))
    Claim.objects.filter(pk=mine.pk).update(first_reviewed_by=users["reviewer_da"])
    filed(users, head, "covid_staff", Claim.State.SUBMITTED, on_duty=True)
    approved = apply(users["admin_city"], mine.pk, "approve", amount="", note="")
    assert approved.state == Claim.State.APPROVED and approved.final == Decimal("5000.00")


def test_a_staff_claim_rejected_as_off_duty_still_proves_the_infection(
        users, guangdong, family):
    """Decision: a rejected staff claim proves the infection (the batch says so: the
    event is an input whether or not it pays), unless it was rejected as 材料不实."""
    head, _ = family
    staff_claim = filed(users, head, "covid_staff", Claim.State.REJECTED, on_duty=False)
    Claim.objects.filter(pk=staff_claim.pk).update(
        reject_code=Claim.RejectCode.NOT_ELIGIBLE, reject_text="非因公感染")
    mine = filed(users, head, "covid_relative", Claim.State.SUBMITTED, **relative(1))
    batch = batch_amounts(guangdong.policy(), [head], [staff_claim, mine])
    assert batch[staff_claim.number] == Decimal("0.00")
    assert computation.compute(mine)["payable"] == batch[mine.number] == Decimal("5000.00")


@pytest.mark.parametrize("state, code", [
    (Claim.State.REJECTED, Claim.RejectCode.FALSE_MATERIAL),
    (Claim.State.WITHDRAWN, ""),
    (Claim.State.DRAFT, ""),
])
def test_a_false_withdrawn_or_unsubmitted_staff_claim_proves_nothing(
        users, guangdong, family, state, code):
    head, _ = family
    staff_claim = filed(users, head, "covid_staff", state, on_duty=True)
    Claim.objects.filter(pk=staff_claim.pk).update(reject_code=code)
    mine = filed(users, head, "covid_relative", Claim.State.SUBMITTED, **relative(1))
    row = computation.compute(mine)
    assert row["payable"] == Decimal("0.00")
    assert row["reason_message"] == ("医护或疾控人员本人尚无确诊感染记录（亲属救助须本人先确诊，"
                                     "日期不晚于亲属确诊日）")


def test_a_staff_claim_after_the_relatives_diagnosis_proves_nothing(users, guangdong, family):
    """"On or before": the staff member's diagnosis a day after the relative's does not
    count, in a batch or here."""
    head, _ = family
    offer = next(o for o in intake.offers(head, DAY + dt.timedelta(days=1))
                 if o.benefit.code == "covid_staff")
    later = intake.file_claim(users["clerk_a1"], head, offer,
                              {"event_date": DAY + dt.timedelta(days=1), "on_duty": True})
    Claim.objects.filter(pk=later.pk).update(state=Claim.State.SUBMITTED)
    mine = filed(users, head, "covid_relative", Claim.State.SUBMITTED, **relative(1))
    batch = batch_amounts(guangdong.policy(), [head], [mine, Claim.objects.get(pk=later.pk)])
    assert computation.compute(mine)["payable"] == batch[mine.number] == Decimal("0.00")
