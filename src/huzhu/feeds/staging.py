"""The feed's rows in a temporary table, and the set-based statements that import them.

Every data row — valid or not — goes into a temporary table as it is validated: by
``COPY`` on PostgreSQL (psycopg 3's ``cursor.copy``), by ``executemany`` on SQLite, a
batch at a time, so memory stays flat at a million rows and no statement runs per row.
What depends on the database is then one statement each over the whole table: which
settlement IDs are known, which known ones differ (held as collisions), the new stays
(with their member, matched by an equality join on the blind index and the importer's
subtree), and the feed's row outcomes. The table is the connection's own and is dropped at the end.
"""

from __future__ import annotations

import datetime as dt

from django.db import DatabaseError, connection, transaction

from huzhu.feeds.models import Feed, FeedCollision, FeedRow, Settlement
from huzhu.feeds.rows import SettlementRow
from huzhu.lib.sql import is_postgresql, quote
from huzhu.members.models import Member
from huzhu.orgs.models import Union

STAGE = "feeds_stage"
BATCH_ROWS = 20_000
TEMP_BUFFERS = "512MB"  # PostgreSQL, this session only
WORK_MEM = "256MB"  # PostgreSQL, the import's transaction only: hash joins of a million rows

FACTS = ("name", "hospital", "admit_date", "discharge_date", "total_cost", "fund_paid",
         "account_paid", "out_of_pocket", "self_pay", "self_expense", "diagnosis")
STAGE_COLUMNS = ("line", "settlement_id", "valid", "message", "id_hash", "id_sealed", *FACTS)


def _stage_ddl() -> str:
    pg = is_postgresql()
    money = "numeric(14, 2)" if pg else "decimal"
    blob = "bytea" if pg else "blob"
    # The data row's number; on SQLite the rowid, so a row is found without an index.
    line = "integer NOT NULL" if pg else "integer PRIMARY KEY"
    temp = "TEMPORARY TABLE" if pg else "TEMP TABLE"
    return (
        f"CREATE {temp} {STAGE} (line {line}, settlement_id varchar(64) NOT NULL, "
        f"valid boolean NOT NULL, known boolean NOT NULL DEFAULT FALSE, "
        f"conflict boolean NOT NULL DEFAULT FALSE, message text NOT NULL, "
        f"id_hash varchar(64), id_sealed {blob}, name varchar(50), hospital varchar(100), "
        f"admit_date date, discharge_date date, total_cost {money}, fund_paid {money}, "
        f"account_paid {money}, out_of_pocket {money}, self_pay {money}, "
        f"self_expense {money}, diagnosis varchar(500))"
    )


