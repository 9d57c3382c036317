"""The usual amounts (同诊断通常金额) of approved claims, kept in the
:class:`~huzhu.claims.models.ClaimAmountNorm` snapshot for the work queue's
``unusual_amount`` signal (:mod:`huzhu.claims.flags`): what counts as unusual, and the
refresh that recomputes every group's median from the given history.

The rule's constants and the diagnosis-category expression live here, below the flags
module, because both the refresh and the flags' SQL use them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, connections, models, transaction
from django.db.models import CharField, Func
from django.utils import timezone

from huzhu.claims.models import Claim, ClaimAmountNorm

MAX_AGE = dt.timedelta(minutes=10)  # how far the queue's signal may lag the approvals
UNUSUAL_FACTOR = Decimal(3)
UNUSUAL_MIN_HISTORY = 20


class _MainCategory(Func):
    """``UPPER(SUBSTRING(diagnosis, 1, 3))``, the history index's expression, with the
    positions written into the SQL. ``Upper(Substr("diagnosis", 1, 3))`` binds them as
    parameters, which SQLite keeps as ``?``: the query's expression then no longer
    matches the index's (``1, 3`` in the DDL) and SQLite scanned every claim for one
    claim's usual amount (1.6 s at 500,000 claims). PostgreSQL's client-side binding
    inlined them, so it matched there; the SQL it gets is unchanged."""

    template = "UPPER(SUBSTRING(%(expressions)s, 1, 3))"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template="UPPER(SUBSTR(%(expressions)s, 1, 3))", **extra)


CATEGORY = _MainCategory("diagnosis")  # as the history index is built


def ensure_fresh() -> None:
    """Refresh the snapshot if it is older than ``MAX_AGE``, or missing while there is
    history to take it from."""
    newest = ClaimAmountNorm.objects.aggregate(at=models.Max("computed_at"))["at"]
    if newest is not None and timezone.now() - newest < MAX_AGE:
        return
    if newest is None and not Claim.objects.filter(state__in=Claim.GIVEN).exists():
        return
    refresh()


def refresh() -> int:
    """Recompute every group from the approved history in one pass; the group count."""
    groups = _history_amounts()
    now = timezone.now()
    rows = [_norm(group, sorted(values), now) for group, values in groups.items()]
    try:
        with transaction.atomic():
            ClaimAmountNorm.objects.all().delete()
            ClaimAmountNorm.objects.bulk_create(rows, batch_size=1000)
    except IntegrityError:
        pass  # refreshed at the same moment by another request: theirs is as good
    return len(rows)


def _history_amounts() -> dict[tuple, list]:
    """Each group's approved amounts, read raw: the driver's numbers sort as the amounts
    do, and only each group's middle values become Decimals."""
    qs = (Claim.objects.filter(state__in=Claim.GIVEN, final__isnull=False)
          .exclude(diagnosis="").annotate(_cat=CATEGORY)
          .values_list("scheme_id", "benefit", "_cat", "final").order_by())
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    groups: dict[tuple, list] = defaultdict(list)
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(20_000):
            for scheme_id, benefit, category, final in rows:
                groups[(scheme_id, benefit, category)].append(final)
    return groups


def _decimal(value) -> Decimal:
    # SQLite returns floats: str() gives back the two-decimal number that was stored.
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _median(values: list, n: int) -> Decimal:
    """The median of the ``n`` smallest of sorted ``values``."""
    return (_decimal(values[(n - 1) // 2]) + _decimal(values[n // 2])) / 2


def _norm(group: tuple, values: list, now: dt.datetime) -> ClaimAmountNorm:
    scheme_id, benefit, category = group
    n = len(values)
    median = _median(values, n)
    return ClaimAmountNorm(
        scheme_id=scheme_id, benefit=benefit, category=category, n=n, median=median,
        threshold=UNUSUAL_FACTOR * median if n >= UNUSUAL_MIN_HISTORY else None,
        # Leaving the largest amount out: what a claim of the history above its median
        # is compared with (the others' median is the same whichever high one leaves).
        threshold_in_history=UNUSUAL_FACTOR * _median(values, n - 1)
        if n - 1 >= UNUSUAL_MIN_HISTORY else None,
        computed_at=now)
