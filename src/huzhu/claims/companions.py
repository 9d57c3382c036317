"""One application per stay (一次住院，一次申请): a hospital stay can pay several benefits
— 住院医疗互助金, 住院津贴, a critical-illness lump sum — and the clerk should not file and
upload the same papers three times.

Once one claim of a stay is filed, :func:`proposals` lists every other benefit open to
the member on the discharge day (:func:`huzhu.claims.intake.eligibility`) for which the
engine, given the stay's facts, computes an amount; :func:`file_all` files each chosen
one as a claim of its own with the same facts and a copy of the stay's materials (each
claim keeps its own files: deleting one claim's copy leaves the others whole). Every
claim is still reviewed, capped and paid on its own.

A companion carries no invoice number: the one invoice is the first claim's, and "the
same invoice in two live claims" is the duplicate rule's (``duplicates``) sign of one
bill paid twice. Days in hospital follow from the dates when the first claim has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.core.files import File
from django.db import transaction

from huzhu.claims import computation, intake
from huzhu.claims.flags import stays_overlap
from huzhu.claims.materials import store as material_store
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.workflow import ClaimRefused
from huzhu.orgs.models import User
from huzhu.rules.columns import stay_days

# The stay's facts a companion claim copies (those of its benefit's form).
FACTS = ("admit_date", "hospital", "days", "out_of_pocket", "total_cost", "diagnosis")
# The claim states in which a stay's other benefits are proposed: while it is being filed.
PROPOSED_IN = (Claim.State.DRAFT, Claim.State.RETURNED)


@dataclass(frozen=True)
class Proposal:
    """Another benefit the stay supports, with the engine's amount for it now."""

    offer: intake.Offer
    amount: Decimal

    @property
    def key(self) -> str:
        return f"{self.offer.scheme.code}:{self.offer.benefit.code}"


def proposals(claim: Claim) -> list[Proposal]:
    """The stay's other benefits that would pay, not yet claimed for this stay."""
    if claim.admit_date is None or claim.state not in PROPOSED_IN:
        return []
    claimed = [c for c in Claim.objects.filter(member_id=claim.member_id)
               .exclude(state__in=(Claim.State.WITHDRAWN, Claim.State.REJECTED))
               if stays_overlap(claim, c)]
    found = []
    for offer in intake.eligibility(claim.member, claim.event_date).offers:
        if any(c.scheme_id == offer.scheme.pk and c.benefit == offer.benefit.code
               for c in claimed):
            continue
        row = computation.compute(_companion(claim, offer))
        if row["status"] in ("payable", "capped") and row["payable"] > 0:
            found.append(Proposal(offer, row["payable"]))
    return found


def _companion(claim: Claim, offer: intake.Offer) -> Claim:
    """An unsaved claim of ``offer``'s benefit with the stay's facts its form asks."""
    asked = intake.needed_fields(offer.benefit)
    facts = {name: getattr(claim, name) for name in FACTS
             if name in asked and getattr(claim, name) not in (None, "")}
    if "days" in asked and "days" not in facts:
        # Only proposals() makes companions (file_all files only what it offered), and it
        # returns none for a claim without an admission date.
        facts["days"] = stay_days(cast(date, claim.admit_date), claim.event_date)
    return Claim(member=claim.member, scheme=offer.scheme, period=offer.period,
                 benefit=offer.benefit.code, benefit_name=offer.benefit.name,
                 event_date=claim.event_date, **facts)


def file_all(user: User, claim: Claim, keys: list[str]) -> list[Claim]:
    """File the chosen proposals (by key) of ``claim``'s stay, each with a copy of its
    materials; a key no longer proposed (filed meanwhile, no longer paying) is refused
    and nothing is filed."""
    if not user.has_perm("claims.file"):
        raise ClaimRefused("您的角色不能登记理赔")
    offered = {p.key: p for p in proposals(claim)}
    if not keys:
        raise ClaimRefused("请勾选要一并申请的项目")
    gone = [k for k in keys if k not in offered]
    if gone:
        raise ClaimRefused("所选项目已不能一并申请（可能已登记或不再符合条件），请刷新页面后重试")
    filed = []
    with transaction.atomic():
        for key in dict.fromkeys(keys):
            offer = offered[key].offer
            probe = _companion(claim, offer)
            facts = {name: getattr(probe, name) for name in (*FACTS, "event_date")}
            new = intake.file_claim(user, claim.member, offer, facts)
            ClaimEvent.objects.create(claim=new, actor=user, action="companion",
                                      from_state=new.state, to_state=new.state,
                                      note=f"与理赔 {claim.number} 同一次住院，一并申请")
            _copy_materials(user, claim, new)
            filed.append(new)
    return filed


def _copy_materials(user: User, source: Claim, target: Claim) -> None:
    """Each material of ``source`` stored again for ``target`` (checked and audited as an
    upload); a file gone from the disk is left for the clerk to upload."""
    for material in source.materials.all():
        path = material_store.path_of(material)
        if path is None or not path.is_file():
            continue
        with path.open("rb") as handle:
            material_store.save_material(user, target, material.kind,
                                         File(handle, name=material.file_name))
