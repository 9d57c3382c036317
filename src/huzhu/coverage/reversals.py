"""Reversing (冲正) a mistaken ledger entry, approved by a second person.

The ledger is append-only: a wrong entry stays, and its correction is a new entry with
the debit and credit swapped, the same amount, scheme and period, booked today. Finance
at the scheme's node or above asks for it with a reason; another finance user (never
the requester) approves, which posts the mirror, or rejects it, after which it may be
asked again.

Only entries booked by hand can be reversed by hand: subsidy income and adjustments.
Premium and payout entries are the ledger's side of a notice, a payment or a paid
claim; ``huzhu ledger check`` compares them with those records, so a hand reversal
would make the ledger disagree with them. A reversing entry is not reversed again.

Twice is impossible however often approval is clicked: the request row is locked, its
state moves from pending only once (a conditional UPDATE), and the mirror's reference
``reverse:<id>`` is unique by the ledger's (kind, reference) constraint.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.coverage import ledger
from huzhu.coverage.models import LedgerEntry, LedgerReversal
from huzhu.coverage.refusals import CoverageRefused
from huzhu.orgs.models import User
from huzhu.orgs.scope import union_path
from huzhu.rules.money import yuan

K = LedgerEntry.Kind
S = LedgerReversal.State
REVERSIBLE = ledger.REVERSIBLE_BY_HAND
# Why an entry of another kind is not reversed by hand, and what to use instead.
NOT_BY_HAND: dict[str, str] = {
    K.PREMIUM_DUE: "应收互助金分录由参保登记和退保记账，须与缴费通知一致，不能手工冲正；"
                   "参保有误请办理退保",
    K.PREMIUM_PAID: "互助金到账分录由缴费登记记账，须与缴费记录一致，不能手工冲正；"
                    "缴费有误请在缴费通知上按缴费流程更正",
    K.PAYOUT: "给付分录由理赔给付批次记账，须与已给付的理赔一致，不能手工冲正；"
              "银行退回的款项请在给付批次中核对银行回盘文件（付款失败或退票）",
    K.REVERSAL: "冲正分录不能再冲正；如冲正有误，请重新登记正确的分录",
}
REASON_MAX = 200


def _refuse(user: User, message: str, entry_id: int | None = None) -> CoverageRefused:
    return CoverageRefused(message, user=user, action=AuditEntry.Action.REVERSAL_REFUSED,
                           changes={"entry": entry_id} if entry_id else {})


refusals_audited = log.refusals_audited(AuditEntry.Action.REVERSAL_REFUSED)


def can_reverse(user: User, entry: LedgerEntry) -> bool:
    """Whether ``user`` may ask to reverse ``entry`` (the page offers the button then)."""
    return (user.has_perm("coverage.register_payments") and _within(user, entry)
            and entry.kind in REVERSIBLE)


def can_decide(user: User, reversal: LedgerReversal) -> bool:
    """Whether ``user`` may approve or reject ``reversal`` (not its requester)."""
    return (reversal.state == S.PENDING and user.pk != reversal.requested_by_id
            and user.has_perm("coverage.register_payments") and _within(user, reversal.entry))


def _within(user: User, entry: LedgerEntry) -> bool:
    prefix = union_path(user)
    return prefix is None or entry.scheme.union.path.startswith(prefix)


def _check_finance(user: User, entry: LedgerEntry) -> None:
    if not user.has_perm("coverage.register_payments"):
        raise _refuse(user, "只有财务和管理员可以办理冲正", entry.pk)
    if not _within(user, entry):
        raise _refuse(user, f"{entry.scheme.name}的冲正由{entry.scheme.union.name}"
                            f"或其上级工会的财务办理", entry.pk)


def _check_entry(user: User, entry: LedgerEntry) -> None:
    if entry.kind not in REVERSIBLE:
        raise _refuse(user, f"第 {entry.pk} 号分录（{entry.get_kind_display()}）："
                            f"{NOT_BY_HAND[entry.kind]}", entry.pk)
    if entry.period is not None and entry.period.closed:
        raise _refuse(user, f"{entry.period.name}已结束，其分录不能再冲正", entry.pk)


def _describe(entry: LedgerEntry) -> str:
    return (f"{entry.scheme.name} 第 {entry.pk} 号分录（{entry.get_kind_display()} "
            f"{yuan(entry.amount)} 元，{entry.booked_on:%Y-%m-%d}）")


def _entry(user: User, entry_id: int) -> LedgerEntry:
    entry = (LedgerEntry.objects.select_related("scheme__union", "period")
             .filter(pk=entry_id).first())
    if entry is None:
        raise _refuse(user, f"没有第 {entry_id} 号分录")
    return entry


@refusals_audited
def request_reversal(user: User, entry_id: int, *, reason: str) -> LedgerReversal:
    """Ask to reverse entry ``entry_id`` with ``reason``; a pending request waits for a
    second finance user's decision."""
    entry = _entry(user, entry_id)
    _check_finance(user, entry)
    _check_entry(user, entry)
    reason = " ".join((reason or "").split())
    if not reason:
        raise _refuse(user, "请填写冲正原因", entry.pk)
    if len(reason) > REASON_MAX:
        raise _refuse(user, f"冲正原因最多 {REASON_MAX} 个字", entry.pk)
    live = entry.reversals.filter(state__in=[S.PENDING, S.DONE]).first()
    if live is not None:
        raise _refuse(user, _already(live), entry.pk)
    try:
        with transaction.atomic():
            reversal = LedgerReversal.objects.create(entry=entry, reason=reason,
                                                     requested_by=user)
            log.record(user, AuditEntry.Action.REVERSAL_REQUESTED, reversal,
                       union_path=entry.scheme.union.path,
                       summary=f"申请冲正{_describe(entry)}：{reason}",
                       changes={"entry": entry.pk, "kind": entry.get_kind_display(),
                                "amount": yuan(entry.amount, grouped=False),
                                "reason": reason})
    except IntegrityError:
        # Another request for this entry was made at the same moment (the partial
        # unique constraint coverage_reversal_once).
        live = entry.reversals.filter(state__in=[S.PENDING, S.DONE]).first()
        raise _refuse(user, _already(live) if live else "该分录已有冲正申请",
                      entry.pk) from None
    return reversal


