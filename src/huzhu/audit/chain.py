"""The audit log as a hash chain: each entry carries the hash of the one before it.

An entry's ``hash`` is SHA-256 over a canonical text of its fields (time, actor, action,
object, union path, summary, changes) and ``prev_hash``, the hash of the entry with the
next lower id (the first entry's ``prev_hash`` is empty). Editing an entry in the database
breaks its own hash; deleting one breaks its successor's link; a row inserted out of turn
links to an entry that already has a successor, or to nothing. ``huzhu audit verify`` walks
the chain in id order and names the first such entry.

An attacker with write access to the database could recompute every hash after an edit:
the head hash written daily to the log of ``huzhu serve`` (``huzhu audit anchor``), kept
elsewhere, is what catches that — ``huzhu audit verify --anchor HASH`` checks that the
chain still passes through it.

Appending is serialised: on PostgreSQL by a transaction-level advisory lock taken in the
same transaction as the insert (two processes appending at once would otherwise both
link to the same head and fork the chain); SQLite serialises writers itself (``BEGIN
IMMEDIATE``). The entry's time is stamped under the lock, so id order is time order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils import timezone

if TYPE_CHECKING:
    from huzhu.audit.models import AuditEntry

GENESIS = ""  # the first entry's prev_hash
# pg_advisory_xact_lock's key for "appending to the audit chain" (any fixed 64-bit number
# no other part of the app uses; the ASCII of "huzhuaud").
LOCK_KEY = 0x68757A6875617564
CHUNK = 20_000  # rows per fetch when walking the chain
_HEX64 = re.compile(r"[0-9a-f]{64}")

# The fields an entry's hash covers, in this order (values_list order of the walk too).
FIELDS = ("at", "actor_id", "action", "object_type", "object_id", "union_path", "summary",
          "changes")


# ------------------------------------------------------------------ hashing

# A string as JSON writes it (quoted, escaped, non-ASCII kept): the C encoder's own.
_quote = json.encoder.encode_basestring


def _number(value: int | float) -> str:
    """A JSON number as text that does not depend on how the database kept it: PostgreSQL's
    jsonb gives 1e20 back as 100000000000000000000 and keeps 1.0 as 1.0."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    exact = Decimal(repr(value) if isinstance(value, float) else str(value))
    return "0" if exact == 0 else str(exact.normalize())


def canonical(value: Any) -> str:
    """JSON-like text of ``value`` with sorted keys and normalised numbers: the same for a
    value before it is stored and after it is read back from either database."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quote(str(k))}:{canonical(value[k])}"
                              for k in sorted(value, key=str)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join([canonical(v) for v in value]) + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _number(value)
    return _quote(str(value))


def as_stored(changes: Any) -> Any:
    """``changes`` as the database gives it back (tuples as lists, keys as text)."""
    return json.loads(json.dumps(changes))


def _time(at: dt.datetime) -> str:
    """UTC to the microsecond, e.g. 2026-12-08T07:55:24.000123Z."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds") + "Z"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def entry_hash(prev_hash: str, at: dt.datetime, actor_id: int | None, action: str,
               object_type: str, object_id: Any, union_path: str, summary: str,
               changes: Any) -> str:
    """SHA-256 (hex) of one entry's fields and its predecessor's hash. The fields are
    written as a JSON list (every string quoted and escaped, so no newline inside), then a
    newline, then the changes in :func:`canonical` form: no two different entries share
    the text."""
    actor = "null" if actor_id is None else str(int(actor_id))
    head = ",".join([_quote(prev_hash), _quote(_time(at)), actor, _quote(_text(action)),
                     _quote(_text(object_type)), _quote(_text(object_id)),
                     _quote(_text(union_path)), _quote(_text(summary))])
    return hashlib.sha256(f"[{head}]\n{canonical(changes)}".encode()).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    return entry_hash(entry.prev_hash, entry.at, entry.actor_id, entry.action,
                      entry.object_type, entry.object_id, entry.union_path, entry.summary,
                      as_stored(entry.changes))


# ------------------------------------------------------------------ appending

def lock_head(using: str = "default") -> str:
    """Take the chain's append lock (until the current transaction ends) and return the
    head hash. Call inside ``transaction.atomic``."""
    from huzhu.audit.models import AuditEntry

    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_signed(LOCK_KEY)])
    # After the lock: a fresh statement sees every entry its holders committed.
    last = (AuditEntry.objects.using(using).order_by("-id").values_list("hash", flat=True)
            .first())
    return GENESIS if last is None else last


def _signed(key: int) -> int:
    return key - (1 << 64) if key >= 1 << 63 else key


def stamp(entries: Iterable[AuditEntry], prev_hash: str) -> str:
    """Give each entry (in insert order) its time, link and hash; the new head hash."""
    now = timezone.now()
    for entry in entries:
        entry.at = now
        entry.prev_hash = prev_hash
        entry.hash = prev_hash = hash_of(entry)
    return prev_hash


# ------------------------------------------------------------------ walking

@dataclass(frozen=True)
class Row:
    id: int
    at: dt.datetime
    own_ok: bool  # the stored hash is the hash of the stored fields
    prev_hash: str
    hash: str

    def named(self) -> str:
        return f"第 {self.id} 号记录（{when(self.at)}）"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int  # entries found intact before the problem (all of them when ok)
    head: Row | None  # the last intact entry
    problem: str = ""

    @property
    def head_hash(self) -> str:
        return self.head.hash if self.head else GENESIS


