"""The fund ledger (互助金账): posting, balances, the loss ratio, and the check that the
ledger agrees with premiums and payouts.

Every posting is one row with a debit account, a credit account and a positive amount:
an entry cannot be unbalanced, and the database refuses to change or delete one
(triggers in migration 0002). Postings are idempotent by (kind, reference): posting the
same payment twice is one entry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from huzhu.coverage.models import (
    Account,
    LedgerEntry,
    LedgerReversal,
    Payment,
    Period,
    PremiumNotice,
    Scheme,
)
from huzhu.lib.money import MoneySum
from huzhu.rules import money
from huzhu.rules.money import yuan

ZERO = Decimal("0.00")
ByPeriod = defaultdict[int | None, Decimal]  # amounts by period id (None: no period)
# Debit-normal accounts (assets and expenses) show debit - credit; the rest credit - debit.
DEBIT_NORMAL = {Account.BANK, Account.RECEIVABLE, Account.BENEFIT_EXPENSE}
# Entries booked by hand, and so reversed by hand (coverage.reversals); the others are the
# ledger's side of notices, payments and paid claims, which the checks compare with them.
REVERSIBLE_BY_HAND = frozenset({LedgerEntry.Kind.SUBSIDY, LedgerEntry.Kind.ADJUSTMENT})


def post(*, scheme: Scheme, period: Period | None, kind: str, debit: str, credit: str,
         amount: Decimal, reference: str, memo: str = "", user: Any = None,
         booked_on: dt.date | None = None) -> LedgerEntry | None:
    """Append one entry; None if (kind, reference) was posted already."""
    if amount <= 0:
        raise ValueError("记账金额必须大于零")
    try:
        with transaction.atomic():
            return LedgerEntry.objects.create(
                scheme=scheme, period=period, kind=kind, debit=debit, credit=credit,
                amount=amount, reference=reference[:64], memo=memo[:200],
                created_by=user if getattr(user, "pk", None) else None,
                # The day in Beijing, not the server's: an entry made at 07:00 on
                # 1 January belongs to the new year, whatever the machine's zone.
                booked_on=booked_on or timezone.localdate())
    except IntegrityError:
        if LedgerEntry.objects.filter(kind=kind, reference=reference[:64]).exists():
            return None
        raise


def balances(scheme: Scheme, period: Period | None = None) -> dict[str, Decimal]:
    """Balance of every account, for a scheme (and one period of it)."""
    qs = LedgerEntry.objects.filter(scheme=scheme)
    if period is not None:
        qs = qs.filter(period=period)
    debits = dict(qs.values_list("debit").annotate(s=MoneySum("amount")).order_by())
    credits = dict(qs.values_list("credit").annotate(s=MoneySum("amount")).order_by())
    result = {}
    for account in Account.values:
        d, c = debits.get(account, ZERO), credits.get(account, ZERO)
        result[account] = (d - c) if account in DEBIT_NORMAL else (c - d)
    return result


# Shown next to the figure on the fund pages and on 统计 (reports.figures.DEFINITIONS):
# one definition, so the two pages give the same percentage for the same dates.
LOSS_RATIO_DEFINITION = ("赔付率 = 付款日期在期内的给付金额 ÷ 到账日期在期内的已收互助金"
                         "（不含补贴拨款），百分比保留一位小数")


@dataclass(frozen=True)
class FundSummary:
    premium_income: Decimal
    subsidy_income: Decimal
    payouts: Decimal
    receivable: Decimal
    bank: Decimal
    paid_in_dates: Decimal = ZERO
    """Payouts whose payment date falls in the dates (the period's, or any for a scheme)."""
    received_in_dates: Decimal = ZERO
    """Premium payments whose payment date falls in the same dates."""

    @property
    def loss_ratio(self) -> Decimal | None:
        """赔付率 by :data:`LOSS_RATIO_DEFINITION`: cash paid out over premiums received,
        both by payment date — the rule 统计 uses (reports.figures), so a period of one
        calendar year reads the same there and here. Not accrued income: a notice issued
        but unpaid would lower the ratio here and not there."""
        return money.loss_ratio(self.paid_in_dates, self.received_in_dates)

    @property
    def fund_balance(self) -> Decimal:
        return self.premium_income + self.subsidy_income - self.payouts


def summary(scheme: Scheme, period: Period | None = None) -> FundSummary:
    b = balances(scheme, period)
    paid_in, received_in = _cash_in_dates(scheme, period)
    return FundSummary(b[Account.PREMIUM_INCOME], b[Account.SUBSIDY_INCOME],
                       b[Account.BENEFIT_EXPENSE], b[Account.RECEIVABLE], b[Account.BANK],
                       paid_in, received_in)


def _cash_in_dates(scheme: Scheme, period: Period | None) -> tuple[Decimal, Decimal]:
    """(payouts paid, premiums received) of ``scheme`` with a payment date in ``period``'s
    dates (any date without one), whichever period the claim or notice belongs to."""
    payouts = LedgerEntry.objects.filter(scheme=scheme, kind=LedgerEntry.Kind.PAYOUT)
    payments = Payment.objects.filter(notice__period__scheme=scheme)
    if period is not None:
        payouts = payouts.filter(booked_on__gte=period.start, booked_on__lte=period.end)
        payments = payments.filter(paid_on__gte=period.start, paid_on__lte=period.end)
    # A bank's 退票 posts the payout's mirror (借 银行存款 / 贷 互助金给付) under the same
    # kind: it takes the money back out of what was paid, never adds to it.
    paid = payouts.filter(debit=Account.BENEFIT_EXPENSE).aggregate(s=MoneySum("amount"))["s"]
    returned = payouts.filter(debit=Account.BANK).aggregate(s=MoneySum("amount"))["s"]
    return ((paid or ZERO) - (returned or ZERO),
            payments.aggregate(s=MoneySum("amount"))["s"] or ZERO)


# ---------------------------------------------------------------- huzhu ledger check

@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_all() -> list[Check]:
    """Every check, in order; the first failing one is the discrepancy to report."""
    return [*_entries_balanced(), *_append_only(), *_premiums_agree(), *_payouts_agree(),
            *_reversals_mirror()]


def _entries_balanced() -> list[Check]:
    bad = LedgerEntry.objects.exclude(amount__gt=0).count()
    same = LedgerEntry.objects.filter(debit=F("credit")).count()
    unknown = LedgerEntry.objects.exclude(debit__in=Account.values).count() + \
        LedgerEntry.objects.exclude(credit__in=Account.values).count()
    total = LedgerEntry.objects.count()
    debits = LedgerEntry.objects.aggregate(s=MoneySum("amount"))["s"] or ZERO
    problems = bad + same + unknown
    return [Check("每笔分录借贷平衡", problems == 0,
                  f"{total} 笔分录，借方合计 = 贷方合计 = {yuan(debits)}"
                  if problems == 0 else f"{problems} 笔分录金额非正、借贷同科目或科目未知")]


def _append_only() -> list[Check]:
    names = _trigger_names()
    missing = [t for t in ("coverage_ledger_no_update", "coverage_ledger_no_delete")
               if t not in names]
    detail = f"缺少触发器：{'、'.join(missing)}" if missing else "更新和删除均被数据库拒绝"
    return [Check("互助金账只能追加（数据库触发器）", not missing, detail)]


def _trigger_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {row[0] for row in cursor.fetchall()}


def _premiums_agree() -> list[Check]:
    """Per period: receivable posted = notices' amount due; bank from premiums = payments."""
    checks = []
    due = _by_period(PremiumNotice.objects.values_list("period_id")
                     .annotate(s=MoneySum("amount_due")).order_by())
    paid = _by_period(Payment.objects.values_list("notice__period_id")
                      .annotate(s=MoneySum("amount")).order_by())
    notice_paid = _by_period(PremiumNotice.objects.values_list("period_id")
                             .annotate(s=MoneySum("amount_paid")).order_by())
    posted_due, posted_paid = _posted_premiums()
    for period_id in sorted(set(due) | set(paid) | set(posted_due) | set(posted_paid)):
        label = _period_label(period_id)
        if posted_due[period_id] != due[period_id]:
            checks.append(Check(f"{label} 应收互助金", False,
                                f"账上 {yuan(posted_due[period_id])}，"
                                f"缴费通知合计 {yuan(due[period_id])}"))
        if not (posted_paid[period_id] == paid[period_id] == notice_paid[period_id]):
            checks.append(Check(f"{label} 互助金到账", False,
                                f"账上 {yuan(posted_paid[period_id])}，缴费记录合计 "
                                f"{yuan(paid[period_id])}，通知单已缴合计 "
                                f"{yuan(notice_paid[period_id])}"))
    if not checks:
        checks.append(Check("互助金账与缴费通知、缴费记录一致", True,
                            f"{len(due)} 个互助期，应收 {yuan(sum(due.values(), ZERO))}，"
                            f"到账 {yuan(sum(paid.values(), ZERO))}"))
    return checks


def _posted_premiums() -> tuple[ByPeriod, ByPeriod]:
    due: ByPeriod = defaultdict(lambda: ZERO)
    paid: ByPeriod = defaultdict(lambda: ZERO)
    rows = LedgerEntry.objects.filter(kind__in=[LedgerEntry.Kind.PREMIUM_DUE,
                                                LedgerEntry.Kind.PREMIUM_PAID])
    for kind, period_id, debit, amount in rows.values_list(
            "kind", "period_id", "debit", "amount"):
        if kind == LedgerEntry.Kind.PREMIUM_DUE:
            due[period_id] += amount if debit == Account.RECEIVABLE else -amount
        else:
            paid[period_id] += amount if debit == Account.BANK else -amount
    return due, paid


# What the claims app says it paid, by period: registered by the claims app in its
# ``AppConfig.ready()`` (coverage sits below claims and does not import it).
PAID_TOTALS: list[Callable[[], dict[int | None, Decimal]]] = []


def register_paid_totals(totals: Callable[[], dict[int | None, Decimal]]) -> None:
    """Let ``huzhu ledger check`` compare the payout entries with ``totals()``."""
    if totals not in PAID_TOTALS:
        PAID_TOTALS.append(totals)


def _payouts_agree() -> list[Check]:
    """Payouts posted agree with what the claims app says it paid (when it is there)."""
    if not PAID_TOTALS:
        entries = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYOUT).count()
        return [Check("给付分录", True, f"{entries} 笔（理赔功能尚未启用）")]

    checks = []
    paid: ByPeriod = defaultdict(lambda: ZERO)
    for totals in PAID_TOTALS:
        for key, amount in totals().items():
            paid[key] += amount
    posted: ByPeriod = defaultdict(lambda: ZERO)
    for period_id, debit, amount in LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.PAYOUT).values_list("period_id", "debit", "amount"):
        posted[period_id] += amount if debit == Account.BENEFIT_EXPENSE else -amount
    for key in sorted(set(paid) | set(posted), key=str):
        if paid.get(key, ZERO) != posted[key]:
            checks.append(Check(f"{_period_label(key)} 给付", False,
                                f"账上 {yuan(posted[key])}，已给付理赔合计 "
                                f"{yuan(paid.get(key, ZERO))}"))
    return checks or [Check("互助金账与已给付理赔一致", True,
                            f"给付合计 {yuan(sum(posted.values(), ZERO))}")]


