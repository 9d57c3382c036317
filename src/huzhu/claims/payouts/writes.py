"""The set-based writes that building and settling a batch share: claims moved from one
state to another by primary key, their history rows, audit entries and transition
signals (what :func:`huzhu.claims.workflow.apply` writes for one claim, here for ten
thousand in a few statements), and plain INSERTs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from huzhu.audit.bulk import AuditRows
from huzhu.audit.models import AuditEntry
from huzhu.claims import workflow
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.signals import claim_transitioned
from huzhu.orgs.models import User

S = Claim.State
CHUNK = 500  # ids per IN list: SQLite bounds the parameters of one statement


def chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def record_step(user: User, claims: list[Claim], action: str, before: str, after: str,
                note: str, *, label: str | None = None, signal: bool = True) -> None:
    """The claims' history rows and audit entries, as ``workflow.apply`` writes them, then
    ``claim_transitioned`` for each (the claims already carry their new state).

    ``label``: the step's name for a step outside the workflow's table (a 退票);
    ``signal=False``: the caller sends the member's SMS itself, in bulk."""
    now = db_now()
    insert(ClaimEvent, ("claim_id", "at", "actor_id", "action", "from_state", "to_state",
                        "note", "amount"),
           [(c.pk, now, user.pk, action, before, after, note[:300], db_money(c.final))
            for c in claims])
    label = label or workflow.TRANSITIONS[action].label
    states = [S(before).label, S(after).label]
    rows = AuditRows(user)
    for c in claims:
        rows.add(AuditEntry.Action.CLAIM_CHANGED, "claim", c.pk, c.member.union.path,
                 f"理赔 {c.number}（{c.member.name} {c.benefit_name}）：{label}，{note}",
                 {"state": states, "amount": str(c.final)})
        if len(rows.pending) >= 2000:
            rows.flush()
    rows.flush()
    if signal:
        for c in claims:
            claim_transitioned.send(sender=Claim, claim=c, step=action, user=user)


def move(claim_ids: list[int], before: str, **values: Any) -> int:
    """Claims ``before`` → ``values``, by primary key in chunks (an IN over a subquery
    got a nested loop on PostgreSQL before its statistics caught up); the count moved."""
    values.setdefault("updated_at", timezone.now())
    return sum(Claim.objects.filter(pk__in=chunk, state=before).update(**values)
               for chunk in chunks(sorted(claim_ids)))


def insert(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Plain INSERTs for ten thousand rows: ``bulk_create`` prepares every field of every
    object in Python, which was most of a batch's time (the same reason as
    :class:`huzhu.audit.bulk.AuditRows`). Values come adapted. SQLite runs in process,
    so ``executemany`` is cheapest there; PostgreSQL takes the rows by COPY (Django's
    client-side binding spent seconds parsing large multi-row INSERTs)."""
    q = connection.ops.quote_name
    table, names = q(model._meta.db_table), ", ".join(q(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's own cursor: Django's error translation (IntegrityError) by hand.
            with connection.wrap_database_errors, \
                    cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES "
                           f"({', '.join(['%s'] * len(columns))})", rows)


def db_now() -> Any:
    return connection.ops.adapt_datetimefield_value(timezone.now())


def db_money(amount: Decimal | None) -> Any:
    return connection.ops.adapt_decimalfield_value(amount, 14, 2)
