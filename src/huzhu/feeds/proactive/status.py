"""What the proactive batch has and has not evaluated yet (for the statistics pages)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from huzhu.feeds.models import Settlement
from huzhu.feeds.models.proactive import StayOutcome


def open_settlements(user, scheme=None) -> QuerySet[Settlement]:
    """Settlement rows in the user's scope that no run has evaluated yet (under
    ``scheme`` when given, else under any scheme). A stay a run found no member for
    stays open: a member registered later makes it one to evaluate."""
    return unevaluated(scheme) & Settlement.objects.visible_to(user)


def unevaluated(scheme=None) -> QuerySet[Settlement]:
    """Every settlement row no run has evaluated (under ``scheme`` when given)."""
    evaluated = StayOutcome.objects.filter(stay=OuterRef("pk")).exclude(
        outcome=StayOutcome.Outcome.UNMATCHED)
    if scheme is not None:
        evaluated = evaluated.filter(run__scheme=scheme)
    return Settlement.objects.filter(~Exists(evaluated))
