"""Keep :class:`~huzhu.reports.models.PaidPayout` up to date: every paid payout, once.

:func:`refresh` adds the payouts paid since the last refresh (found by the
``(state, updated_at)`` index of payouts; ten minutes of overlap catch a payment
committed late, and the primary key keeps each payout once), set-based: one INSERT …
SELECT per scheme, which decides its tier by the scheme's policy
(:mod:`huzhu.reports.tiers`), and one DELETE of the payouts the bank has since returned
(退票). It runs before every statistics query and every minute in
``huzhu manage housekeeping``, so the figures are current. A scheme whose pinned policy
changed gets its tiers decided again.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from huzhu.claims.models import Claim, Payout
from huzhu.coverage.models import Scheme
from huzhu.lib.sql import quote
from huzhu.members.models import Member
from huzhu.reports import tiers
from huzhu.reports.models import PaidPayout, ReportSync

# A payment committed after a refresh began but stamped before it is found by the next
# one: mark_paid stamps its payouts inside its transaction, which takes seconds (half a
# minute for 10,000 payouts), never minutes.
OVERLAP = dt.timedelta(minutes=10)
KEY = "paid"


def _t(model: type[models.Model]) -> str:
    return quote(model._meta.db_table)


def cycle_days_sql() -> str:
    """Whole days from the submission (local date) to the payment date."""
    tz = settings.TIME_ZONE
    if connection.vendor == "postgresql":
        return f"(p.paid_on - CAST(timezone('{tz}', c.submitted_at) AS date))"
    from zoneinfo import ZoneInfo

    hours = int(dt.datetime.now(ZoneInfo(tz)).utcoffset().total_seconds() // 3600)
    return (f"CAST(julianday(p.paid_on) - julianday(date(c.submitted_at, "
            f"'{hours:+d} hours')) AS INTEGER)")


def refresh() -> int:
    """Record the payouts paid since the last refresh; returns how many were added."""
    with transaction.atomic():
        state, _ = ReportSync.objects.select_for_update().get_or_create(name=KEY)
        now = timezone.now()
        since = state.synced_until - OVERLAP if state.synced_until else None
        schemes = list(Scheme.objects.only("id", "code", "policy_text", "policy_hash"))
        added = 0
        hashes = dict(state.policy_hashes)
        changed = False
        for scheme in schemes:
            plan = tiers.plan(scheme.policy())
            if hashes.get(str(scheme.pk)) not in (None, scheme.policy_hash):
                _retier(scheme, plan)
                changed = True
            hashes[str(scheme.pk)] = scheme.policy_hash
            added += _insert(scheme, plan, since)
        dropped = _drop_returned(since)
        state.synced_until, state.policy_hashes = now, hashes
        if added or changed or dropped:
            state.version += 1
        state.save()
    return added


def version() -> int:
    """The recorded payouts' version (see :attr:`ReportSync.version`)."""
    return ReportSync.objects.filter(name=KEY).values_list("version", flat=True).first() or 0


def _insert(scheme: Scheme, plan: tiers.TierPlan, since: dt.datetime | None) -> int:
    params: list = [Payout.State.PAID, scheme.pk]
    window = ""
    if since is not None:
        window = " AND p.updated_at >= %s"
        params.append(since)
    sql = (f"INSERT INTO {_t(PaidPayout)} (payout_id, claim_id, scheme_id, member_id, "
           "union_id, paid_on, amount, benefit, tier, cycle_days, proactive) "
           f"SELECT p.id, c.id, c.scheme_id, c.member_id, m.union_id, p.paid_on, p.amount, "
           f"c.benefit, COALESCE({plan.sql}, -1), {cycle_days_sql()}, "
           "c.settlement_id IS NOT NULL "
           f"FROM {_t(Payout)} p JOIN {_t(Claim)} c ON c.id = p.claim_id "
           f"JOIN {_t(Member)} m ON m.id = c.member_id "
           f"WHERE p.state = %s AND c.scheme_id = %s{window} "
           # In payment order: the first refresh of a long history writes each year's
           # rows together, as later refreshes do, so a year is a compact range.
           "ORDER BY p.paid_on, p.id "
           "ON CONFLICT (payout_id) DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _drop_returned(since: dt.datetime | None) -> int:
    """Take out the payouts the bank returned (退票) since the last refresh: the money came
    back, so the statistics no longer count it as paid (the claim's next payout, once the
    account is corrected, is recorded as any other)."""
    params: list[object] = [Payout.State.RETURNED]
    window = ""
    if since is not None:
        window = " AND updated_at >= %s"
        params.append(since)
    sql = (f"DELETE FROM {_t(PaidPayout)} WHERE payout_id IN "
           f"(SELECT id FROM {_t(Payout)} WHERE state = %s{window})")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        deleted: int = cursor.rowcount
    return max(deleted, 0)


def _retier(scheme: Scheme, plan: tiers.TierPlan) -> None:
    sql = (f"UPDATE {_t(PaidPayout)} SET tier = (SELECT COALESCE({plan.sql}, -1) "
           f"FROM {_t(Claim)} c WHERE c.id = {_t(PaidPayout)}.claim_id) WHERE scheme_id = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [scheme.pk])
