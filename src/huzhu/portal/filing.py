"""A member files a claim on the member pages (会员自助申请).

The facts are asked by the staff filing form, generated from the benefit's policy
(:func:`huzhu.claims.intake.claim_form`), on the benefits that cover the member on the
event day (:func:`huzhu.claims.intake.eligibility`, the clerk's own intake). The claim is
a draft under the system account :data:`huzhu.claims.workflow.MEMBER_FILER` with the
source 会员自助申请: it waits in the queue of the member's grassroots clerks, one of
whom checks it, completes it and submits it — and becomes its filer. The photographs
pass the staff uploads' content checks and size limit (:mod:`huzhu.claims.materials.store`)
all before anything is written: a refused file leaves no claim and no file behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import intake
from huzhu.claims.materials import store
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.workflow import MEMBER_FILER
from huzhu.members.models import Member
from huzhu.orgs.models import User
from huzhu.rules.schema import MATERIALS

MAX_FILES = 12
FILED_NOTE = "会员本人通过会员服务提交申请（会员自助申请），待单位工会核对后提交审核"


def member_filer() -> User:
    """The filer of every member's own claim until a clerk takes it: an inactive account
    that cannot sign in (made the way the proactive runs' ``huzhu-proactive`` is)."""
    user, _ = User.objects.get_or_create(
        username=MEMBER_FILER,
        defaults={"role": User.Role.CLERK, "union": None, "is_active": False,
                  "display_name": "会员自助申请（系统）"})
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def material_kinds(offer: intake.Offer) -> list[tuple[str, str]]:
    """The materials the benefit asks for, code and name, for the photograph inputs."""
    return [(code, MATERIALS[code]) for code in offer.benefit.claiming.materials
            if code in MATERIALS]


@dataclass
class _Checked:
    kind: str
    uploaded: Any
    checked: Any


class FilingRefused(store.MaterialRefused):
    """A photograph refused; the message names it."""


def _check_all(uploads: list[tuple[str, Any]]) -> list[_Checked]:
    if len(uploads) > MAX_FILES:
        raise FilingRefused(f"一次最多上传 {MAX_FILES} 张照片或文件")
    seen: dict[str, str] = {}
    out = []
    for kind, uploaded in uploads:
        name = getattr(uploaded, "name", "") or "照片"
        if kind not in MATERIALS:
            raise FilingRefused("请选择材料类型")
        try:
            checked = store._check_content(uploaded)
        except store.MaterialRefused as exc:
            raise FilingRefused(f"{MATERIALS[kind]}“{name}”：{exc}") from None
        if checked.sha256 in seen:
            raise FilingRefused(f"{MATERIALS[kind]}“{name}”与“{seen[checked.sha256]}”是同一张照片")
        seen[checked.sha256] = name
        out.append(_Checked(kind, uploaded, checked))
    return out


def file_member_claim(member: Member, offer: intake.Offer, data: dict[str, Any],
                      uploads: list[tuple[str, Any]]) -> Claim:
    """The member's draft claim with its photographs; raises :class:`FilingRefused`
    (nothing written) for a file the staff upload would refuse."""
    checked = _check_all(uploads)
    filer = member_filer()
    written: list[Path] = []
    try:
        with transaction.atomic():
            claim = intake.file_claim(filer, member, offer, data)
            claim.source = Claim.Source.MEMBER
            claim.save(update_fields=["source"])
            ClaimEvent.objects.filter(claim=claim, action="file").update(note=FILED_NOTE)
            for item in checked:
                store.store_checked(filer, claim, item.kind, item.uploaded, item.checked,
                                    written)
            log.record(filer, AuditEntry.Action.CLAIM_CHANGED, claim,
                       union_path=member.union.path,
                       summary=f"理赔 {claim.number}（{member.name} {claim.benefit_name}）："
                               f"会员本人通过会员服务申请，附 {len(checked)} 份材料",
                       changes={"source": Claim.Source.MEMBER.label, "materials": len(checked)})
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return claim
