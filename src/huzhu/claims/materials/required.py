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
    """Codes of required materials not uploaded yet."""
    have = set(claim.materials.values_list("kind", flat=True))
    return [m for m in required(claim) if m not in have]


def labels(codes: list[str]) -> str:
    return "、".join(MATERIALS.get(c, c) for c in codes)
