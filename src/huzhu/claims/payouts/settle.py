"""Settling a batch: finance marks it paid once the bank has done the transfer (each
payout posted to the fund ledger, its claim paid, the member told), or single payouts
failed with the bank's reason (the claim goes back to approved, for a later batch).

A claim is paid at most once: the database says so (a partial unique index on
``Payout``). Every step runs in one transaction with the batch row locked, so two
finance users confirming the same batch at once, or a retried request, pay each payout
once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import workflow
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.claims.payouts.access import locked_batch, refusals_audited, require_pay
from huzhu.claims.payouts.writes import move, record_step
from huzhu.claims.workflow import ClaimRefused
from huzhu.coverage import ledger
from huzhu.coverage.models import Account, LedgerEntry
from huzhu.lib.money import MoneySum
from huzhu.orgs.models import User
from huzhu.rules.money import to_fen, yuan

S = Claim.State
ZERO = Decimal("0.00")


@refusals_audited
def mark_paid(user: User, batch: PayoutBatch, paid_on: dt.date) -> int:
    """Every pending payout of the batch → paid on ``paid_on``: its claim → paid, one
    ledger entry each (Dr 互助金给付 / Cr 银行存款, reference ``payout:<id>``), the SMS
    to the member. Returns how many were paid now: a second call (a retried request, a
    colleague's click) finds nothing pending and pays nothing."""
    require_pay(user, workflow.TRANSITIONS["pay"].label)
    if paid_on > timezone.localdate():
        raise ClaimRefused("付款日期不能晚于今天")
    with transaction.atomic():
        batch = locked_batch(user, batch)
        built = timezone.localtime(batch.created_at).date()
        if paid_on < built:
            # A payment before its batch existed would move the payouts into another
            # period's or year's statistics (a batch was once marked paid on 1999-01-01).
            raise ClaimRefused(f"付款日期 {paid_on:%Y-%m-%d} 早于批次 {batch.number} 的建立日期"
                               f" {built:%Y-%m-%d}：请填写银行实际付款的日期")
        pending = list(batch.payouts.filter(state=Payout.State.PENDING).select_related(
            "claim__member__union", "claim__period").order_by("pk"))
        if not pending:
            return 0
        for p in pending:
            # One scheme per batch: not its row (and policy text) joined ten thousand times.
            p.claim.scheme = batch.scheme
        for p in pending:
            problem = workflow.why_not(user, p.claim, "pay")
            if problem:
                raise ClaimRefused(f"理赔 {p.claim.number}：{problem}")
        now = timezone.now()
        for p in pending:
            _post(user, batch, p, paid_on)
        paid = batch.payouts.filter(state=Payout.State.PENDING).update(
            state=Payout.State.PAID, paid_on=paid_on, updated_at=now)
        moved = move([p.claim_id for p in pending], S.IN_BATCH, state=S.PAID, paid_at=now,
                     updated_at=now)
        if paid != len(pending) or moved != len(pending):
            raise ClaimRefused("给付与理赔状态不一致，未做任何改动，请联系管理员")
        claims = [p.claim for p in pending]
        for claim in claims:
            claim.state, claim.paid_at = S.PAID, now
        record_step(user, claims, "pay", S.IN_BATCH, S.PAID,
                    f"批次 {batch.number}，付款日期 {paid_on:%Y-%m-%d}")
        total = sum((p.amount for p in pending), ZERO)
        closed = close_if_done(batch, now)
        log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
                   summary=f"给付批次 {batch.number} 确认已付款：{paid} 笔，合计 {yuan(total)} 元，"
                           f"付款日期 {paid_on:%Y-%m-%d}" + ("；批次已完成" if closed else ""),
                   changes={"count": paid, "total": str(total), "paid_on": paid_on.isoformat()})
    return paid


def _post(user: User, batch: PayoutBatch, payout: Payout, paid_on: dt.date) -> None:
    claim = payout.claim
    ledger.post(scheme=claim.scheme, period=claim.period, kind=LedgerEntry.Kind.PAYOUT,
                debit=Account.BENEFIT_EXPENSE, credit=Account.BANK, amount=payout.amount,
                reference=f"payout:{payout.pk}", user=user, booked_on=paid_on,
                memo=f"给付 {batch.number} {claim.number} {claim.member.name} {claim.benefit_name}")


def close_if_done(batch: PayoutBatch, now: dt.datetime) -> bool:
    if batch.payouts.filter(state=Payout.State.PENDING).exists():
        return False
    batch.state, batch.closed_at = PayoutBatch.State.CLOSED, now
    batch.save(update_fields=["state", "closed_at"])
    return True


@refusals_audited
def mark_failed(user: User, payout: Payout, reason: str) -> Payout:
    """The bank returned ``payout``: it is failed with the bank's reason and its claim
    goes back to approved, to be paid in a later batch. It never reaches the ledger.
    Marking an already failed payout again changes nothing."""
    require_pay(user, "标记付款失败")
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise ClaimRefused("请填写银行退回的原因")
    with transaction.atomic():
        batch = locked_batch(user, payout.batch)
        payout = (Payout.objects.select_related("claim__member__union")
                  .get(pk=payout.pk, batch=batch))
        if payout.state == Payout.State.FAILED:
            return payout
        if payout.state == Payout.State.PAID:
            raise ClaimRefused("该笔给付已确认付款，不能再标记为付款失败")
        claim = payout.claim
        problem = workflow.why_not(user, claim, "fail")
        if problem:
            raise ClaimRefused(f"理赔 {claim.number}：{problem}")
        now = timezone.now()
        payout.state, payout.failure_reason = Payout.State.FAILED, reason
        payout.save(update_fields=["state", "failure_reason", "updated_at"])
        move([claim.pk], S.IN_BATCH, state=S.APPROVED, updated_at=now)
        claim.state = S.APPROVED
        record_step(user, [claim], "fail", S.IN_BATCH, S.APPROVED,
                    f"批次 {batch.number} 付款失败：{reason}")
        closed = close_if_done(batch, now)
        log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
                   summary=f"给付批次 {batch.number} 中理赔 {claim.number}（{claim.member.name}）"
                           f"付款失败，{yuan(payout.amount)} 元退回待给付：{reason}"
                           + ("；批次已完成" if closed else ""),
                   changes={"payout": payout.pk, "claim": claim.number,
                            "amount": str(payout.amount), "reason": reason})
    return payout


# ---------------------------------------------------------------- the batch's numbers

@dataclass(frozen=True)
class BatchTotals:
    count: int
    total: Decimal
    pending: int
    paid: int
    failed: int
    paid_total: Decimal
    failed_total: Decimal = ZERO
    returned: int = 0
    returned_total: Decimal = ZERO
    pending_total: Decimal = ZERO


def batch_totals(batch: PayoutBatch) -> BatchTotals:
    """Count and total of the payouts that are or will be paid (failed and returned ones
    apart), and of each state."""
    by_state = {row["state"]: (row["n"], to_fen(row["t"] or ZERO)) for row in batch.payouts
                .values("state").annotate(n=Count("pk"), t=MoneySum("amount")).order_by()}
    pending, paid, failed, returned = (by_state.get(s, (0, ZERO))
                                       for s in Payout.State.values)
    return BatchTotals(pending[0] + paid[0], pending[1] + paid[1], pending[0], paid[0],
                       failed[0], paid[1], failed[1], returned[0], returned[1], pending[1])
