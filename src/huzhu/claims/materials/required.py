"""What a claim must carry: the materials its benefit's policy requires."""

from __future__ import annotations

from huzhu.claims.models import Claim
from huzhu.rules.schema import MATERIALS

# What the bureau's settlement row already proves for a proactive claim (免申即享): the
# stay, its costs and its dates; the member's identity is the registry's.
FROM_SETTLEMENT = frozenset({"invoice", "settlement_statement", "discharge_summary", "id_card"})


def required(claim: Claim) -> list[str]:
    needed = list(claim.scheme.policy().benefit(claim.benefit).claiming.materials)
    if claim.settlement_id is not None:
        banked = claim.member.bank_account_sealed is not None
        needed = [m for m in needed
                  if m not in FROM_SETTLEMENT and not (m == "bank_card" and banked)]
    return needed


def missing(claim: Claim) -> list[str]:
    """Codes of required materials not uploaded yet, and, while the claim is returned,
    those the return asked for that were not uploaded since (a claim returned for 病历
    was resubmitted without one, the page saying all was there)."""
    have = set(claim.materials.values_list("kind", flat=True))
    lacking = [m for m in required(claim) if m not in have]
    if claim.state == Claim.State.RETURNED and claim.missing_materials:
        returned = (claim.history.filter(action="return").order_by("-at", "-pk")
                    .values_list("at", flat=True).first())
        since = claim.materials.all() if returned is None else \
            claim.materials.filter(uploaded_at__gt=returned)
        fresh = set(since.values_list("kind", flat=True))
        lacking += [m for m in claim.missing_materials if m not in fresh and m not in lacking]
    return lacking


def labels(codes: list[str]) -> str:
    return "、".join(MATERIALS.get(c, c) for c in codes)