def when(at: dt.datetime) -> str:
    """Local time to the second; a naive time is SQLite's UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M:%S}"


def rows(chunk_size: int = CHUNK, using: str = "default") -> Iterator[Row]:
    """Every entry in id order with its own hash checked, streamed: a server-side cursor
    on PostgreSQL, SQLite's own stepping, and no model converters (a million entries are
    read in seconds, not minutes). Times come as text from SQLite (UTC) and as aware
    datetimes from PostgreSQL; changes as JSON text from both."""
    from huzhu.audit.models import AuditEntry

    connection = connections[using]
    q = connection.ops.quote_name
    sql = (f"SELECT {', '.join(q(c) for c in ('id', *FIELDS, 'prev_hash', 'hash'))} "
           f"FROM {q(AuditEntry._meta.db_table)} ORDER BY {q('id')}")
    parse_time = dt.datetime.fromisoformat
    loads = json.loads
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(chunk_size):
            for (pk, at, actor_id, action, object_type, object_id, union_path, summary,
                 changes, prev_hash, stored) in batch:
                if isinstance(at, str):
                    at = parse_time(at)
                if isinstance(changes, str | bytes):
                    changes = loads(changes)
                own = entry_hash(prev_hash, at, actor_id, action, object_type, object_id,
                                 union_path, summary, changes)
                yield Row(pk, at, own == stored, prev_hash, stored)


def verify(anchor: str = "", chunk_size: int = CHUNK, using: str = "default") -> Verdict:
    """Walk the chain; the first entry edited, deleted or inserted out of turn fails it.
    ``anchor``: a head hash kept elsewhere, which the chain must pass through."""
    count, prev = 0, None
    anchored = not anchor
    walk = rows(chunk_size, using)
    current = next(walk, None)
    while current is not None:
        after = next(walk, None)
        expected = prev.hash if prev else GENESIS
        if not (current.own_ok and current.prev_hash == expected):
            return Verdict(False, count, prev, _problem(prev, current, after, using))
        count += 1
        prev = current
        anchored = anchored or current.hash == anchor
        current = after
    if not anchored:
        return Verdict(False, count, prev,
                       f"锚点哈希 {anchor} 不在审计日志中：记下该锚点之后，有记录被删除，"
                       "或者被改动后重算了哈希")
    return Verdict(True, count, prev)


def _problem(prev: Row | None, row: Row, after: Row | None, using: str) -> str:
    """What happened at ``row``, the first entry that does not fit the chain."""
    expected = prev.hash if prev else GENESIS
    linked = row.prev_hash == expected
    skipped_by_next = after is not None and after.prev_hash == expected
    if not row.own_ok:
        # Every entry appended through the chain has a hash of 64 hex digits.
        sealed = _HEX64.fullmatch(row.hash) is not None
        if sealed and (linked or (after is not None and after.prev_hash == row.hash)):
            return f"{row.named()}被改动：内容与其哈希不符"
        return f"{row.named()}是插入的，不在原链上：它的哈希与内容不符"
    claimed = _claimed_predecessor(row, using)
    if skipped_by_next or claimed is not None:
        where = (f"它接在第 {claimed[0]} 号记录（{when(claimed[1])}）之后"
                 if claimed is not None else "它的下一条记录跳过了它")
        after_prev = f"，却排在{prev.named()}之后" if prev and claimed is not None else ""
        return f"{row.named()}是插入的，不在原链上：{where}{after_prev}"
    if prev is None:
        return f"{row.named()}之前的记录被删除（它本应接在更早的记录之后）"
    missing = ""
    if row.id - prev.id == 2:
        missing = f"（缺第 {prev.id + 1} 号）"
    elif row.id - prev.id > 2:
        missing = f"（缺第 {prev.id + 1}–{row.id - 1} 号）"
    return (f"{prev.named()}之后、{row.named()}之前的记录被删除{missing}，"
            f"或者{prev.named()}被改动后重算了哈希")


def _claimed_predecessor(row: Row, using: str) -> tuple[int, dt.datetime] | None:
    """The entry whose hash ``row`` links to, when that is not its predecessor in id order
    (one scan, only once a problem is found)."""
    from huzhu.audit.models import AuditEntry

    if not row.prev_hash:
        return None
    return (AuditEntry.objects.using(using).filter(hash=row.prev_hash).exclude(pk=row.id)
            .order_by("id").values_list("id", "at").first())


# ------------------------------------------------------------------ the anchor

@dataclass(frozen=True)
class Anchor:
    count: int
    head_id: int | None
    hash: str
    at: dt.datetime  # when the anchor was taken

    def text(self) -> str:
        if self.head_id is None:
            return f"审计日志锚点：{when(self.at)}，审计日志为空"
        return (f"审计日志锚点：{when(self.at)}，共 {self.count:,} 条，"
                f"链头第 {self.head_id} 号，链头哈希 {self.hash}")


def anchor(using: str = "default") -> Anchor:
    """The chain's head now: its hash, id and the number of entries up to it."""
    from huzhu.audit.models import AuditEntry

    entries = AuditEntry.objects.using(using)
    head = entries.order_by("-id").values_list("id", "hash").first()
    if head is None:
        return Anchor(0, None, GENESIS, timezone.now())
    return Anchor(entries.filter(id__lte=head[0]).count(), head[0], head[1], timezone.now())
