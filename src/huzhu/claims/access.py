"""Access to one claim or one of its materials: the member's subtree decides whether it
exists for the user (404); what they may do with it is the workflow table's business."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from huzhu.claims.models import Claim, ClaimMaterial
from huzhu.orgs.models import User
from huzhu.orgs.scope import union_path


def in_scope(user: User, claim: Claim) -> bool:
    """Whether ``claim``'s member lies in the user's subtree (a claim already loaded, with
    its member's union: the workflow's and the materials' checks ask it again under the
    claim's lock)."""
    prefix = union_path(user)
    return prefix is None or claim.member.union.path.startswith(prefix)


def get_claim_for_user(user: User, claim_id: int) -> Claim:
    return get_object_or_404(
        Claim.objects.visible_to(user).select_related(
            "member__union", "member__unit", "scheme__union", "period", "filed_by",
            "first_reviewed_by", "second_reviewed_by", "late_exception_by"),
        pk=claim_id)


def get_material_for_user(user: User, material_id: int) -> ClaimMaterial:
    """A material of a claim in the user's subtree (404 otherwise)."""
    visible = ClaimMaterial.objects.filter(claim__in=Claim.objects.visible_to(user))
    return get_object_or_404(visible.select_related("claim__member__union", "claim__scheme"),
                             pk=material_id)
