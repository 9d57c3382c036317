"""复核 (appeals): a member asks that a rejection (不予给付) or a lowered amount be looked
at again, within :data:`APPEAL_DAYS` days of that decision — on the member pages, or
through a clerk after a phone call to the union.

An appeal is a case of its own (:class:`huzhu.claims.models.Appeal`): at most one open
per claim, due the scheme's ``appeal_working_days`` (5 by default) working days (Monday
to Friday; public holidays are not known to the system and count as working days) after
it was opened,
and decided by a reviewer in scope who took no part in the original decision (not the
filer, not a reviewer of the claim, not whoever submitted, returned, rejected or
approved it). The decision upholds the original or changes it, with a written reason
the member is sent and sees:

- a rejected claim changed is approved at what the engine allows now (or a lower amount
  typed with the reason), never above it: the claim is approved as a review approves it
  (the family row locked, recomputed against everything else given);
- a lowered amount raised is recomputed the same way; the claim's approved amount
  (``final``) becomes the new amount. A claim still approved is paid it by the next
  batch; a claim already paid goes back to 已审批待给付 and the next batch pays the
  difference (final − already paid, :mod:`huzhu.claims.payouts.build`), through the
  ordinary bank file and reconciliation. A claim in a batch waiting for the bank's
  answer cannot be changed until the answer is in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import computation, duplicates
from huzhu.claims.access import in_scope
from huzhu.claims.materials import store
from huzhu.claims.models import Appeal, Claim, ClaimEvent, Payout
from huzhu.claims.workflow import FILE, MEMBER_FILER, REVIEW, ClaimRefused
from huzhu.lib.money import MoneySum
from huzhu.members.models import Member
from huzhu.notify.outbox import enqueue, register_kind
from huzhu.orgs import roles
from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything
from huzhu.rules.money import FEN, MAX_DIGITS, as_decimal, to_fen, yuan
from huzhu.rules.schema import MATERIALS

S = Claim.State
APPEAL_DAYS = 60  # calendar days after the rejection or the lowering
MAX_FILES = 12
ZERO = Decimal("0.00")
# The steps whose actors took part in the original decision (ClaimEvent.action).
# "appeal" is a 复核 that changed the decision (a decision itself, which a later 复核 may
# be about); "appeal_upheld" one that upheld it.
DECIDING_STEPS = ("submit", "first_pass", "approve", "return", "reject", "appeal",
                  "appeal_upheld")
KINDS = {"claims.appeal_opened": "复核已受理", "claims.appeal_decided": "复核结果"}


class AppealRefused(ClaimRefused):
    """An appeal that may not be opened or decided; the message is for the person."""


def register() -> None:
    """The SMS kinds and the claim page's 复核 section (called from ``ClaimsConfig.ready``)."""
    from huzhu.claims import appeal_views
    from huzhu.lib import panels

    for code, label in KINDS.items():
        register_kind(code, label)
    panels.register("claim", panels.Panel("appeal", "claims/_appeal.html",
                                          appeal_views.panel_context, order=1))


# ------------------------------------------------------------------ dates

def add_working_days(start: dt.date, days: int) -> dt.date:
    """``days`` working days (Monday to Friday) after ``start``."""
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def is_overdue(appeal: Appeal, today: dt.date | None = None) -> bool:
    return appeal.is_open and appeal.due_on < (today or timezone.localdate())


# ------------------------------------------------------------------ what may be appealed

def lowered(claim: Claim) -> bool:
    """Given (approved, in a batch, paid) at less than the engine allowed."""
    return (claim.state in Claim.GIVEN and claim.final is not None
            and claim.computed is not None and claim.final < claim.computed)


def decision_event(claim: Claim) -> ClaimEvent | None:
    """The history row of the decision an appeal would be about: the rejection, or the
    approval (a review's or an earlier 复核's) that set the lowered amount."""
    if claim.state == S.REJECTED:
        return (claim.history.filter(action="reject", to_state=S.REJECTED)
                .order_by("-at", "-id").first())
    if lowered(claim):
        return (claim.history.filter(action__in=("first_pass", "approve", "appeal"),
                                     to_state=S.APPROVED).order_by("-at", "-id").first())
    return None


def appeal_until(claim: Claim) -> dt.date | None:
    """The last day an appeal may be opened (None: nothing to appeal)."""
    event = decision_event(claim)
    if event is None:
        return None
    return timezone.localtime(event.at).date() + dt.timedelta(days=APPEAL_DAYS)


