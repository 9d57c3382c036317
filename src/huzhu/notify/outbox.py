"""The outbox's public API: what the coverage and claims apps call to send a message.

    from huzhu.notify import outbox

    outbox.register_kind("coverage.renewal", "续保提醒")          # in AppConfig.ready
    outbox.enqueue(kind="coverage.renewal", to=member.phone, text="…",
                   dedupe_key=f"coverage.renewal:{period.pk}:{member.pk}", member=member)
    outbox.enqueue_many(outbox.Draft(...) for member in members)

Writing a message never sends it: the background task (``send_outbox``), which
``huzhu manage housekeeping`` queues every minute, or ``huzhu notify send`` does. Enqueue
inside the caller's transaction: if it rolls back, the messages go with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from huzhu.lib.sql import is_postgresql, quote
from huzhu.members.phone import PhoneError, parse_mobile
from huzhu.notify.kinds import is_registered, kind_label, register_kind
from huzhu.notify.models import MAX_TEXT, OutboxMessage

__all__ = ["Draft", "Enqueued", "enqueue", "enqueue_many", "kind_label", "register_kind",
           "sms_number"]

BATCH_SIZE = 2000


@dataclass(frozen=True, slots=True)
class Draft:
    """One message to enqueue. ``member`` and ``union`` may be objects or ids; without a
    union the message belongs to the member's (given as an object), whose staff see it.
    ``params``: the text's variables, for template-only providers (see the README)."""

    kind: str
    to: str
    text: str
    dedupe_key: str
    member: Any = None
    union: Any = None
    params: dict | None = None


class Enqueued(int):
    """How many new rows were written (the int itself), and what was left out:
    ``no_phone`` drafts without a valid mainland mobile number (the caller's
    "N 人无手机号") and ``duplicates`` whose key was already in the outbox."""

    no_phone: int
    duplicates: int

    def __new__(cls, created: int, *, no_phone: int = 0, duplicates: int = 0) -> Enqueued:
        value = super().__new__(cls, created)
        value.no_phone, value.duplicates = no_phone, duplicates
        return value

    def __repr__(self) -> str:
        return (f"Enqueued({int(self)}, no_phone={self.no_phone}, "
                f"duplicates={self.duplicates})")


def sms_number(raw: str | None) -> str | None:
    """The 11-digit mainland mobile number in ``raw``, or None when there is none (a
    landline, a typo, empty): such a member cannot be sent an SMS."""
    try:
        return parse_mobile(raw or "")
    except PhoneError:
        return None


def enqueue(*, kind: str, to: str, text: str, dedupe_key: str, member=None,
            union=None, params: dict | None = None) -> OutboxMessage | None:
    """Write one message; None when ``to`` is not a mobile number or ``dedupe_key`` is
    already in the outbox (whoever wrote it first, even a concurrent caller).

    ``params``: the text's variables by name (``{"name": "张三", "deadline": "12月31日"}``),
    for gateways whose provider sends only pre-approved templates."""
    row = _prepare(Draft(kind, to, text, dedupe_key, member, union, params))
    if row is None:
        return None
    message = OutboxMessage(channel=OutboxMessage.Channel.SMS, **row._asdict())
    try:
        # A savepoint: the unique key's refusal must not break the caller's transaction.
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        if OutboxMessage.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise  # another constraint (a member or union that does not exist)
    return message


def enqueue_many(drafts: Iterable[Draft], *, batch_size: int = BATCH_SIZE) -> Enqueued:
    """Write many messages in bulk; returns how many rows are new (an :class:`Enqueued`,
    which also counts the drafts without a mobile number and the duplicates)."""
    created = no_phone = seen = 0
    writer = _BulkWriter()
    iterator = iter(drafts)
    while batch := list(islice(iterator, batch_size)):
        seen += len(batch)
        rows = [row for row in map(_prepare, batch) if row is not None]
        no_phone += len(batch) - len(rows)
        created += writer.insert(rows)
    return Enqueued(created, no_phone=no_phone, duplicates=seen - no_phone - created)


class _Row(NamedTuple):
    kind: str
    to: str
    text: str
    dedupe_key: str
    member_id: int | None
    union_id: int | None
    params: dict


