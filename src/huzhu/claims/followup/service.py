"""The follow-up list (大额回访): approved claims above ``FOLLOW_UP_ABOVE`` wait for a
call to the member's unit, as Changchun does, until someone records the call.

Who reads the list and who records calls is the role table's ``claims.read_followup``
and ``claims.call_followup``. Each call goes to the claim's history and to the audit log.
The list holds given claims (``Claim.GIVEN``: approved or later): the money is decided,
the call confirms it with the unit.
"""

from __future__ import annotations

from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.models import FOLLOW_UP_ABOVE, Claim, ClaimEvent, ClaimFollowUp
from huzhu.claims.workflow import ClaimRefused
from huzhu.lib.xlsx import Workbook
from huzhu.orgs import roles
from huzhu.orgs.models import User
from huzhu.rules.money import yuan

READ, CALL = "claims.read_followup", "claims.call_followup"
NOTE_MAX = 300


def due(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    """The claims of ``qs`` that wait for a call. Approved or later, a claim's amount is
    its approved one (``final``, set at approval): compared as a column, the large ones
    are one range of an index, not a scan of every paid claim."""
    return (qs.filter(state__in=Claim.GIVEN, final__gt=FOLLOW_UP_ABOVE)
            .filter(follow_up_call__isnull=True))


def follow_up(user: User) -> QuerySet[Claim]:
    """The claims in the user's scope that wait for a call, oldest approval first."""
    roles.require(user, READ)
    return (due(Claim.objects.visible_to(user))
            .select_related("member__unit", "member__union", "scheme")
            .order_by("approved_at", "id"))


def mark_called(user: User, claim: Claim, note: str) -> ClaimFollowUp:
    """Record the call to the claim's unit; the claim leaves the list."""
    note = " ".join((note or "").split())
    if not user.has_perm(CALL):
        raise ClaimRefused(roles.refusal(CALL))
    if not note:
        raise ClaimRefused("请填写回访情况（联系了谁、核实了什么）")
    if len(note) > NOTE_MAX:
        raise ClaimRefused(f"回访情况最多 {NOTE_MAX} 字")
    with transaction.atomic():
        # Locked: two people recording the same call at once, the second is refused.
        locked = (Claim.objects.visible_to(user).select_related("member__union")
                  .select_for_update(of=("self",)).filter(pk=claim.pk).first())
        if locked is None:
            raise ClaimRefused("该理赔不在您的管辖范围内")
        if not due(Claim.objects.filter(pk=claim.pk)).exists():
            raise ClaimRefused(_why_not_due(locked))
        try:
            with transaction.atomic():
                done = ClaimFollowUp.objects.create(claim=locked, called_by=user, note=note)
        except IntegrityError:
            raise ClaimRefused("这笔理赔已登记过回访") from None
        _record(user, locked, note)
    return done


def _why_not_due(claim: Claim) -> str:
    if ClaimFollowUp.objects.filter(claim=claim).exists():
        return "这笔理赔已登记过回访"
    if claim.state not in Claim.GIVEN:
        return f"理赔当前为“{claim.get_state_display()}”，审批通过后才需回访"
    return f"金额未超过 {yuan(FOLLOW_UP_ABOVE)} 元，不需回访"


def _record(user: User, claim: Claim, note: str) -> None:
    member = claim.member
    ClaimEvent.objects.create(claim=claim, actor=user, action="follow_up", from_state=claim.state,
                              to_state=claim.state, note=f"已回访单位：{note}"[:300],
                              amount=claim.amount)
    log.record(user, AuditEntry.Action.CLAIM_CHANGED, claim, union_path=member.union.path,
               summary=f"理赔 {claim.number}（{member.name} {claim.benefit_name}）："
                       f"登记大额回访，{note}",
               changes={"follow_up": ["待回访", "已回访"], "note": note})


# ------------------------------------------------------------------ the list as xlsx

EXPORT_COLUMNS = [("理赔编号", 16), ("会员姓名", 10), ("单位", 30), ("单位联系人", 10),
                  ("单位联系电话", 16), ("保障项目", 16), ("金额（元）", 14), ("状态", 12),
                  ("审批日期", 12)]
EXPORT_MAX_ROWS = 100_000  # a city's list is hundreds; the cap only bounds the response


def export_row(claim: Claim) -> list:
    unit = claim.member.unit
    # The day in Asia/Shanghai, as the pages show it (a 23:30 UTC approval is the next day).
    approved = (timezone.localtime(claim.approved_at).date().isoformat()
                if claim.approved_at else "")
    return [claim.number, claim.member.name, unit.name, unit.contact_name, unit.contact_phone,
            claim.benefit_name, claim.amount, claim.get_state_display(), approved]


def write_xlsx(claims: QuerySet[Claim], target: str | IO[bytes]) -> int:
    """Write the list to ``target`` (a path or binary file); return the row count."""
    # Names, units and contacts as text only (huzhu.lib.xlsx): a name typed "=…" is never
    # a formula; the amount as a number Excel can add up, shown to the fen.
    book = Workbook(target)
    sheet = book.sheet("大额回访名单")
    sheet.header(EXPORT_COLUMNS)
    rows = 0
    for claim in claims[:EXPORT_MAX_ROWS].iterator(chunk_size=2000):
        rows += 1
        for col, value in enumerate(export_row(claim)):
            if col == 6:
                sheet.amount(rows, col, value)
            else:
                sheet.text(rows, col, value or "")
    book.close()
    return rows