def why_not_appealable(claim: Claim, today: dt.date | None = None) -> str | None:
    """Why no appeal may be opened on ``claim`` now, whoever asks (None: it may)."""
    event = decision_event(claim)
    if event is None:
        return "只有不予给付或核减了金额的理赔可以申请复核"
    until = timezone.localtime(event.at).date() + dt.timedelta(days=APPEAL_DAYS)
    if (today or timezone.localdate()) > until:
        return f"已超过申请复核的期限（原决定作出后 {APPEAL_DAYS} 天内，即 {until:%Y-%m-%d} 前）"
    earlier = claim.appeals.filter(opened_at__gte=event.at)
    if earlier.filter(state=Appeal.State.OPEN).exists():
        return "这笔理赔已有正在办理的复核申请"
    if earlier.exists():
        return "这一决定已经复核过，不能再次申请复核"
    return None


def why_not_open(user: User, claim: Claim) -> str | None:
    """Why a staff user may not open an appeal for the member (a clerk taking a call)."""
    if not in_scope(user, claim):
        return "该理赔不在您的管辖范围内"
    if not (sees_everything(user) or user.role in roles.roles_with(FILE)):
        return "只有经办人员可以为会员申请复核"
    return why_not_appealable(claim)


# ------------------------------------------------------------------ opening

@dataclass
class _Upload:
    kind: str
    uploaded: Any
    checked: Any


def _check_files(claim: Claim, files: list[tuple[str, Any]]) -> list[_Upload]:
    """The staff uploads' content checks and size limit (materials.store), all before
    anything is written; a file already on the claim is refused as the staff upload
    refuses it."""
    if len(files) > MAX_FILES:
        raise AppealRefused(f"一次最多上传 {MAX_FILES} 份材料")
    seen: set[str] = set()
    out = []
    for kind, uploaded in files:
        name = getattr(uploaded, "name", "") or "材料"
        if kind not in MATERIALS:
            raise AppealRefused(f"“{name}”：请选择材料类型")
        try:
            checked = store._check_content(uploaded)
        except store.MaterialRefused as exc:
            raise AppealRefused(f"{MATERIALS[kind]}“{name}”：{exc}") from None
        if checked.sha256 in seen:
            raise AppealRefused(f"{MATERIALS[kind]}“{name}”重复上传")
        if problem := store._duplicate(claim, checked.sha256):
            raise AppealRefused(f"{MATERIALS[kind]}“{name}”：{problem}")
        seen.add(checked.sha256)
        out.append(_Upload(kind, uploaded, checked))
    return out


def _member_account() -> User:
    """The account a member's uploads stand under (the member is no staff user): the
    system account of members' own claims (huzhu.portal.filing makes it the same way)."""
    user, _ = User.objects.get_or_create(
        username=MEMBER_FILER,
        defaults={"role": User.Role.CLERK, "union": None, "is_active": False,
                  "display_name": "会员自助申请（系统）"})
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def open_appeal(member_or_user: Member | User, claim: Claim, reason: str,
                files: list[tuple[str, Any]] | None = None) -> Appeal:
    """Open a 复核 of ``claim``: by the member themself (a :class:`Member`, who must be the
    claim's), or by a staff user for them (a phone call). ``files`` are (material kind,
    uploaded file) pairs, stored as the claim's materials. Raises :class:`AppealRefused`
    (nothing written)."""
    reason = (reason or "").strip()
    by_member = isinstance(member_or_user, Member)
    if by_member and claim.member_id != member_or_user.pk:
        raise AppealRefused("只能对本人的理赔申请复核")
    if not reason:
        raise AppealRefused("请写明申请复核的理由")
    if len(reason) > 500:
        raise AppealRefused("申请理由最多 500 字")
    checked = _check_files(claim, files or [])
    written: list[Path] = []
    try:
        with transaction.atomic():
            claim = (Claim.objects.select_for_update(of=("self",))
                     .select_related("member__union", "scheme__union").get(pk=claim.pk))
            if by_member:
                actor: User = _member_account()
                problem = why_not_appealable(claim)
            else:
                assert isinstance(member_or_user, User)
                actor = member_or_user
                problem = why_not_open(actor, claim)
            if problem:
                raise AppealRefused(problem)
            today = timezone.localdate()
            try:
                with transaction.atomic():
                    appeal = Appeal.objects.create(
                        claim=claim, opened_by_member=by_member,
                        opened_by=None if by_member else actor, reason=reason,
                        due_on=add_working_days(today, claim.scheme.appeal_working_days),
                        original_state=claim.state, original_amount=claim.final)
            except IntegrityError:
                raise AppealRefused("这笔理赔已有正在办理的复核申请") from None
            for item in checked:
                store.store_checked(actor, claim, item.kind, item.uploaded, item.checked,
                                    written)
            who = "会员本人申请复核" if by_member else f"{actor} 代会员申请复核（电话）"
            note = f"{who}：{reason}" + (f"（附 {len(checked)} 份材料）" if checked else "")
            ClaimEvent.objects.create(claim=claim, actor=actor,
                                      action="appeal_open", from_state=claim.state,
                                      to_state=claim.state, note=note[:300],
                                      amount=claim.amount)
            log.record(actor, AuditEntry.Action.CLAIM_CHANGED, claim,
                       union_path=claim.member.union.path,
                       summary=f"理赔 {claim.number}（{claim.member.name} {claim.benefit_name}）："
                               f"{who}，办理期限 {appeal.due_on:%Y-%m-%d}",
                       changes={"state": [claim.get_state_display(), "待复核"],
                                "reason": reason, "note": f"办理期限 {appeal.due_on:%Y-%m-%d}",
                                "count": len(checked)})
            _sms(claim, "claims.appeal_opened", opened_text(appeal, claim), appeal)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return appeal


