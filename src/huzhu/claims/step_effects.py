"""What each workflow step does beyond moving the state (registered with
:func:`huzhu.claims.workflow.effect`); imported by the app so the table is complete."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from huzhu.claims import computation, deadlines, duplicates
from huzhu.claims.materials import required as materials
from huzhu.claims.models import Claim
from huzhu.claims.workflow import ClaimRefused, effect
from huzhu.members.models import Member
from huzhu.orgs.models import User
from huzhu.rules.money import FEN, MAX_DIGITS, as_decimal, yuan
from huzhu.rules.schema import MATERIALS

# The largest amount a money column holds, whole yuan (MAX_DIGITS with two places).
_WHOLE_DIGITS = MAX_DIGITS - 2


@effect("submit")
def submit(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    lacking = materials.missing(claim)
    if lacking:
        raise ClaimRefused(f"缺少申请材料：{materials.labels(lacking)}，上传后才能提交")
    today = deadlines.filed_on(claim, timezone.localdate())
    if deadlines.is_late(claim, today) and claim.late_exception_by_id is None:
        deadline = deadlines.filing_deadline(claim)
        raise ClaimRefused(f"已超过申请期限（{deadline:%Y-%m-%d} 前），须由审核员记录逾期例外"
                           "后才能提交")
    computation.record(claim, computation.compute(claim))
    claim.final = None
    claim.submitted_at = timezone.now()
    claim.missing_materials = []
    reason = claim.computation.get("reason_message") or ""
    return f"测算金额 {yuan(claim.computed)} 元" + (f"（{reason}）" if reason else ""), None


def _lowered(claim: Claim, data: dict[str, Any]) -> tuple[Decimal | None, str]:
    """The reviewer's amount, if they lowered it, with the reason (required then)."""
    raw = data.get("amount")
    note = (data.get("note") or "").strip()
    if raw in (None, ""):
        # The reviewer's note is kept even when the amount is not lowered (issue 21: a
        # 初审 note was dropped from 办理记录 and the audit log unless the amount fell).
        return None, note
    # The claim page's form has parsed it already (views.ClaimStepForm); a caller that
    # passes text is still refused in words, never with decimal.InvalidOperation.
    try:
        amount = as_decimal(raw)
    except (TypeError, ValueError):
        raise ClaimRefused("核定金额应为不小于零、最多两位小数的金额") from None
    if (not amount.is_finite() or amount < 0 or amount.adjusted() >= _WHOLE_DIGITS
            or amount != amount.quantize(FEN)):
        raise ClaimRefused("核定金额应为不小于零、最多两位小数的金额")
    ceiling = claim.final if claim.final is not None else claim.computed
    if ceiling is not None and amount > ceiling:
        raise ClaimRefused(f"核定金额 {yuan(amount)} 元不能高于测算金额 {yuan(ceiling)} 元")
    if ceiling is not None and amount < ceiling and not note:
        raise ClaimRefused("核减金额时须写明原因")
    return amount, note


@effect("first_pass")
def first_pass(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    amount, note = _lowered(claim, data)
    if amount is not None and amount != claim.computed:
        claim.final, claim.reduction_reason = amount, note
    claim.first_reviewed_by = user
    if one_review_suffices(claim):
        return _approve(claim, note or "一级审核即可"), Claim.State.APPROVED
    return note or "初审通过", None


def one_review_suffices(claim: Claim) -> bool:
    scheme = claim.scheme
    if scheme.green_channel:
        return True
    limit = scheme.single_review_upto
    return limit is not None and (claim.amount or Decimal("0")) <= limit


@effect("approve")
def approve(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    amount, note = _lowered(claim, data)
    if amount is not None and amount != claim.amount:
        claim.final, claim.reduction_reason = amount, note
    claim.second_reviewed_by = user
    return _approve(claim, note or "复审通过"), None


def _approve(claim: Claim, note: str) -> str:
    """The money moment: lock the family, recompute against everything already approved
    or paid, and approve no more than the engine allows now. Two reviewers approving
    claims of one family at the same moment (one member's, or two relatives' under one
    family cap) are serialised on the family head's row, so caps hold whatever the
    timing."""
    Member.objects.select_for_update().filter(pk=computation.family_key(claim.member)).first()
    held = duplicates.refusal(claim, claim.second_reviewed_by or claim.first_reviewed_by)
    if held:
        raise ClaimRefused(held)
    row = computation.compute(claim)
    wanted = claim.final
    computation.record(claim, row)
    if claim.computed <= 0:
        reason = row.get("reason_message") or "已达上限"
        raise ClaimRefused("按目前已审批和已给付的情况重新测算，本次可给付 "
                           f"{yuan(claim.computed)} 元（{reason}），请改为不予给付")
    claim.final = min(wanted, claim.computed) if wanted is not None else claim.computed
    claim.approved_at = timezone.now()
    capped = f"，重新测算为 {yuan(claim.computed)} 元" if wanted is not None and \
        wanted > claim.computed else ""
    return f"{note}；核定 {yuan(claim.final)} 元{capped}"


@effect("return")
def return_for_materials(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    wanted = [m for m in data.get("missing") or [] if m in MATERIALS]
    note = (data.get("note") or "").strip()
    if not wanted and not note:
        raise ClaimRefused("请选择需要补充的材料或写明退回原因")
    claim.missing_materials = wanted
    claim.return_note = note[:200]
    return "需补充" + "、".join([MATERIALS[m] for m in wanted] + ([note] if note else [])), None


@effect("reject")
def reject(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    code = data.get("reject_code") or ""
    note = (data.get("note") or "").strip()
    if code not in Claim.RejectCode.values:
        raise ClaimRefused("请选择不予给付的原因")
    if not note:
        raise ClaimRefused("请写明不予给付的具体说明")
    claim.reject_code, claim.reject_text = code, note[:200]
    claim.final = None
    return f"{Claim.RejectCode(code).label}：{note}", None


@effect("withdraw")
def withdraw(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    return (data.get("note") or "经办撤回").strip()[:200], None


@effect("late_exception")
def late_exception(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    """A reviewer records why a late claim may still be submitted (the table has checked
    the role, the scope and that they did not file it)."""
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise ClaimRefused("请写明允许逾期申请的理由")
    claim.late_exception_by, claim.late_exception_reason = user, reason[:200]
    return f"逾期理由：{reason}", None


@effect("override_duplicate")
def override_duplicate(user: User, claim: Claim, data: dict[str, Any]) -> tuple[str, str | None]:
    """A reviewer records that the claim is not a duplicate of the live claims the rule
    holds it back for (the table has checked the role, the scope and the filer)."""
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise ClaimRefused("请写明确认非重复的理由")
    held = duplicates.holding(claim)
    if not held:
        raise ClaimRefused("这笔理赔没有被判为重复，无需确认")
    claim.duplicate_override_by, claim.duplicate_override_reason = user, reason[:200]
    return f"确认非重复（{'、'.join(other.number for other, _ in held[:5])}）：{reason}", None
