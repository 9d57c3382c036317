"""The feeds app's models: what the bureau sent (:mod:`.feed`) and what the proactive
batch made of it (:mod:`.proactive`). Django registers each because this package
imports it."""

from huzhu.feeds.models.feed import (
    Feed,
    FeedCollision,
    FeedCollisionQuerySet,
    FeedQuerySet,
    FeedRow,
    FeedRowQuerySet,
    FeedToken,
    FeedTokenQuerySet,
    Settlement,
    SettlementQuerySet,
    made_within,
)
from huzhu.feeds.models.proactive import (
    BatchRun,
    BatchRunQuerySet,
    StayOutcome,
    StayOutcomeQuerySet,
)

__all__ = ["BatchRun", "BatchRunQuerySet", "Feed", "FeedCollision", "FeedCollisionQuerySet",
           "FeedQuerySet", "FeedRow",
           "FeedRowQuerySet", "FeedToken", "FeedTokenQuerySet", "Settlement",
           "SettlementQuerySet", "StayOutcome", "StayOutcomeQuerySet", "made_within"]
