"""Payout batches (给付批次): the services other apps call, by their names here.

The package's modules: :mod:`.access` (who sees which batch), :mod:`.build` (what is
ready, building a batch), :mod:`.bank_file` (the bank transfer file), :mod:`.settle`
(paid, failed, the batch's totals), :mod:`.writes` (the set-based writes they share).
"""

from huzhu.claims.payouts.access import (
    batches_visible_to,
    get_batch_for_user,
    get_payout_for_user,
)
from huzhu.claims.payouts.bank_file import export_batch
from huzhu.claims.payouts.build import build_batch
from huzhu.claims.payouts.settle import mark_failed, mark_paid

__all__ = ["batches_visible_to", "build_batch", "export_batch", "get_batch_for_user",
           "get_payout_for_user", "mark_failed", "mark_paid"]
