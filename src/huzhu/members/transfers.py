"""Transfers between unions (转会), and refusals of numbers registered elsewhere.

A number (ID, bank account, credit code) already registered under another union must be
refused, but a refusal that names the other union, or one a clerk can repeat a thousand
times, turns the form into a lookup of the whole city. So: one neutral message, every
refusal audited and counted against a daily limit , and for
a member, a transfer request that the member's own union accepts or declines
(:mod:`huzhu.audit.limits`).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.members.models import Member, TransferRequest
from huzhu.orgs import roles
from huzhu.orgs.models import Unit, User

ID_ELSEWHERE = ("该身份证号无法登记：系统中已有该职工的会员记录。"
                "如该职工已调入您的单位，请勾选“申请转会”后再提交，由其原所属工会确认")
BANK_ELSEWHERE = "该银行账号无法使用：已登记在其他会员名下，请与会员核对账号"


def request_transfer(user: User, member: Member, to_unit: Unit, *, name_given: str,
                     reason: str = "") -> TransferRequest:
    """Ask ``member``'s union to move them to ``to_unit`` (a unit in the user's scope)."""
    roles.require(user, "orgs.write")
    if not Unit.objects.visible_to(user).filter(pk=to_unit.pk).exists():
        raise PermissionError("调入单位不在您的管辖范围内")
    existing = TransferRequest.objects.filter(member=member, to_unit=to_unit,
                                              state=TransferRequest.State.PENDING).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            request = TransferRequest.objects.create(
                member=member, to_unit=to_unit, name_given=name_given[:50],
                reason=reason[:200], requested_by=user)
    except IntegrityError:  # the same request, sent twice at once
        return TransferRequest.objects.get(member=member, to_unit=to_unit,
                                           state=TransferRequest.State.PENDING)
    summary = f"申请将“{request.name_given}”转入单位“{to_unit.name}”"
    log.record(user, AuditEntry.Action.TRANSFER_REQUESTED, member,
               union_path=to_unit.union.path, summary=summary,
               changes={"transfer": request.pk, "to_unit": to_unit.name})
    # The member's union sees the request in its own log too.
    log.record(user, AuditEntry.Action.TRANSFER_REQUESTED, member, summary=summary,
               changes={"transfer": request.pk, "to_unit": to_unit.name})
    return request


def decide(user: User, request: TransferRequest, *, accept: bool,
           note: str = "") -> TransferRequest:
    """The member's union accepts (the member moves to the new unit) or declines."""
    roles.require(user, "orgs.write")
    with transaction.atomic():
        locked = (TransferRequest.objects.select_for_update().incoming(user)
                  .select_related("member__union", "to_unit__union").get(pk=request.pk))
        if locked.state != TransferRequest.State.PENDING:
            return locked
        member = locked.member
        old_unit, old_path = member.unit, member.union.path
        locked.state = (TransferRequest.State.ACCEPTED if accept
                        else TransferRequest.State.DECLINED)
        locked.decided_by, locked.decided_at = user, timezone.now()
        locked.decision_note = note[:200]
        locked.save()
        if accept:
            member.unit, member.union = locked.to_unit, locked.to_unit.union
            member.save(update_fields=["unit", "union", "updated_at"])
        action = (AuditEntry.Action.TRANSFER_ACCEPTED if accept
                  else AuditEntry.Action.TRANSFER_DECLINED)
        # The name the asking side typed: a declined request tells it nothing more.
        summary = (f"{'同意' if accept else '拒绝'}“{locked.name_given}”转入单位"
                   f"“{locked.to_unit.name}”" + (f"：{note}" if note else ""))
        changes = {"transfer": locked.pk, "unit": [old_unit.name, locked.to_unit.name]
                   if accept else None}
        for path in {old_path, locked.to_unit.union.path}:
            log.record(user, action, member, union_path=path, summary=summary,
                       changes={k: v for k, v in changes.items() if v is not None})
    return locked
