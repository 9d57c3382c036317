"""The money audit (``huzhu audit money``) names each kind of damage of issue 20, planted
straight through the ORM (past every service's rule), and passes on a history made by
the services. ``huzhu ledger check`` passed after every one of these."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu import cli
from huzhu.claims import computation, money_audit, payouts
from huzhu.claims.models import Claim, Payout
from huzhu.claims.workflow import apply
from huzhu.coverage.models import Enrolment, LedgerEntry, Period
from huzhu.members.models import Member
from tests.claims.conftest import TODAY

D = dt.date
pytestmark = pytest.mark.django_db


def approved(users, claim: Claim) -> Claim:
    """Through the services: submitted, both reviews."""
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    if Claim.objects.get(pk=claim.pk).state == Claim.State.SECOND_REVIEW:
        apply(users["admin_city"], claim.pk, "approve")
    return Claim.objects.get(pk=claim.pk)


def findings(name: str | None = None) -> list[str]:
    checks = money_audit.run()
    return [text for c in checks if name is None or c.name == name for text in c.findings]


def test_a_history_made_by_the_services_passes(users, staff, file_hospital, changchun):
    staff["m1"].set_bank_account("6222020200112233445")
    staff["m1"].save()
    a = approved(users, file_hospital(staff["m1"], out_of_pocket="30000.00",
                                      day=D(2026, 4, 5)))
    b = approved(users, file_hospital(staff["m1"], out_of_pocket="90000.00",
                                      day=D(2026, 4, 20)))
    batch = payouts.build_batch(users["finance_city"], changchun, [a.pk, b.pk])
    payouts.mark_paid(users["finance_city"], batch, TODAY)
    assert Claim.objects.filter(state=Claim.State.PAID).count() == 2
    checks = money_audit.run()
    assert [c.name for c in checks if not c.ok] == [], [c.findings for c in checks]


def test_an_amount_raised_behind_the_services_back_is_named(users, staff, file_hospital):
    claim = approved(users, file_hospital(staff["m1"], out_of_pocket="12000.00",
                                          day=D(2026, 4, 10)))
    allowed = claim.final
    Claim.objects.filter(pk=claim.pk).update(computed=allowed + 1000, final=allowed + 1000)
    found = findings("给付金额不超过政策允许")
    assert len(found) == 1
    assert f"理赔 {claim.number}" in found[0]
    assert f"已给付 {allowed + 1000:,.2f} 元，按全部给付记录政策最多允许 {allowed:,.2f} 元" \
        in found[0]


def test_a_yearly_cap_paid_twice_over_is_named(users, staff, file_hospital):
    """Two large stays each given in full: together above the member's yearly cap."""
    first = approved(users, file_hospital(staff["m1"], out_of_pocket="900000.00",
                                          day=D(2026, 4, 5)))
    second = file_hospital(staff["m1"], out_of_pocket="900000.00", day=D(2026, 4, 20))
    # Computed alone (as if the first did not exist), and given: the cap paid twice.
    Claim.objects.filter(pk=second.pk).update(state=Claim.State.APPROVED,
                                              computed=first.final, final=first.final)
    found = findings("给付金额不超过政策允许")
    assert any(f"理赔 {second.number}" in text and "最多允许 0.00 元" in text
               for text in found), found


def test_a_family_cap_paid_per_member_is_named(users, staff, changchun, admin, tree):
    """Guangdong's relatives' relief: 20,000.00 a family. Four relatives of each of two
    members given 5,000.00 each behind the services' back: 40,000.00 for one family."""
    from huzhu.claims import intake
    from huzhu.coverage import schemes
    from huzhu.members.idcard import make_id_number

    day = D(2020, 3, 1)
    scheme = schemes.create_scheme(admin, union=tree["city"],
                                   policy_name="guangdong-covid-2020", code="gd-audit")
    schemes.create_period(admin, scheme, name="2020年", start=D(2020, 1, 1),
                          end=D(2020, 12, 31), premium=Decimal("0"), enrol_from=D(2020, 1, 1),
                          enrol_until=D(2020, 12, 31))
    head, other = staff["m1"], staff["m3"]
    Member.objects.filter(pk__in=[head.pk, other.pk]).update(occupation="medical")
    Member.objects.filter(pk=other.pk).update(family_head=head)
    head, other = Member.objects.get(pk=head.pk), Member.objects.get(pk=other.pk)

    def give(member, benefit, **facts) -> Claim:
        offer = next(o for o in intake.offers(member, day) if o.benefit.code == benefit)
        claim = intake.file_claim(users["clerk_a1"], member, offer,
                                  {"event_date": day, **facts})
        # Each member's claims computed as if the family were one member each: the bug.
        row = computation.compute(claim)
        Claim.objects.filter(pk=claim.pk).update(
            state=Claim.State.APPROVED, computed=row["raw_amount"] or row["payable"],
            final=row["raw_amount"] or row["payable"])
        return Claim.objects.get(pk=claim.pk)

    give(head, "covid_staff", on_duty=True)
    give(other, "covid_staff", on_duty=True)
    for n in range(1, 9):
        give(head if n <= 4 else other, "covid_relative", relation="parent", co_resident=True,
             relative_name=f"亲属{n}", on_duty=True,
             relative_id_number=make_id_number("220102", D(1950, 1, 1), n))
    relatives = Claim.objects.filter(benefit="covid_relative")
    assert sum(c.final for c in relatives) == Decimal("40000.00")
    found = findings("给付金额不超过政策允许")
    named = {c.number for c in relatives if any(f"理赔 {c.number}" in t for t in found)}
    # At least the four past the family's 20,000.00 are named, each of the second member.
    assert len(named) >= 4
    assert named & {c.number for c in relatives.filter(member=other)}


