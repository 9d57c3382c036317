"""Periods and enrolment: windows, duplicates, statuses, shares, first-enrolment dates,
mid-period joins, withdrawals — each refusal clear, audited, and changing nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from huzhu.audit.models import AuditEntry
from huzhu.coverage import enrolment, joining, ledger, schemes
from huzhu.coverage.models import Enrolment, PremiumNotice
from huzhu.coverage.refusals import CoverageRefused
from huzhu.members.models import Member
from tests.coverage.conftest import TODAY

D = dt.date


def enrol(user, period, unit, **kw):
    return enrolment.enrol_unit(user, period, unit, on=kw.pop("on", TODAY), **kw)


def test_whole_unit_enrols_its_active_members_and_issues_a_notice(users, units, staff, period):
    outcome = enrol(users["clerk_a1"], period, units["a1"])
    assert (outcome.enrolled, outcome.ineligible, outcome.already) == (4, 2, 0)
    notice = PremiumNotice.objects.get(period=period, unit=units["a1"])
    assert notice.members == 4 and notice.amount_due == Decimal("600.00")
    assert notice.state == "unpaid"
    e = Enrolment.objects.get(member=staff["m1"])
    assert e.coverage_from is None and e.first_enrolled == TODAY  # waits for payment
    assert ledger.summary(period.scheme, period).receivable == Decimal("600.00")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ENROLLED).count() == 1
    again = enrol(users["clerk_a1"], period, units["a1"])
    assert (again.enrolled, again.already) == (0, 4)


def test_enrolling_a_member_twice_is_refused_and_audited(users, units, staff, period):
    enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["m1"].pk])
    with pytest.raises(CoverageRefused, match=r"赵一.*已参加.*不能重复参保"):
        enrol(users["clerk_a1"], period, units["a1"],
              member_ids=[staff["m1"].pk, staff["m2"].pk])
    assert Enrolment.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.COVERAGE_REFUSED).count() == 1


def test_retired_and_left_members_are_refused_unless_the_scheme_allows(users, units, staff,
                                                                       period):
    with pytest.raises(CoverageRefused, match="周退（退休）"):
        enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["retired"].pk])
    period.scheme.allow_retired = True
    period.scheme.save()
    enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["retired"].pk])
    with pytest.raises(CoverageRefused, match="吴离（离会）"):
        enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["left"].pk])


def test_another_unions_unit_and_read_only_roles_are_refused(users, units, staff, period,
                                                             make_member):
    make_member("b1", name="乙会员")
    with pytest.raises(CoverageRefused, match="不在您的管辖范围内"):
        enrol(users["clerk_a1"], period, units["b1"])
    with pytest.raises(CoverageRefused, match="只能查看"):
        enrol(users["auditor_city"], period, units["a1"])
    assert Enrolment.objects.count() == 0


def test_outside_the_window_is_refused(users, units, staff, period):
    with pytest.raises(CoverageRefused, match=r"不在.*参保时间内"):
        enrol(users["clerk_a1"], period, units["a1"], on=D(2025, 12, 1))
    period.scheme.mid_period = "refuse"
    period.scheme.save()
    with pytest.raises(CoverageRefused, match="不接受期中加入"):
        enrol(users["clerk_a1"], period, units["a1"], on=D(2026, 7, 1))


def test_a_mid_period_join_pays_by_months_left(users, units, staff, period):
    outcome = enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["m1"].pk],
                    on=D(2026, 7, 15))
    e = Enrolment.objects.get()
    assert outcome.mid_period and e.premium == Decimal("75.00")  # July–December: 6 of 12
    assert e.first_enrolled == D(2026, 7, 15)


def test_a_closed_period_is_frozen(users, units, staff, period, admin):
    enrol(users["clerk_a1"], period, units["a1"])
    schemes.advance(admin, period)
    schemes.advance(admin, period)
    period.refresh_from_db()
    assert period.closed
    with pytest.raises(CoverageRefused, match="已结束"):
        enrol(users["reviewer_da"], period, units["a2"])
    with pytest.raises(CoverageRefused, match="已结束"):
        schemes.update_period(admin, period, name="改名")
    with pytest.raises(CoverageRefused, match="已结束"):
        enrolment.withdraw(users["clerk_a1"], Enrolment.objects.first())


def test_the_minimum_share_of_a_unit_is_enforced_with_the_numbers(users, units, staff,
                                                                  period):
    period.scheme.min_share = Decimal("0.5")
    period.scheme.save()
    expected = "在职职工 4 人，参保后为 1 人（25.0%），低于本项目要求的 50%；至少需要 2 人参保"
    with pytest.raises(CoverageRefused, match=re.escape(expected)):
        enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["m1"].pk])
    enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["m1"].pk, staff["m2"].pk])
    assert Enrolment.objects.count() == 2


def test_a_womens_plan_counts_female_staff(users, units, staff, period):
    Member.objects.filter(pk__in=[staff["m1"].pk, staff["m2"].pk]).update(gender="F")
    Member.objects.filter(pk__in=[staff["m3"].pk, staff["m4"].pk]).update(gender="M")
    period.scheme.min_share = Decimal("0.8")
    period.scheme.share_of = "female"
    period.scheme.save()
    with pytest.raises(CoverageRefused, match="在职女职工 2 人，参保后为 1 人"):
        enrol(users["clerk_a1"], period, units["a1"],
              member_ids=[staff["m1"].pk, staff["m3"].pk])
    enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["m1"].pk, staff["m2"].pk])


def test_a_free_scheme_needs_no_enrolment(users, units, staff, free_scheme, admin):
    year = schemes.create_period(admin, free_scheme, name="2026年", start=D(2026, 1, 1),
                                 end=D(2026, 12, 31), premium=Decimal("0"),
                                 enrol_from=D(2026, 1, 1), enrol_until=D(2026, 12, 31))
    assert free_scheme.kind == "free"
    with pytest.raises(CoverageRefused, match="免费补贴项目，无需参保"):
        enrol(users["clerk_a1"], year, units["a1"])


def test_renewal_within_30_days_keeps_the_first_enrolment_date(users, units, staff, period,
                                                               admin, premium_scheme):
    from huzhu.coverage import premiums

    enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["m1"].pk, staff["m2"].pk])
    notice = PremiumNotice.objects.get()
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("300.00"),
                              paid_on=TODAY, bank_reference="B-1")
    nxt = schemes.create_period(admin, premium_scheme, name="2027年度", start=D(2027, 1, 1),
                                end=D(2027, 12, 31), premium=Decimal("150.00"),
                                enrol_from=D(2026, 12, 1), enrol_until=D(2027, 3, 31))
    outcome = enrolment.renew(users["clerk_a1"], period, nxt, on=D(2027, 1, 20))
    assert outcome.refused == [] and outcome.enrolled == 2
    renewed = Enrolment.objects.get(member=staff["m1"], period=nxt)
    assert renewed.first_enrolled == Enrolment.objects.get(member=staff["m1"],
                                                           period=period).first_enrolled


def test_a_lapse_restarts_the_first_enrolment_date():
    from huzhu.rules import premiums as rules

    assert rules.first_enrolled(D(2027, 1, 1), D(2026, 12, 31), D(2020, 1, 1)) == D(2020, 1, 1)
    assert rules.first_enrolled(D(2027, 1, 30), D(2026, 12, 31), D(2020, 1, 1)) == D(2020, 1, 1)
    assert rules.first_enrolled(D(2027, 2, 15), D(2026, 12, 31), D(2020, 1, 1)) == D(2027, 2, 15)
    assert rules.first_enrolled(D(2027, 1, 1), None, None) == D(2027, 1, 1)


def test_withdrawing_an_unpaid_enrolment_takes_it_off_the_notice(users, units, staff, period):
    enrol(users["clerk_a1"], period, units["a1"])
    e = Enrolment.objects.get(member=staff["m1"])
    enrolment.withdraw(users["clerk_a1"], e, on=D(2026, 2, 20), reason="调离")
    notice = PremiumNotice.objects.get()
    assert notice.members == 3 and notice.amount_due == Decimal("450.00")
    assert ledger.summary(period.scheme, period).receivable == Decimal("450.00")
    assert Enrolment.objects.get(pk=e.pk).state == "withdrawn"
    assert all(c.ok for c in ledger.check_all())


def test_many_units_at_once_follow_the_same_rules(users, units, staff, period, make_member):
    from huzhu.coverage.bulk_enrolment import enrol_units

    period.scheme.min_share = Decimal("0.5")
    period.scheme.save()
    make_member("b1", name="乙一")
    make_member("b1", name="乙二")
    outcome = enrol_units(users["admin_city"], period, list(units.values()), on=TODAY)
    assert outcome.enrolled == 4 + 2 + 2 and outcome.units == 3 and outcome.refused == []
    assert PremiumNotice.objects.get(unit=units["a1"]).amount_due == Decimal("600.00")
    assert all(c.ok for c in ledger.check_all())
    # again: nothing new, nothing refused; and a unit below the share is listed, not fatal
    again = enrol_units(users["admin_city"], period, list(units.values()), on=TODAY)
    assert again.enrolled == 0
    e = Enrolment.objects.get(member=staff["m1"])
    assert (e.premium, e.first_enrolled, e.coverage_from) == (Decimal("150.00"), TODAY, None)
    selected = {units["a1"].pk: [staff["m1"].pk]}
    Enrolment.objects.filter(unit=units["a1"]).delete()
    PremiumNotice.objects.filter(unit=units["a1"]).update(members=0, amount_due=0)
    partial = enrol_units(users["admin_city"], period, [units["a1"]], on=TODAY,
                          member_ids=selected)
    assert partial.enrolled == 0 and "低于本项目要求的 50%" in partial.refused[0][1]


def _history_of_2025(users, admin, scheme, units, staff):
    """A 2025 period of ``scheme``: a1 enrolled and paid (m2 withdrawn in June, a lapse),
    a2 enrolled and unpaid (no coverage to carry over)."""
    from huzhu.coverage import premiums

    p2025 = schemes.create_period(admin, scheme, name="2025年度", start=D(2025, 1, 1),
                                  end=D(2025, 12, 31), premium=Decimal("150.00"),
                                  enrol_from=D(2025, 1, 1), enrol_until=D(2025, 3, 31))
    for key in ("a1", "a2"):
        enrol(users["admin_city"], p2025, units[key], on=D(2025, 1, 10))
    notice = PremiumNotice.objects.get(period=p2025, unit=units["a1"])
    premiums.register_payment(users["finance_city"], notice.pk, amount=notice.amount_due,
                              paid_on=D(2025, 2, 1), bank_reference=f"B-{scheme.pk}")
    enrolment.withdraw(users["admin_city"], Enrolment.objects.get(
        period=p2025, member=staff["m2"]), on=D(2025, 6, 30))
    return schemes.create_period(admin, scheme, name="2026年度", start=D(2026, 1, 1),
                                 end=D(2026, 12, 31), premium=Decimal("150.00"),
                                 enrol_from=D(2025, 12, 1), enrol_until=D(2026, 3, 31))


def test_many_units_at_once_write_what_one_unit_at_a_time_writes(users, units, staff, admin,
                                                                  tree, make_member):
    """Two identical schemes with the same 2025 history: 2026 enrolled unit by unit in one
    and all at once in the other writes the same rows, notices, ledger and audit."""
    from huzhu.coverage.bulk_enrolment import enrol_units

    make_member("b1", name="乙一")
    make_member("b1", name="乙二", status="retired")
    periods = []
    for code in ("one-by-one", "all-at-once"):
        scheme = schemes.create_scheme(admin, union=tree["city"], policy_name="ningshan-2024",
                                       code=code, min_share=Decimal("0.5"))
        periods.append(_history_of_2025(users, admin, scheme, units, staff))
    single, bulk = periods
    day = D(2026, 1, 20)  # 20 days after 2025 ended: within the renewal grace
    for unit in units.values():
        enrolment.enrol_unit(users["admin_city"], single, unit, on=day)
    mark = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    outcome = enrol_units(users["admin_city"], bulk, list(units.values()), on=day)
    assert (outcome.enrolled, outcome.units, outcome.refused) == (4 + 2 + 1, 3, [])

    def rows(period):
        return sorted(Enrolment.objects.filter(period=period).values_list(
            "member_id", "unit_id", "enrolled_on", "first_enrolled", "coverage_from",
            "coverage_to", "premium", "paid_on", "state", "notice__unit_id", "created_by_id"))

    assert rows(bulk) == rows(single)
    firsts = dict(Enrolment.objects.filter(period=bulk).values_list("member_id",
                                                                    "first_enrolled"))
    assert firsts[staff["m1"].pk] == D(2025, 2, 1)  # paid 2025 coverage carried over
    assert firsts[staff["m2"].pk] == day  # withdrawn in June: a lapse restarts it
    assert firsts[staff["a2x"].pk] == day  # 2025 never paid: no coverage to carry over
    # A unit's enrolments in member order, as payments are allocated in id order.
    for unit in units.values():
        ordered = list(Enrolment.objects.filter(period=bulk, unit=unit).order_by("id")
                       .values_list("member_id", flat=True))
        assert ordered == sorted(ordered)

    def notices(period):
        return sorted(PremiumNotice.objects.filter(period=period).values_list(
            "unit_id", "members", "amount_due", "amount_paid", "state", "due_date"))

    assert notices(bulk) == notices(single)
    for notice in PremiumNotice.objects.filter(period=bulk).select_related("unit"):
        assert notice.number == joining.notice_number(bulk, notice.unit)

    def postings(period):
        found = []
        for e in period.ledger.all():
            notice_id = int(e.reference.split(":")[1])
            found.append((PremiumNotice.objects.get(pk=notice_id).unit_id, e.kind, e.debit,
                          e.credit, e.amount, e.memo, e.booked_on, e.created_by_id))
        return sorted(found)

    assert postings(bulk) == postings(single)
    assert all(c.ok for c in ledger.check_all())

    def audited(entries):
        return sorted((a.object_type, a.object_id, a.union_path, a.changes, a.actor_id)
                      for a in entries.filter(action=AuditEntry.Action.ENROLLED))

    assert str(bulk) == str(single)  # the same scheme and period names: the same changes
    single_entries = audited(AuditEntry.objects.filter(id__lte=mark, changes__period=str(bulk)))
    assert len(single_entries) == 3
    assert audited(AuditEntry.objects.filter(id__gt=mark)) == single_entries


def test_many_units_at_once_refuse_members_someone_else_enrolled_meanwhile(
        users, units, staff, period, monkeypatch):
    """Another clerk enrols a member between the reads and the writes: that chunk is
    refused as a whole (the insert hits the unique constraint), nothing of it stays."""
    from huzhu.coverage import bulk_enrolment

    choose = bulk_enrolment._Plan._choose

    def racing(plan, chunk, outcome):
        chosen = choose(plan, chunk, outcome)
        enrol(users["clerk_a1"], period, units["a1"], member_ids=[staff["m1"].pk])
        return chosen

    monkeypatch.setattr(bulk_enrolment._Plan, "_choose", racing)
    with pytest.raises(CoverageRefused, match="部分会员刚刚已由他人登记参保"):
        bulk_enrolment.enrol_units(users["admin_city"], period, [units["a1"], units["a2"]],
                                   on=TODAY)
    assert list(Enrolment.objects.values_list("member_id", flat=True)) == [staff["m1"].pk]
    assert PremiumNotice.objects.get().members == 1
    assert all(c.ok for c in ledger.check_all())
    assert AuditEntry.objects.filter(action=AuditEntry.Action.COVERAGE_REFUSED).count() == 1


def test_many_units_refuse_a_clerk_outside_their_scope(users, units, staff, period):
    from huzhu.coverage.bulk_enrolment import enrol_units

    outcome = enrol_units(users["clerk_a1"], period, [units["a1"], units["b1"]], on=TODAY)
    assert outcome.enrolled == 4
    assert [(u, r) for u, r in outcome.refused] == [(units["b1"], "该单位不在您的管辖范围内")]


@pytest.mark.parametrize("day", [D(2099, 12, 31), D(1999, 1, 1), D(2027, 1, 1), D(2025, 12, 31)])
def test_a_withdrawal_dated_outside_the_period_or_in_the_future_is_refused(
        users, units, staff, period, day):
    """A withdrawal on 2099-12-31 used to set the cover's end to 2099-12-31."""
    enrol(users["clerk_a1"], period, units["a1"])
    e = Enrolment.objects.get(member=staff["m1"])
    before = (e.coverage_to, e.state, PremiumNotice.objects.get().amount_due)
    with pytest.raises(CoverageRefused, match="退保日期"):
        enrolment.withdraw(users["clerk_a1"], e, on=day)
    e.refresh_from_db()
    assert (e.coverage_to, e.state, PremiumNotice.objects.get().amount_due) == before


def test_a_withdrawal_tomorrow_is_refused(users, units, staff, period, monkeypatch):
    enrol(users["clerk_a1"], period, units["a1"])
    e = Enrolment.objects.get(member=staff["m1"])
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: D(2026, 3, 1))
    with pytest.raises(CoverageRefused, match="晚于今天"):
        enrolment.withdraw(users["clerk_a1"], e, on=D(2026, 3, 2))


def test_a_withdrawal_never_lengthens_cover(users, units, staff, period):
    enrol(users["clerk_a1"], period, units["a1"])
    e = Enrolment.objects.get(member=staff["m1"])
    Enrolment.objects.filter(pk=e.pk).update(coverage_from=D(2026, 1, 1),
                                             coverage_to=D(2026, 2, 1))
    e.refresh_from_db()
    enrolment.withdraw(users["clerk_a1"], e, on=D(2026, 6, 30))
    e.refresh_from_db()
    assert e.coverage_to == D(2026, 2, 1) and e.withdrawn_on == D(2026, 6, 30)