def _roomy_temp_buffers() -> None:
    """A temporary table lives in the session's own buffers, 8 MB by default: a million
    staged rows (~300 MB) then go through the kernel page by page, and the import took
    four minutes instead of one. The setting can only change before the session's first
    temporary table; a second import on the same connection keeps what the first set."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except DatabaseError:
        pass


class Stage:
    """The temporary table of one import, on Django's default connection."""

    def __init__(self) -> None:
        self.pg = is_postgresql()
        self.pending: list[tuple] = []
        self.date = connection.ops.adapt_datefield_value
        if self.pg:
            _roomy_temp_buffers()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cursor.execute(_stage_ddl())
            if not self.pg:  # SQLite
                cursor.execute("PRAGMA temp.cache_size = -262144")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")

    # ------------------------------------------------------------ loading

    def add_valid(self, r: SettlementRow, id_hash: str, sealed: bytes) -> None:
        self.pending.append((
            r.row, r.settlement_id, True, "", id_hash, sealed, r.name, r.hospital,
            r.admit_date, r.discharge_date, r.total_cost, r.fund_paid, r.account_paid,
            r.out_of_pocket, r.self_pay, r.self_expense, r.diagnosis,
        ))
        if len(self.pending) >= BATCH_ROWS:
            self.flush()

    def add_invalid(self, row: int, settlement_id: str, message: str) -> None:
        self.pending.append((row, settlement_id[:64], False, message[:300], *(None,) * 13))
        if len(self.pending) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        if self.pg:
            self._copy(rows)
        else:
            self._insert(rows)

    def _copy(self, rows: list[tuple]) -> None:
        # Row by row in COPY's own text format (not lib.sql.copy_csv): the sealed ID
        # numbers are bytes, which psycopg writes as bytea; the batch is already tuples.
        columns = ", ".join(STAGE_COLUMNS)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)

    def _insert(self, rows: list[tuple]) -> None:
        date = self.date
        sql = (f"INSERT INTO {STAGE} ({', '.join(STAGE_COLUMNS)}) "
               f"VALUES ({', '.join(['%s'] * len(STAGE_COLUMNS))})")
        params = [(*v[:8], date(v[8]), date(v[9]), *v[10:]) if v[2] else v for v in rows]
        # One transaction per batch: each row in its own (autocommit) costs ten times more,
        # and the main database's write lock is held only for the batch.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, params)

    # ------------------------------------------------------------ importing

    def analyze(self) -> None:
        """Temporary tables are never analysed by autovacuum: without statistics the
        planner may join a million rows by nested loop."""
        if self.pg:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {STAGE}")

    def lock_settlements(self) -> None:
        """Two feeds imported at once must not both find a settlement ID new. SQLite
        serialises writers already (IMMEDIATE transactions)."""
        if self.pg:
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
                cursor.execute(f"LOCK TABLE {quote(Settlement._meta.db_table)} "
                               "IN SHARE ROW EXCLUSIVE MODE")

    def mark_known(self) -> int:
        """Flag the valid rows whose settlement ID was imported before; returns how many."""
        t = quote(Settlement._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {STAGE} SET known = TRUE WHERE valid AND EXISTS "
                f"(SELECT 1 FROM {t} t WHERE t.settlement_id = {STAGE}.settlement_id)")
            return cursor.rowcount

    def _differs(self, stage: str, stored: str) -> str:
        """SQL: the staged row's facts differ from the stored stay's (NULL-safe)."""
        ne = "IS DISTINCT FROM" if self.pg else "IS NOT"
        pairs = [("id_hash", "id_number_hash"), *((f, f) for f in FACTS)]
        return " OR ".join(f"{stage}.{a} {ne} {stored}.{b}" for a, b in pairs)

    def mark_conflicts(self, message: str) -> int:
        """Flag the known rows whose facts differ from the stay as stored: they are held
        for review (one neutral ``message``, no list of what differs: the stored stay
        may be another union's). Returns how many."""
        t = quote(Settlement._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {STAGE} SET conflict = TRUE, message = %s WHERE known AND EXISTS "
                f"(SELECT 1 FROM {t} t WHERE t.settlement_id = {STAGE}.settlement_id "
                f"AND ({self._differs(STAGE, 't')}))", [message[:300]])
            return int(cursor.rowcount)

    def conflict_rows(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT line FROM {STAGE} WHERE conflict ORDER BY line")
            return [line for (line,) in cursor.fetchall()]

    def insert_conflicts(self, feed: Feed, now: dt.datetime) -> int:
        """One :class:`FeedCollision` per conflicting row, with the row's facts and the
        stored stay it collides with."""
        c = quote(FeedCollision._meta.db_table)
        t = quote(Settlement._meta.db_table)
        columns = ("feed_id", quote("row"), "settlement_id", "stay_id", "id_number_sealed",
                   "id_number_hash", *FACTS, "status", "created_at")
        select = ("%s", "s.line", "s.settlement_id", "t.id", "s.id_sealed", "s.id_hash",
                  *(f"s.{f}" for f in FACTS), "%s", "%s")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {c} ({', '.join(columns)}) SELECT {', '.join(select)} "
                f"FROM {STAGE} s JOIN {t} t ON t.settlement_id = s.settlement_id "
                f"WHERE s.conflict",
                [feed.pk, FeedCollision.Status.OPEN,
                 connection.ops.adapt_datetimefield_value(now)])
            return int(cursor.rowcount)

    def _member_join(self, prefix: str | None) -> tuple[str, str, list]:
        """The joins that find a row's member, and the expression for 'in scope'."""
        m = quote(Member._meta.db_table)
        u = quote(Union._meta.db_table)
        joins = f"LEFT JOIN {m} m ON m.id_number_hash = s.id_hash "
        if prefix is None:
            return joins, "m.id IS NOT NULL", []
        joins += f"LEFT JOIN {u} u ON u.id = m.union_id "
        return joins, "(m.id IS NOT NULL AND u.path LIKE %s)", [prefix + "%"]

    def insert_new(self, feed: Feed, prefix: str | None, now: dt.datetime) -> int:
        """The new stays, each with its member when one in scope has the ID number."""
        t = quote(Settlement._meta.db_table)
        joins, in_scope, params = self._member_join(prefix)
        columns = ("settlement_id", "id_number_sealed", "id_number_hash", *FACTS, "member_id",
                   "feed_id", "created_at")
        select = ("s.settlement_id", "s.id_sealed", "s.id_hash", *(f"s.{f}" for f in FACTS),
                  f"CASE WHEN {in_scope} THEN m.id END", "%s", "%s")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {t} ({', '.join(columns)}) SELECT {', '.join(select)} "
                f"FROM {STAGE} s {joins}WHERE s.valid AND NOT s.known",
                [*params, feed.pk, connection.ops.adapt_datetimefield_value(now)])
            return cursor.rowcount

    def rematch_known(self, feed: Feed, prefix: str | None) -> int:
        """Known stays that matched no member before and match one in scope now (a member
        registered since, or a feed from a wider scope)."""
        t = quote(Settlement._meta.db_table)
        m = quote(Member._meta.db_table)
        u = quote(Union._meta.db_table)
        scope, params = "", []
        if prefix is not None:
            scope, params = f"AND m.union_id IN (SELECT u.id FROM {u} u WHERE u.path LIKE %s)", [
                prefix + "%"]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {t} AS t SET member_id = m.id FROM {STAGE} s "
                f"JOIN {m} m ON m.id_number_hash = s.id_hash "
                f"WHERE t.settlement_id = s.settlement_id AND s.known AND NOT s.conflict "
                f"AND t.member_id IS NULL "
                f"AND t.feed_id <> %s {scope}", [feed.pk, *params])
            return cursor.rowcount

    def insert_feed_rows(self, feed: Feed, prefix: str | None) -> None:
        """One row per data row: its outcome, its member (in scope) or why none, its stay."""
        r = quote(FeedRow._meta.db_table)
        t = quote(Settlement._meta.db_table)
        joins, in_scope, params = self._member_join(prefix)
        # A conflicting row is neither matched nor linked to the stored stay: that stay's
        # facts are not the row's, and the row's page must not show them.
        live = "s.valid AND NOT s.conflict"
        joins = joins.replace("ON m.id_number_hash", f"ON {live} AND m.id_number_hash", 1)
        match = (f"CASE WHEN NOT ({live}) THEN '' WHEN m.id IS NULL THEN 'not_member' "
                 f"WHEN {in_scope} THEN 'matched' ELSE 'outside_scope' END")
        outcome = ("CASE WHEN NOT s.valid THEN 'invalid' WHEN s.conflict THEN 'conflict' "
                   "WHEN s.known THEN 'known' ELSE 'new' END")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {r} (feed_id, {quote('row')}, settlement_id, outcome, "
                f"{quote('match')}, member_id, stay_id, message) "
                f"SELECT %s, s.line, s.settlement_id, {outcome}, {match}, "
                f"CASE WHEN {live} AND {in_scope} THEN m.id END, t.id, s.message "
                f"FROM {STAGE} s LEFT JOIN {t} t ON {live} AND t.settlement_id = s.settlement_id "
                f"{joins}", [feed.pk, *params, *params])

    def counts(self, feed: Feed) -> dict[tuple[str, str], int]:
        r = quote(FeedRow._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT outcome, {quote('match')}, COUNT(*) FROM {r} "
                           f"WHERE feed_id = %s GROUP BY outcome, {quote('match')}", [feed.pk])
            return {(o, m): n for o, m, n in cursor.fetchall()}
