"""The usual amounts the ``unusual_amount`` signal compares with, as a snapshot table.

A median over 500,000 approved claims cannot be taken on every queue page (a pass over
the whole history takes about a second), and it changes slowly: one approval moves it by
at most one rank. So the work queue reads a snapshot, one row per scheme, benefit and
main diagnosis category, refreshed when it is older than ``MAX_AGE`` (the queue may lag
the latest approvals by that much); the claim page's :func:`huzhu.claims.flags.flags_for`
computes its one group's median live. Kept in the database, the snapshot goes wherever
the data goes (a test's rollback, a restore).

Imported by ``followups.py`` (which ``models.py`` imports), so Django registers the model.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, connections, models, transaction
from django.utils import timezone

MAX_AGE = dt.timedelta(minutes=10)
THRESHOLD = {"max_digits": 16, "decimal_places": 3}  # 3 × a median of half fen


class ClaimAmountNorm(models.Model):
    scheme = models.ForeignKey("coverage.Scheme", verbose_name="保障项目",
                               on_delete=models.CASCADE, related_name="+")
    benefit = models.CharField("保障项目代码", max_length=64)
    category = models.CharField("主诊断类目", max_length=3)
    n = models.PositiveIntegerField("已审批笔数")
    median = models.DecimalField("中位数", **THRESHOLD)
    # Above these the amount is unusual: a claim outside the history is compared with all
    # of it; a claim of the history with the others only (see flags._with_unusual).
    threshold = models.DecimalField("提示线", **THRESHOLD, null=True)
    threshold_in_history = models.DecimalField("提示线（本笔已审批）", **THRESHOLD, null=True)
    computed_at = models.DateTimeField("计算时间")

    class Meta:
        verbose_name = "同诊断通常金额"
        verbose_name_plural = "同诊断通常金额"
        constraints = [models.UniqueConstraint(fields=["scheme", "benefit", "category"],
                                               name="claims_norm_group")]

    def __str__(self) -> str:
        return f"{self.scheme_id} {self.benefit} {self.category} {self.median}"


def ensure_fresh() -> None:
    """Refresh the snapshot if it is older than ``MAX_AGE``, or missing while there is
    history to take it from."""
    from huzhu.claims.flags import HISTORY_STATES
    from huzhu.claims.models import Claim

    newest = ClaimAmountNorm.objects.aggregate(at=models.Max("computed_at"))["at"]
    if newest is not None and timezone.now() - newest < MAX_AGE:
        return
    if newest is None and not Claim.objects.filter(state__in=HISTORY_STATES).exists():
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
    from huzhu.claims.flags import CATEGORY, HISTORY_STATES
    from huzhu.claims.models import Claim

    qs = (Claim.objects.filter(state__in=HISTORY_STATES, final__isnull=False)
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


def _norm(group: tuple, values: list, now) -> ClaimAmountNorm:
    from huzhu.claims.flags import UNUSUAL_FACTOR, UNUSUAL_MIN_HISTORY

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