# ------------------------------------------------------------------ deciding

def participants(claim: Claim) -> set[int]:
    """The users who took part in the claim's decisions so far: its filer, its
    reviewers, and everyone who submitted, returned, rejected or approved it (the
    history's actors)."""
    ids = {claim.filed_by_id, claim.first_reviewed_by_id, claim.second_reviewed_by_id}
    ids.update(claim.history.filter(action__in=DECIDING_STEPS, actor__isnull=False)
               .values_list("actor_id", flat=True))
    return {i for i in ids if i is not None}


def why_not_decide(user: User, appeal: Appeal) -> str | None:
    """Why ``user`` may not decide ``appeal`` (None: they may)."""
    claim = appeal.claim
    if not appeal.is_open:
        return f"该复核已办结（{appeal.get_state_display()}）"
    if not (sees_everything(user) or user.role in roles.roles_with(REVIEW)):
        return "只有审核员可以办理复核"
    if not in_scope(user, claim):
        return "该理赔不在您的管辖范围内"
    if user.pk in participants(claim):
        return "您参与过这笔理赔的原决定（登记、审核或不予给付），复核须由未参与的审核人员办理"
    return None


def _amount(raw: object) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        amount = as_decimal(raw)
    except (TypeError, ValueError):
        raise AppealRefused("改定金额应为大于零、最多两位小数的金额") from None
    if (not amount.is_finite() or amount <= 0 or amount.adjusted() >= MAX_DIGITS - 2
            or amount != amount.quantize(FEN)):
        raise AppealRefused("改定金额应为大于零、最多两位小数的金额")
    return amount


def paid_so_far(claim: Claim) -> Decimal:
    total = (Payout.objects.filter(claim=claim, state=Payout.State.PAID)
             .aggregate(t=MoneySum("amount"))["t"])
    return to_fen(total or ZERO)


def decide(user: User, appeal: Appeal, decision: str, reason: str,
           amount: object = None) -> Appeal:
    """Decide ``appeal``: ``decision`` is ``"upheld"`` or ``"changed"``; ``reason`` is the
    written reason the member sees; ``amount`` (a change only) a lower amount than the
    engine's, else the engine's. Raises :class:`AppealRefused` (nothing written)."""
    reason = (reason or "").strip()
    if decision not in (Appeal.State.UPHELD, Appeal.State.CHANGED):
        raise AppealRefused("请选择维持原决定或改变原决定")
    if not reason:
        raise AppealRefused("请写明复核结论的理由（会员将收到）")
    if len(reason) > 500:
        raise AppealRefused("复核结论说明最多 500 字")
    wanted = _amount(amount) if decision == Appeal.State.CHANGED else None
    with transaction.atomic():
        claim = (Claim.objects.select_for_update(of=("self",))
                 .select_related("member__union", "scheme__union").get(pk=appeal.claim_id))
        appeal = Appeal.objects.select_for_update(of=("self",)).get(pk=appeal.pk)
        appeal.claim = claim
        if problem := why_not_decide(user, appeal):
            raise AppealRefused(problem)
        before_state, before_amount = claim.state, claim.final
        if decision == Appeal.State.CHANGED:
            note = _change(user, claim, wanted, reason)
            appeal.new_amount = claim.final
        else:
            note = f"复核维持原决定：{reason}"
        appeal.state, appeal.decided_by = decision, user
        appeal.decision_reason, appeal.decided_at = reason, timezone.now()
        appeal.save()
        ClaimEvent.objects.create(claim=claim, actor=user,
                                  action="appeal" if decision == Appeal.State.CHANGED
                                  else "appeal_upheld",
                                  from_state=before_state, to_state=claim.state,
                                  note=note[:300], amount=claim.amount)
        log.record(user, AuditEntry.Action.CLAIM_CHANGED, claim,
                   union_path=claim.member.union.path,
                   summary=f"理赔 {claim.number}（{claim.member.name} {claim.benefit_name}）："
                           f"{note}",
                   changes={"state": [Claim.State(before_state).label, claim.get_state_display()],
                            "amount": [yuan(before_amount) if before_amount is not None else None,
                                       yuan(claim.final) if claim.final is not None else None],
                            "reason": reason})
        _sms(claim, "claims.appeal_decided", decided_text(appeal, claim), appeal)
    return appeal


