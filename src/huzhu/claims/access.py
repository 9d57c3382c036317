"""Access to one claim: the member's subtree decides whether it exists for the user (404);
what they may do with it is the workflow table's business."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from huzhu.claims.models import Claim
from huzhu.orgs.models import User


def get_claim_for_user(user: User, claim_id: int) -> Claim:
    return get_object_or_404(
        Claim.objects.visible_to(user).select_related(
            "member__union", "member__unit", "scheme__union", "period", "filed_by",
            "first_reviewed_by", "second_reviewed_by", "late_exception_by"),
        pk=claim_id)