def _prepare(draft: Draft) -> _Row | None:
    """The checked values of a draft; None when it has no mobile number."""
    _check(draft)
    number = sms_number(draft.to)
    if number is None:
        return None
    member_id = _id_of(draft.member)
    union_id = _id_of(draft.union)
    if union_id is None and draft.member is not None and not isinstance(draft.member, int):
        union_id = draft.member.union_id  # its staff see it, like the member
    return _Row(draft.kind, number, draft.text, draft.dedupe_key, member_id, union_id,
                draft.params or {})


def _check(draft: Draft) -> None:
    """Mistakes of the calling code, not of the data: raise, never skip silently."""
    if not is_registered(draft.kind):
        raise ValueError(f"未登记的通知类型：{draft.kind}（先调用 register_kind）")
    if not draft.text or len(draft.text) > MAX_TEXT:
        raise ValueError(f"短信内容应为 1 至 {MAX_TEXT} 个字，而不是 {len(draft.text)} 个")
    if not draft.dedupe_key or len(draft.dedupe_key) > 200:
        raise ValueError("去重键应为 1 至 200 个字符")
    if draft.params is not None and not isinstance(draft.params, dict):
        raise ValueError("模板参数应为字典（变量名 → 值）")


def _id_of(value: Any) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return value.pk


class _BulkWriter:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING, counting the rows the database really
    wrote: exact even when a concurrent caller wrote some of the keys.

    Not ``bulk_create``: it prepares every field of every object in Python (7 s for
    100,000 messages) and cannot say how many rows it wrote when it ignores conflicts.
    SQLite takes multi-row VALUES; PostgreSQL one statement per batch over ``unnest`` of
    one array per column (a VALUES list of thousands of placeholders is parsed slowly by
    psycopg's client-side binding)."""

    COLUMNS = (*_Row._fields, "next_attempt_at", "created_at", "channel", "state",
               "attempts", "claim_token", "last_error", "provider_id")
    CONSTANTS = (f"'{OutboxMessage.Channel.SMS.value}', '{OutboxMessage.State.PENDING.value}',"
                 " 0, '', '', ''")
    MAX_ROWS = 500

    def __init__(self) -> None:
        self.head = (f"INSERT INTO {quote(OutboxMessage._meta.db_table)} "
                     f"({', '.join(quote(c) for c in self.COLUMNS)}) ")
        self.tail = f" ON CONFLICT ({quote('dedupe_key')}) DO NOTHING"
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.now = [now, now]
        self.postgres = is_postgresql()
        per_row = len(_Row._fields) + 2
        limit = connection.features.max_query_params or per_row * self.MAX_ROWS
        self.rows_per_statement = max(1, min(self.MAX_ROWS, limit // per_row))

    def insert(self, rows: list[_Row]) -> int:
        if not rows:
            return 0
        # One transaction per batch: in autocommit SQLite would commit every statement.
        with transaction.atomic(), connection.cursor() as cursor:
            if self.postgres:
                return self._insert_unnest(cursor, rows)
            return self._insert_values(cursor, rows)

    def _insert_values(self, cursor, rows: list[_Row]) -> int:
        one = f"({', '.join(['%s'] * (len(_Row._fields) + 2))}, {self.CONSTANTS})"
        written = 0
        for start in range(0, len(rows), self.rows_per_statement):
            chunk = rows[start:start + self.rows_per_statement]
            values = [v for row in chunk for v in (*row[:-1], _json(row.params), *self.now)]
            cursor.execute(f"{self.head}VALUES {', '.join([one] * len(chunk))}{self.tail}",
                           values)
            written += max(cursor.rowcount, 0)
        return written

    def _insert_unnest(self, cursor, rows: list[_Row]) -> int:
        columns = list(zip(*rows, strict=True))
        columns[-1] = [_json(p) for p in columns[-1]]
        types = ("text", "text", "text", "text", "bigint", "bigint", "text")
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        sql = (f"{self.head}SELECT k, t, x, d, m, u, p::jsonb, %s, %s, {self.CONSTANTS} "
               f"FROM unnest({arrays}) AS r(k, t, x, d, m, u, p){self.tail}")
        cursor.execute(sql, [*self.now, *map(list, columns)])
        return max(cursor.rowcount, 0)


def _json(params: dict) -> str:
    return json.dumps(params, ensure_ascii=False) if params else "{}"
