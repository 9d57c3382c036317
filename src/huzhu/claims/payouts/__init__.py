"""Payout batches (给付批次): the services other apps call, by their names here."""

from huzhu.claims.payouts.build import (
    batches_visible_to,
    build_batch,
    export_batch,
    get_batch_for_user,
    get_payout_for_user,
    mark_failed,
    mark_paid,
)

__all__ = ["batches_visible_to", "build_batch", "export_batch", "get_batch_for_user",
           "get_payout_for_user", "mark_failed", "mark_paid"]