def _change(user: User, claim: Claim, wanted: Decimal | None, reason: str) -> str:
    """Change the original decision through the engine, as an approval does: lock the
    family row, recompute against everything else given, approve no more than that."""
    if claim.state == S.IN_BATCH:
        raise AppealRefused("这笔理赔正在给付批次中等待银行付款结果，须付款结果回来后再改变原决定")
    if claim.state != S.REJECTED and not lowered(claim):
        raise AppealRefused("这笔理赔既未不予给付，也未核减金额，无可改变")
    Member.objects.select_for_update().filter(pk=computation.family_key(claim.member)).first()
    if claim.state == S.REJECTED and (held := duplicates.refusal(claim, user)):
        raise AppealRefused(held)
    old = claim.final
    row = computation.compute(claim)
    allowed = to_fen(row["payable"])
    if allowed <= 0:
        why = row.get("reason_message") or "已达上限"
        raise AppealRefused(f"按目前已审批和已给付的情况重新测算，可给付 {yuan(allowed)} 元"
                            f"（{why}），只能维持原决定")
    new = allowed if wanted is None else wanted
    if new > allowed:
        raise AppealRefused(f"改定金额 {yuan(new)} 元不能高于重新测算的金额 {yuan(allowed)} 元")
    if old is not None and new <= old:
        raise AppealRefused(f"改定金额须高于原核定金额 {yuan(old)} 元，否则请维持原决定")
    paid = paid_so_far(claim)
    computation.record(claim, row)
    claim.final = new
    claim.reduction_reason = reason[:200] if new < allowed else ""
    claim.reject_code, claim.reject_text = "", ""
    claim.approved_at = timezone.now()
    claim.state = S.APPROVED
    claim.save()
    was = "原不予给付" if old is None else f"原核定 {yuan(old)} 元"
    rest = f"，已给付 {yuan(paid)} 元，待补付差额 {yuan(new - paid)} 元" if paid > 0 else ""
    return f"复核改变原决定：{reason}；核定 {yuan(new)} 元（{was}{rest}）"


# ------------------------------------------------------------------ SMS

def _head(claim: Claim) -> str:
    return (f"【{claim.scheme.union.name}】{claim.member.name}您好，"
            f"您的{claim.benefit_name}申请（{claim.number}）")


def opened_text(appeal: Appeal, claim: Claim) -> str:
    due = appeal.due_on
    return f"{_head(claim)}的复核申请已受理，我们将在 {due.year}年{due.month}月{due.day}日前答复。"


def decided_text(appeal: Appeal, claim: Claim) -> str:
    if appeal.state == Appeal.State.UPHELD:
        return f"{_head(claim)}经复核维持原决定。理由：{appeal.decision_reason}"
    paid = paid_so_far(claim)
    final = claim.final or ZERO
    money = (f"已给付 {yuan(paid)} 元，差额 {yuan(final - paid)} 元将尽快转入您的银行账户"
             if paid > 0 else "将尽快转入您的银行账户")
    return (f"{_head(claim)}经复核改为核定给付 {yuan(final)} 元，{money}。"
            f"理由：{appeal.decision_reason}")


def _sms(claim: Claim, kind: str, text: str, appeal: Appeal) -> None:
    if not claim.member.phone:
        return
    enqueue(kind=kind, to=claim.member.phone, text=text[:500], member=claim.member,
            union=claim.member.union_id, dedupe_key=f"{kind}:{appeal.pk}",
            params={"name": claim.member.name, "benefit": claim.benefit_name,
                    "number": claim.number,
                    "amount": yuan(claim.final) if claim.final is not None else ""})


# ------------------------------------------------------------------ lists

def open_appeals(user: User) -> QuerySet[Appeal]:
    """Open appeals of claims in ``user``'s scope, overdue first, by due date."""
    return (Appeal.objects.filter(state=Appeal.State.OPEN,
                                  claim__in=Claim.objects.visible_to(user))
            .select_related("claim__member__unit", "claim__member__union", "opened_by")
            .order_by("due_on", "id"))
