"""受益率 on the statistics page: for a scheme with proactive benefits (免申即享), the share
of the eligible that was given, by count and by amount, for the node shown and each of
its children — read from the 应享未享 service (:mod:`huzhu.feeds.proactive.gaps`), for
the events (discharge dates) in the page's date range.

The figures are kept briefly in the reports cache: the gaps are a handful of GROUP BY
statements over the city's stays and claims, and the page is opened far more often than
the figures change.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import caches

from huzhu.feeds.proactive import gaps
from huzhu.feeds.proactive.inputs import applicable
from huzhu.reports.figures import Selection

CACHE_SECONDS = 120


@dataclass
class TakeUp:
    total: gaps.Line  # the node shown
    by_union: list[gaps.Line]  # its children (empty for a grassroots union)


def cache_key(sel: Selection) -> str:
    return (f"huzhu:reports:take-up:{sel.scheme.pk}:{sel.union.pk}:"
            f"{sel.start.isoformat()}:{sel.end.isoformat()}")


def take_up_for(sel: Selection, *, cached: bool = True) -> TakeUp | None:
    """The node's take-up and its children's (None: the scheme pays nothing from the
    settlement feeds, so there is no rate to show)."""
    if applicable(sel.scheme.policy()).empty:
        return None
    cache = caches["reports"]
    key = cache_key(sel)
    if cached and isinstance(found := cache.get(key), TakeUp):
        return found
    # The selection's node is already checked against the user's scope and the
    # scheme's tree: the figures are the node's, whoever looks.
    scope = gaps.Scope(sel.scheme, sel.union, None, sel.start, sel.end)
    summary = gaps.summarise(scope)
    children = gaps.by_children(summary)
    result = TakeUp(summary.total, [] if children[0].union_id == sel.union.pk else children)
    cache.set(key, result, CACHE_SECONDS)
    return result
