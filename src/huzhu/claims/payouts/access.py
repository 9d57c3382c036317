"""Who may see and act on payout batches: finance and admins (the role table's
``claims.pay``), for the batches made in their subtree. The pages' lookups are 403 for
every other role (whatever the id, so that nothing is disclosed) and 404 outside the
subtree; the services' own checks refuse with :class:`ClaimRefused`, and each refusal
of a service is written to the audit log (:func:`refusals_audited`)."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Payout, PayoutBatch
from huzhu.claims.workflow import ClaimRefused
from huzhu.orgs import roles
from huzhu.orgs.models import User

PAY = "claims.pay"
T = TypeVar("T")


# A refused payout step is audited the one way (huzhu.audit.log), as a payout change.
refusals_audited = log.refusals_audited(AuditEntry.Action.PAYOUT_CHANGED,
                                        summary="给付操作被拒绝：{}")


def require_pay(user: User, what: str) -> None:
    """Refuse (:class:`ClaimRefused`) a user whose role may not pay: "您的角色不能{what}"."""
    if not user.has_perm(PAY):
        raise ClaimRefused(f"您的角色不能{what}")


def batches_visible_to(user: User) -> QuerySet[PayoutBatch]:
    return PayoutBatch.objects.visible_to(user)


def get_batch_for_user(user: User, batch_id: int) -> PayoutBatch:
    """The batch, for finance and admins (403 for every other role, whatever the id, so
    that nothing is disclosed), if it lies in the user's subtree (404 otherwise)."""
    roles.require(user, PAY)
    return get_object_or_404(batches_visible_to(user).select_related(
        "scheme__union", "union", "created_by"), pk=batch_id)


def get_payout_for_user(user: User, payout_id: int) -> Payout:
    roles.require(user, PAY)
    return get_object_or_404(
        Payout.objects.filter(batch__in=batches_visible_to(user))
        .select_related("batch", "claim__member__unit"), pk=payout_id)


def visible_batch(user: User, batch: PayoutBatch) -> PayoutBatch:
    """``batch`` read again in the user's scope, or refused."""
    found = batches_visible_to(user).select_related("scheme__union", "union").filter(
        pk=batch.pk).first()
    if found is None:
        raise ClaimRefused("该给付批次不在您的管辖范围内")
    return found


def locked_batch(user: User, batch: PayoutBatch) -> PayoutBatch:
    """The batch row, locked for the step (only it: not the scheme's or union's row)."""
    found = (batches_visible_to(user).select_for_update(of=("self",))
             .select_related("scheme__union").filter(pk=batch.pk).first())
    if found is None:
        raise ClaimRefused("该给付批次不在您的管辖范围内")
    return found
