"""Premium payments (缴费): finance registers a bank transfer against a unit's notice.

The notice row is locked for the registration, a payment can never exceed what is still
owed (a CHECK constraint as well as this code), and the same bank reference on the same
notice is one payment however often the request is sent. Paid money is allocated to the
notice's enrolments in the order they were made; coverage of those starts then.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.coverage import ledger
from huzhu.coverage.joining import notice_state
from huzhu.coverage.models import (
    Account,
    Enrolment,
    LedgerEntry,
    Payment,
    Period,
    PremiumNotice,
    Scheme,
)
from huzhu.coverage.refusals import CoverageRefused, refusals_audited, refuse
from huzhu.lib.money import MoneySum
from huzhu.orgs.models import User
from huzhu.orgs.scope import union_path
from huzhu.rules import premiums as rules
from huzhu.rules.money import FEN, yuan

CHUNK = 900  # ids per IN list: SQLite bounds the parameters of one statement


def _refuse(user: User, notice: PremiumNotice | None, message: str) -> CoverageRefused:
    return CoverageRefused(message, user=user, obj=notice.unit if notice else None,
                           action=AuditEntry.Action.PAYMENT_REFUSED,
                           changes={"notice": notice.number} if notice else {})


@refusals_audited
def register_payment(user: User, notice_id: int, *, amount: Decimal, paid_on: dt.date,
                     bank_reference: str) -> tuple[Payment, bool]:
    """Register a payment; returns (payment, created). A repeat of the same bank
    reference returns the first payment and changes nothing."""
    reference = " ".join(bank_reference.split())[:64]
    with transaction.atomic():
        notice = (PremiumNotice.objects.select_for_update()
                  .select_related("period__scheme", "unit__union").get(pk=notice_id))
        earlier = Payment.objects.filter(notice=notice, bank_reference=reference).first()
        if earlier is not None:
            return earlier, False
        _check(user, notice, amount, paid_on, reference)
        payment = Payment.objects.create(notice=notice, amount=amount, paid_on=paid_on,
                                         bank_reference=reference, registered_by=user)
        notice.amount_paid += amount
        notice.state = notice_state(notice)
        notice.save(update_fields=["amount_paid", "state", "updated_at"])
        covered = allocate(notice, paid_on)
        ledger.post(scheme=notice.period.scheme, period=notice.period,
                    kind=LedgerEntry.Kind.PREMIUM_PAID, debit=Account.BANK,
                    credit=Account.RECEIVABLE, amount=amount, reference=f"payment:{payment.pk}",
                    memo=f"{notice.unit.name} 缴费（{reference}）", user=user, booked_on=paid_on)
        log.record(user, AuditEntry.Action.PAYMENT_REGISTERED, notice.unit,
                   summary=f"登记缴费：{notice.unit.name} {notice.period} {yuan(amount)} 元"
                           f"（流水号 {reference}），{covered} 人开始保障",
                   changes={"notice": notice.number, "amount": str(amount),
                            "paid_on": paid_on.isoformat(), "bank_reference": reference,
                            "outstanding": str(notice.outstanding)})
    return payment, True


def _check(user: User, notice: PremiumNotice, amount: Decimal, paid_on: dt.date,
           reference: str) -> None:
    if not user.has_perm("coverage.register_payments"):
        raise _refuse(user, notice, "只有财务和管理员可以登记缴费")
    prefix = union_path(user)
    if prefix is not None and not notice.unit.union.path.startswith(prefix):
        raise _refuse(user, None, "该缴费通知不在您的管辖范围内")
    if notice.period.closed:
        raise _refuse(user, notice, f"{notice.period}已结束，不能再登记缴费")
    if not reference:
        raise _refuse(user, notice, "请填写银行流水号")
    if amount <= 0 or amount != amount.quantize(FEN):
        raise _refuse(user, notice, "缴费金额应为大于零、最多两位小数的金额")
    if amount > notice.outstanding:
        raise _refuse(user, notice, f"缴费金额 {yuan(amount)} 元超过尚欠金额 "
                                    f"{yuan(notice.outstanding)} 元（应缴 "
                                    f"{yuan(notice.amount_due)}，已缴 {yuan(notice.amount_paid)}）")
    if paid_on > timezone.localdate():
        raise _refuse(user, notice, "到账日期不能晚于今天")


def allocate(notice: PremiumNotice, paid_on: dt.date) -> int:
    """Mark enrolments paid, in enrolment order, as far as the money paid covers them
    (:func:`huzhu.rules.premiums.allocate` decides which); returns how many became paid."""
    enrolments = Enrolment.objects.filter(notice=notice, state=Enrolment.State.ACTIVE)
    spent = enrolments.filter(paid_on__isnull=False).aggregate(s=MoneySum("premium"))["s"] or 0
    unpaid = enrolments.filter(paid_on__isnull=True).order_by("id").values_list(
        "id", "premium", "enrolled_on")
    starts = rules.allocate(notice.amount_paid - spent, unpaid,
                            paid_on=paid_on, period_start=notice.period.start)
    if not starts:
        return 0
    if notice.period.scheme.coverage_start == Scheme.CoverageStart.ON_PAYMENT:
        # Grouped by start day: one UPDATE per distinct day, not one per member.
        by_day: dict[dt.date, list[int]] = {}
        for pk, day in starts.items():
            by_day.setdefault(day, []).append(pk)
        for day, ids in by_day.items():
            for i in range(0, len(ids), CHUNK):
                chunk = Enrolment.objects.filter(pk__in=ids[i:i + CHUNK])
                # A new member's waiting period runs from the day coverage starts; a
                # renewal keeps its earlier first-enrolment date.
                chunk.filter(first_enrolled__gte=F("enrolled_on")).update(first_enrolled=day)
                chunk.update(paid_on=paid_on, coverage_from=day)
    else:
        paid_ids = list(starts)
        for i in range(0, len(paid_ids), CHUNK):
            Enrolment.objects.filter(pk__in=paid_ids[i:i + CHUNK]).update(paid_on=paid_on)
    return len(starts)


@refusals_audited
def fund_subsidy(user: User, scheme: Scheme, period: Period, *, amount: Decimal,
                 booked_on: dt.date, reference: str, memo: str = "") -> LedgerEntry | None:
    """A free scheme's money comes from the union's budget: finance at the scheme's own
    node or above books the transfer, dated within the period and not after today."""
    if not user.has_perm("coverage.register_payments"):
        raise refuse(user, "只有财务和管理员可以登记补贴拨款")
    prefix = union_path(user)
    if prefix is not None and not scheme.union.path.startswith(prefix):
        raise refuse(user, f"补贴拨款由{scheme.union.name}或其上级工会的财务登记")
    if scheme.kind != Scheme.Kind.FREE:
        raise refuse(user, f"{scheme.name}是缴费互助项目，收入来自会员缴费，不能登记补贴拨款")
    if period.scheme_id != scheme.pk:
        raise refuse(user, f"{period.name}不属于{scheme.name}")
    if amount <= 0:
        raise refuse(user, "拨款金额应大于零")
    if not period.start <= booked_on <= period.end:
        raise refuse(user, f"到账日期 {booked_on:%Y-%m-%d} 不在{period.name}内"
                           f"（{period.start:%Y-%m-%d} 至 {period.end:%Y-%m-%d}）")
    if booked_on > timezone.localdate():
        raise refuse(user, f"到账日期 {booked_on:%Y-%m-%d} 晚于今天：只能登记已到账的拨款")
    entry = ledger.post(scheme=scheme, period=period, kind=LedgerEntry.Kind.SUBSIDY,
                        debit=Account.BANK, credit=Account.SUBSIDY_INCOME, amount=amount,
                        reference=f"subsidy:{' '.join(reference.split())[:50]}",
                        memo=memo or f"{scheme.name} 补贴拨款", user=user, booked_on=booked_on)
    if entry is not None:
        log.record(user, AuditEntry.Action.SUBSIDY_FUNDED, None, union_path=scheme.union.path,
                   summary=f"{scheme.name} {period.name} 补贴拨款 {yuan(amount)} 元（{reference}）",
                   changes={"amount": str(amount), "reference": reference})
    return entry
