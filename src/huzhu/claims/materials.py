"""What a claim must carry: the materials its benefit's policy requires."""

from __future__ import annotations

from huzhu.claims.models import Claim
from huzhu.rules.schema import MATERIALS


def required(claim: Claim) -> list[str]:
    return list(claim.scheme.policy().benefit(claim.benefit).claiming.materials)


def missing(claim: Claim) -> list[str]:
    """Codes of required materials not uploaded yet."""
    have = set(claim.materials.values_list("kind", flat=True))
    return [m for m in required(claim) if m not in have]


def labels(codes: list[str]) -> str:
    return "、".join(MATERIALS.get(c, c) for c in codes)
