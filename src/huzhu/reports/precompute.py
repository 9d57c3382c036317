"""The usual statistics pages computed ahead, when payouts post: housekeeping (every
minute) records the new payouts (:func:`huzhu.reports.paid.refresh`) and then, when the
recorded payouts changed or the kept figures near their ten minutes, computes the figures
of every scheme's pages of this year and last year — the scheme's own node and every node
below it that has children (the drill-down pages; a grassroots union's page takes a few
milliseconds on its own) — into the database cache the pages read
(:func:`huzhu.reports.figures.statistics_for`). A city page then answers from the cache
instead of aggregating a year of payouts per request.
"""

from __future__ import annotations

import datetime as dt
import time

from django.core.cache import caches
from django.utils import timezone

from huzhu.coverage.models import Scheme
from huzhu.orgs.models import Union
from huzhu.reports import figures, paid

STATE_KEY = "huzhu:reports:precomputed"
# Computed again before the cached figures (figures.CACHE_SECONDS) expire.
RENEW_AFTER = dt.timedelta(seconds=figures.CACHE_SECONDS * 0.8)


def due(version: int, now: dt.datetime | None = None) -> bool:
    state = caches["reports"].get(STATE_KEY)
    if state is None:
        return True
    done_version, done_at = state
    return done_version != version or (now or timezone.now()) - done_at >= RENEW_AFTER


def nodes(scheme: Scheme) -> list[Union]:
    """The scheme's node and the nodes below it with children, top first."""
    parents = set(Union.objects.filter(path__startswith=scheme.union.path,
                                       parent__isnull=False)
                  .values_list("parent_id", flat=True))
    below = Union.objects.filter(path__startswith=scheme.union.path, pk__in=parents)
    return sorted({scheme.union, *below}, key=lambda u: (u.path.count("/"), u.path))


def precompute(years: list[int] | None = None, *, force: bool = False) -> int:
    """Compute the usual pages' figures unless they are current; how many were computed."""
    version = paid.version()
    if not force and not due(version):
        return 0
    this_year = timezone.localdate().year
    computed = 0
    for scheme in Scheme.objects.select_related("union"):
        for year in years or [this_year, this_year - 1]:
            start, end = figures.year_range(year)
            for union in nodes(scheme):
                sel = figures.select(None, scheme, start=start, end=end, union=union)
                caches["reports"].set(figures.cache_key(sel, version),
                                      figures.statistics_for(sel, refresh=False, cached=False),
                                      figures.CACHE_SECONDS)
                computed += 1
    caches["reports"].set(STATE_KEY, (version, timezone.now()), None)
    return computed


def timed(years: list[int] | None = None) -> tuple[int, float]:
    """(pages computed, seconds): for the bench."""
    started = time.perf_counter()
    n = precompute(years, force=True)
    return n, time.perf_counter() - started