def _reversals_mirror() -> list[Check]:
    """Each reversing entry mirrors the entry it names (accounts swapped, the same amount,
    scheme and period), that entry was one finance may reverse by hand, and an approved
    request stands behind it: a reversal cannot hide a premium or a payout, nor appear
    without a second person's approval."""
    mirrors = list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL))
    ids = [_reversed_id(m.reference) for m in mirrors]
    originals = LedgerEntry.objects.in_bulk([i for i in ids if i is not None])
    approved = set(LedgerReversal.objects.filter(state=LedgerReversal.State.DONE)
                   .values_list("reversing_entry_id", flat=True))
    bad = []
    for mirror, original_id in zip(mirrors, ids, strict=True):
        original = originals.get(original_id) if original_id is not None else None
        if (original is None or original.kind not in REVERSIBLE_BY_HAND
                or (mirror.debit, mirror.credit) != (original.credit, original.debit)
                or (mirror.amount, mirror.scheme_id, mirror.period_id)
                != (original.amount, original.scheme_id, original.period_id)
                or mirror.pk not in approved):
            bad.append(str(mirror.pk))
    if bad:
        return [Check("冲正分录与原分录对应", False,
                      f"第 {'、'.join(bad)} 号冲正分录与所冲正的分录不对应或未经审批")]
    return [Check("冲正分录与原分录对应", True,
                  f"{len(mirrors)} 笔冲正分录，均经第二人审批并与原分录借贷相反、金额相同")]


def _reversed_id(reference: str) -> int | None:
    tail = reference.removeprefix("reverse:")
    return int(tail) if tail != reference and tail.isdigit() else None


def _by_period(rows: Any) -> ByPeriod:
    out: ByPeriod = defaultdict(lambda: ZERO)
    for key, value in rows:
        out[key] = value or ZERO
    return out


def _period_label(period_id: int | None) -> str:
    period = Period.objects.select_related("scheme").filter(pk=period_id).first()
    return str(period) if period else f"互助期 #{period_id}"