def test_the_same_invoice_given_twice_is_named_unless_a_second_person_said_why(
        users, staff, file_hospital):
    a = file_hospital(staff["m1"], day=D(2026, 3, 10), invoice_number="F-9")
    b = file_hospital(staff["m1"], day=D(2026, 4, 10), invoice_number="F-9")
    Claim.objects.filter(pk__in=[a.pk, b.pk]).update(state=Claim.State.PAID)
    found = findings("同一住院、结算记录或发票只给付一次")
    assert found == [f"理赔 {a.number} 与 {b.number} 都已给付：同一发票号 F-9，且无人确认非重复"]
    Claim.objects.filter(pk=b.pk).update(duplicate_override_by=users["reviewer_da"],
                                         duplicate_override_reason="医院重开发票")
    assert findings("同一住院、结算记录或发票只给付一次") == []


def test_the_same_stay_given_twice_is_named(users, staff, file_hospital):
    a = file_hospital(staff["m1"], day=D(2026, 3, 10))  # 03-05 → 03-10
    b = file_hospital(staff["m1"], day=D(2026, 3, 12), admit_date=D(2026, 3, 8))
    Claim.objects.filter(pk__in=[a.pk, b.pk]).update(state=Claim.State.APPROVED)
    assert findings("同一住院、结算记录或发票只给付一次") == [
        f"理赔 {a.number} 与 {b.number} 都已给付：同一保障项目住院期间重叠，且无人确认非重复"]
    # A rejected twin is no payment.
    Claim.objects.filter(pk=a.pk).update(state=Claim.State.REJECTED)
    assert findings("同一住院、结算记录或发票只给付一次") == []


def test_more_days_than_the_stay_is_named(users, staff, file_hospital):
    claim = file_hospital(staff["m1"], day=D(2026, 3, 10))  # admitted 03-05: 5 days
    Claim.objects.filter(pk=claim.pk).update(state=Claim.State.APPROVED, days=25)
    assert findings("理赔事实与日期一致") == [
        f"理赔 {claim.number} 填报住院 25 天，入院 2026-03-05 至出院 2026-03-10 只有 5 天"]


def test_an_event_outside_its_period_is_named(users, staff, file_hospital):
    claim = file_hospital(staff["m1"], day=D(2026, 3, 10))
    Claim.objects.filter(pk=claim.pk).update(state=Claim.State.APPROVED,
                                             event_date=D(2027, 1, 5))
    found = findings("理赔事实与日期一致")
    assert any(f"理赔 {claim.number} 的事件日期 2027-01-05 不在其互助期" in t for t in found)


def test_a_payment_backdated_to_1999_or_of_another_amount_is_named(users, staff,
                                                                    file_hospital, changchun):
    staff["m1"].set_bank_account("6222020200112233445")
    staff["m1"].save()
    claim = approved(users, file_hospital(staff["m1"], day=D(2026, 4, 10)))
    batch = payouts.build_batch(users["finance_city"], changchun, [claim.pk])
    payouts.mark_paid(users["finance_city"], batch, TODAY)
    assert findings("付款与核定金额、日期一致") == []
    Payout.objects.filter(claim=claim).update(paid_on=D(1999, 1, 1))
    assert findings("付款与核定金额、日期一致") == [
        f"理赔 {claim.number} 的付款日期 1999-01-01 不在批次 {batch.number} 创建"
        f"（{TODAY}）至今天（{TODAY}）之间"]
    Payout.objects.filter(claim=claim).update(paid_on=TODAY, amount=claim.final + 1)
    assert findings("付款与核定金额、日期一致") == [
        f"理赔 {claim.number} 付款 {claim.final + 1:,.2f} 元，核定金额为 {claim.final:,.2f} 元"]


def test_ledger_entries_dated_after_today_or_outside_the_period_are_named(changchun, admin):
    period = Period.objects.get(scheme=changchun)
    for booked, memo in ((D(2099, 1, 1), "未来"), (D(2025, 6, 1), "上一期")):
        LedgerEntry.objects.create(scheme=changchun, period=period, booked_on=booked,
                                   kind=LedgerEntry.Kind.SUBSIDY, debit="bank",
                                   credit="subsidy_income", amount=Decimal("1000000.00"),
                                   reference=f"plant:{memo}", created_by=admin)
    found = findings("互助金账日期")
    assert len(found) == 2
    assert "记账日期 2099-01-01 晚于今天（2026-05-01）" in found[0]
    assert "补贴拨款 1,000,000.00 元" in found[0]
    assert "记账日期 2025-06-01 不在其互助期内" in found[1]


def test_cover_that_outlasts_its_period_is_named(staff, premium_scheme, period, admin):
    from huzhu.coverage import enrolment

    enrolment.enrol_unit(admin, period, staff["m1"].unit, member_ids=[staff["m1"].pk])
    Enrolment.objects.filter(member=staff["m1"], period=period).update(coverage_from=period.start,
                                             coverage_to=D(2099, 12, 31))
    found = findings("保障期不超出互助期")
    assert len(found) == 1 and "至 2099-12-31 超出互助期" in found[0]


def test_the_command_exits_1_naming_the_damage_and_0_when_clean(users, staff, file_hospital,
                                                                capsys):
    claim = approved(users, file_hospital(staff["m1"], day=D(2026, 4, 10)))
    assert cli.main(["audit", "money"]) == 0
    assert "核查通过：共 6 项" in capsys.readouterr().out
    Claim.objects.filter(pk=claim.pk).update(days=99)
    assert cli.main(["audit", "money"]) == 1
    out = capsys.readouterr().out
    assert "[不符 1 处] 理赔事实与日期一致" in out and f"理赔 {claim.number} 填报住院 99 天" in out
    assert "核查未通过：共 1 处问题" in out
