"""The claims app's models, one module per record kind (Django registers each model
because this package imports it, as Django's docs on models in a package say)."""

from huzhu.claims.models.appeal import Appeal
from huzhu.claims.models.bulk import BulkJob
from huzhu.claims.models.claim import (
    FOLLOW_UP_ABOVE,
    Claim,
    ClaimEvent,
    ClaimMaterial,
    ClaimQuerySet,
)
from huzhu.claims.models.followup import ClaimFollowUp
from huzhu.claims.models.norm import ClaimAmountNorm
from huzhu.claims.models.payout import Payout, PayoutBatch, PayoutBatchQuerySet

__all__ = ["FOLLOW_UP_ABOVE", "Appeal", "BulkJob", "Claim", "ClaimAmountNorm", "ClaimEvent",
           "ClaimFollowUp", "ClaimMaterial", "ClaimQuerySet", "Payout", "PayoutBatch",
           "PayoutBatchQuerySet"]