def _already(live: LedgerReversal) -> str:
    if live.state == S.PENDING:
        return (f"第 {live.entry_id} 号分录已有待审批的冲正申请"
                f"（{live.requested_by} 申请）")
    return (f"第 {live.entry_id} 号分录已冲正（冲正分录第 {live.reversing_entry_id} 号），"
            f"不能再冲正")


def _locked(user: User, reversal_id: int) -> LedgerReversal:
    reversal = (LedgerReversal.objects.select_for_update(of=("self",))
                .select_related("entry__scheme__union", "entry__period", "requested_by")
                .filter(pk=reversal_id).first())
    if reversal is None:
        raise _refuse(user, f"没有第 {reversal_id} 号冲正申请")
    _check_finance(user, reversal.entry)
    if reversal.state != S.PENDING:
        raise _refuse(user, f"该冲正申请{reversal.get_state_display()}，不能再审批",
                      reversal.entry_id)
    if reversal.requested_by_id == user.pk:
        raise _refuse(user, "不能审批自己提出的冲正申请，须由另一位财务人员审批",
                      reversal.entry_id)
    return reversal


def _decide(reversal: LedgerReversal, user: User, state: str, note: str,
            reversing: LedgerEntry | None = None) -> None:
    """Move the request out of pending once: a second decision finds it decided."""
    now = timezone.now()
    moved = LedgerReversal.objects.filter(pk=reversal.pk, state=S.PENDING).update(
        state=state, decided_by=user, decided_at=now, decision_note=note,
        reversing_entry=reversing)
    if moved != 1:
        raise _refuse(user, "该冲正申请已由他人审批", reversal.entry_id)
    reversal.state, reversal.decided_by, reversal.decided_at = state, user, now
    reversal.decision_note, reversal.reversing_entry = note, reversing


@refusals_audited
def approve(user: User, reversal_id: int, *, note: str = "") -> LedgerReversal:
    """Approve the request: post the original entry's mirror (accounts swapped, same
    amount, scheme and period, booked today) and mark the request done."""
    note = " ".join((note or "").split())[:REASON_MAX]
    with transaction.atomic():
        reversal = _locked(user, reversal_id)
        entry = reversal.entry
        _check_entry(user, entry)
        mirror = ledger.post(
            scheme=entry.scheme, period=entry.period, kind=K.REVERSAL,
            debit=entry.credit, credit=entry.debit, amount=entry.amount,
            reference=f"reverse:{entry.pk}", user=user, booked_on=timezone.localdate(),
            memo=f"冲正第 {entry.pk} 号（{entry.get_kind_display()}）：{reversal.reason}")
        if mirror is None:
            raise _refuse(user, f"第 {entry.pk} 号分录已冲正，未重复入账", entry.pk)
        _decide(reversal, user, S.DONE, note, mirror)
        log.record(user, AuditEntry.Action.REVERSAL_APPROVED, reversal,
                   union_path=entry.scheme.union.path,
                   summary=f"同意冲正{_describe(entry)}，记冲正分录第 {mirror.pk} 号 "
                           f"{yuan(mirror.amount)} 元（借 {mirror.get_debit_display()}，"
                           f"贷 {mirror.get_credit_display()}）"
                           + (f"：{note}" if note else ""),
                   changes={"entry": entry.pk, "reversing_entry": mirror.pk,
                            "amount": yuan(mirror.amount, grouped=False),
                            "reason": reversal.reason, "note": note})
    return reversal


@refusals_audited
def reject(user: User, reversal_id: int, *, note: str) -> LedgerReversal:
    """Reject the request with ``note``; the entry may be asked to be reversed again."""
    note = " ".join((note or "").split())
    if not note:
        raise _refuse(user, "请填写驳回理由")
    if len(note) > REASON_MAX:
        raise _refuse(user, f"驳回理由最多 {REASON_MAX} 个字")
    with transaction.atomic():
        reversal = _locked(user, reversal_id)
        entry = reversal.entry
        _decide(reversal, user, S.REJECTED, note)
        log.record(user, AuditEntry.Action.REVERSAL_REJECTED, reversal,
                   union_path=entry.scheme.union.path,
                   summary=f"驳回冲正{_describe(entry)}：{note}",
                   changes={"entry": entry.pk, "amount": yuan(entry.amount, grouped=False),
                            "reason": reversal.reason, "note": note})
    return reversal
