"""Writing a run's results: chunks of feed rows, each in one transaction — the proposed
claims, their first history step, one audit entry, and every row's outcome — so that a
run killed midway leaves whole chunks behind and its rerun finishes the rest.

Claims go in with ``ON CONFLICT DO NOTHING`` against the unique (stay, benefit) index:
a concurrent run that claimed the stay first wins, and this run reports the stay as
``already_claimed``. PostgreSQL: ids reserved from the sequence (numbers known up front),
the chunk's claims built column by column into one CSV (:mod:`.copy_rows`) and COPYed
straight into the table; only if that meets a conflict, again into a temporary table and
one INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING. SQLite: ``executemany`` with
provisional numbers, renumbered by one UPDATE.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pyarrow.compute as pc
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.computation import json_safe, supports
from huzhu.claims.materials.required import FROM_SETTLEMENT
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.coverage.models import Period
from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.feeds.proactive import copy_rows
from huzhu.feeds.proactive.outcomes import OUT, Details, Outcome, Progress, RunResult
from huzhu.lib.money import MoneySum
from huzhu.lib.sql import copy_csv, is_postgresql, quote
from huzhu.orgs.models import User
from huzhu.rules.money import to_fen, yuan

OUTCOME_COLUMNS = ("run_id", "row", "settlement_code", "stay_id", "member_id", "benefit",
                   "outcome", "amount", "reason", "reason_text", "discovered", "claim_id")
SIDE_BY_SIDE = 2  # chunks written at once on PostgreSQL (this machine's cores)
EVENT_COLUMNS = ("claim_id", "at", "actor_id", "action", "from_state", "to_state", "note",
                 "amount")
_SET = {"number", "member", "scheme", "period", "benefit", "benefit_name", "source", "state",
        "event_date", "admit_date", "days", "out_of_pocket", "total_cost", "diagnosis",
        "hospital", "computed", "computation", "policy_hash", "filed_by", "missing_materials",
        "created_at", "updated_at", "settlement"}


def system_filer() -> User:
    """The filer of every proactive claim, whoever started the run (the feed page or
    ``huzhu feed run``, with or without ``--as``): an inactive account that cannot log
    in. The claim's facts come from the medical-insurance settlement, not from a person;
    filing them under the admin who pressed "run" barred that admin from reviewing any of
    them (four eyes) — in a city with one admin, no claim of the run could be approved.

    The person who started the run is recorded on the run (``BatchRun.user``), in each
    claim's first history step and in the audit log. They may take 初审 or 复审 of the
    run's claims like any reviewer (never both of one claim: the workflow's four-eyes rule
    on the first reviewer still holds): starting a run chooses a feed and a scheme, it
    states no fact of any claim, and four eyes separates who states the facts from who
    approves them."""
    user, _ = User.objects.get_or_create(
        username=getattr(settings, "HUZHU_PROACTIVE_USERNAME", "huzhu-proactive"),
        defaults={"role": User.Role.CLERK, "union": None, "is_active": False,
                  "display_name": "免申即享（系统）"})
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """SQLite's inserts (PostgreSQL's go as CSV: :func:`huzhu.lib.sql.copy_csv`)."""
    if not rows:
        return
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES "
                           f"({', '.join(['%s'] * len(columns))})", rows)


class ClaimWriter:
    """Proposed claims of one run, as plain rows (no model instances)."""

    def __init__(self, run: BatchRun, details: Details) -> None:
        self.run = run
        self.details = details  # the facts and engine rows the claims are taken from
        self.reserved: dict[int, list[int]] = {}  # a chunk's first row → its claims' ids
        scheme = run.scheme
        self.policy = scheme.policy()
        self.filer_id = system_filer().pk
        self.periods = list(Period.objects.filter(scheme=scheme).values_list("id", "start",
                                                                             "end"))
        fields = [f for f in Claim._meta.concrete_fields if not f.primary_key]
        self.columns = tuple(f.column for f in fields)
        # Every column not set here takes the model's default, prepared once.
        self.defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection)
                         for f in fields if f.name not in _SET}
        self.attnames = [f.attname for f in fields]
        self.at = {a: i for i, a in enumerate(self.attnames)}
        fixed = {"scheme_id": run.scheme_id, "source": Claim.Source.PROACTIVE,
                 "state": Claim.State.PROACTIVE, "policy_hash": self.policy.content_hash,
                 "filed_by_id": self.filer_id}
        self.template = [fixed.get(a, self.defaults.get(a)) for a in self.attnames]
        # Positions in a row with its id first (_insert_pg's rows).
        self.stay_at = 1 + self.attnames.index("settlement_id")
        self.benefit_at = 1 + self.attnames.index("benefit")
        self.number_at = 1 + self.attnames.index("number")
        self.names = {b.code: b.name for b in self.policy.benefits}
        self.materials = {b.code: [m for m in b.claiming.materials if m not in FROM_SETTLEMENT]
                          for b in self.policy.benefits}

    def period_of(self, day) -> int | None:
        return next((pk for pk, start, end in self.periods if start <= day <= end), None)

    def row(self, o: Outcome, number: str, now) -> tuple:
        e, c = o.details
        computation = json_safe(c)
        missing = [m for m in self.materials[o.benefit]
                   if m != "bank_card" or not o.banked]
        values = self.template.copy()
        for name, value in (
                ("number", number), ("member_id", o.member),
                ("period_id", self.period_of(e["event_date"])), ("benefit", o.benefit),
                ("benefit_name", self.names[o.benefit]), ("event_date", e["event_date"]),
                ("admit_date", e["admit_date"]), ("days", e["days"]),
                ("out_of_pocket", e["out_of_pocket"]), ("total_cost", e["total_cost"]),
                ("diagnosis", e["diagnosis"] or ""), ("hospital", (e["hospital"] or "")[:100]),
                ("computed", o.amount),
                ("computation", json.dumps(computation, ensure_ascii=False)),
                ("missing_materials", json.dumps(missing)), ("created_at", now),
                ("updated_at", now), ("settlement_id", o.stay)):
            values[self.at[name]] = value
        return tuple(values)

    def insert(self, proposed: list[Outcome]) -> dict[tuple[int, str], tuple]:
        """Insert what no other run claimed first; (stay, benefit) → (id, number)."""
        details = self.details
        if not proposed:
            return {}
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        indices = [o.index for o in proposed]
        if is_postgresql() and supports(details.out.schema):
            return self._insert_pg(proposed, *details.claim_tables(indices), now)
        for o, pair in zip(proposed, details.claim_rows(indices), strict=True):
            o.details = pair
        return (self._insert_pg_rows if is_postgresql() else self._insert_sqlite)(proposed, now)

    def reserve(self, proposed: list[Outcome]) -> None:
        """Take ``proposed``'s ids now, so chunks written side by side still number their
        claims in row order."""
        if proposed:
            self.reserved[proposed[0].row] = self._ids(len(proposed))

    def _ids(self, n: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                           "FROM generate_series(1, %s)", [Claim._meta.db_table, n])
            return [r[0] for r in cursor.fetchall()]

    def _insert_pg(self, proposed, facts, out, now) -> dict:
        """COPY straight into the table, the chunk as one CSV; should another run have
        claimed one of the stays meanwhile (the unique index refuses the COPY), the chunk
        goes again through a staging table and ``ON CONFLICT DO NOTHING``."""
        ids = self.reserved.pop(proposed[0].row, None) or self._ids(len(proposed))
        years = pc.year(facts["event_date"]).to_pylist()
        numbers = [Claim.number_for(y, pk) for y, pk in zip(years, ids, strict=True)]
        data = copy_rows.claim_csv(self, proposed, ids, numbers, facts, out, str(now))
        try:
            with transaction.atomic():
                self._copy(Claim._meta.db_table, data)
        except IntegrityError:
            return self._insert_pg_skipping(data)
        return {(o.stay, o.benefit): (pk, n)
                for o, pk, n in zip(proposed, ids, numbers, strict=True)}

    def _insert_pg_rows(self, proposed, now) -> dict:
        """The per-row path, for an engine output :mod:`.copy_rows` cannot write."""
        ids = self._ids(len(proposed))
        rows = [(pk, *self.row(o, _number(o.details[0]["event_date"], pk), now))
                for pk, o in zip(ids, proposed, strict=True)]
        try:
            with transaction.atomic():
                self._copy(Claim._meta.db_table, rows)
        except IntegrityError:
            return self._insert_pg_skipping(rows)
        return {(r[self.stay_at], r[self.benefit_at]): (r[0], r[self.number_at]) for r in rows}

    def _copy(self, table: str, rows: list[tuple] | bytes) -> None:
        """COPY ``rows`` into ``table`` (its name unquoted): CSV text from
        :mod:`.copy_rows`, or tuples, which psycopg formats value by value."""
        columns = ("id", *self.columns)
        if isinstance(rows, bytes):
            copy_csv(table, columns, rows)
            return
        names = ", ".join(quote(c) for c in columns)
        with connection.cursor() as cursor, connection.wrap_database_errors, \
                cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _insert_pg_skipping(self, rows: list[tuple] | bytes) -> dict:
        names = ", ".join(quote(c) for c in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE hz_claim_stage (LIKE {quote(Claim._meta.db_table)})"
                           " ON COMMIT DROP")
            self._copy("hz_claim_stage", rows)
            # In (stay, benefit) order: two runs lock the same index entries in one order.
            cursor.execute(
                f"INSERT INTO {quote(Claim._meta.db_table)} (id, {names}) SELECT id, {names} "
                f"FROM hz_claim_stage ORDER BY settlement_id, benefit ON CONFLICT DO NOTHING "
                f"RETURNING id, number, settlement_id, benefit")
            created = {(s, b): (pk, n) for pk, n, s, b in cursor.fetchall()}
            cursor.execute("DROP TABLE hz_claim_stage")
        return created

    def _insert_sqlite(self, proposed, now) -> dict:
        names = ", ".join(quote(c) for c in self.columns)
        tag = f"T{self.run.pk}-"
        rows = [self.row(o, f"{tag}{i}", now) for i, o in enumerate(proposed)]
        table = quote(Claim._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES "
                               f"({', '.join(['%s'] * len(self.columns))}) ON CONFLICT DO NOTHING",
                               rows)
            cursor.execute(f"SELECT id, settlement_id, benefit, event_date FROM {table} "
                           f"WHERE number LIKE %s", [tag + "%"])
            made = cursor.fetchall()
            created = {(s, b): (pk, _number(_day(d), pk)) for pk, s, b, d in made}
            cursor.executemany(f"UPDATE {table} SET number = %s WHERE id = %s",
                               [(n, pk) for pk, n in created.values()])
        return created


def _day(value: str | dt.date) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _number(day, pk: int) -> str:
    return Claim.number_for(day.year, pk)


def _chunks(outcomes: list[Outcome], size: int):
    """Runs of whole feed rows (a row's benefits never split between chunks)."""
    chunk: list[Outcome] = []
    rows = 0
    last = None
    for o in outcomes:
        if o.row != last:
            if rows >= size:
                yield chunk
                chunk, rows = [], 0
            rows += 1
            last = o.row
        chunk.append(o)
    if chunk:
        yield chunk


def write(run: BatchRun, outcomes: list[Outcome], details: Details, progress: Progress, *,
          chunk_rows: int) -> RunResult:
    """Write ``outcomes`` in chunks of ``chunk_rows`` feed rows, each chunk whole in one
    transaction; then the run's counts and total."""
    # Chunks already committed by this run (a retried job) are not written again.
    written = set(StayOutcome.objects.filter(run=run).values_list("row", flat=True)
                  .distinct())
    todo = [o for o in outcomes if o.row not in written]
    writer = ClaimWriter(run, details)
    total_rows = run.total or len({o.row for o in outcomes})
    done = len({o.row for o in outcomes if o.row in written})
    progress("writing", done, total_rows)
    chunks = _chunks(todo, chunk_rows)
    if is_postgresql() and not connection.in_atomic_block:
        created = _write_side_by_side(run, writer, chunks, details, progress, done, total_rows)
        return _finish(run, created)
    created = 0
    for chunk in chunks:
        with transaction.atomic():
            created += _write_chunk(run, writer, chunk, details)
            done += len({o.row for o in chunk})
            BatchRun.objects.filter(pk=run.pk).update(done=done, updated_at=timezone.now())
        progress("writing", done, total_rows)
    return _finish(run, created)


def _write_side_by_side(run: BatchRun, writer: ClaimWriter, chunks, details: Details,
                        progress, done: int, total_rows: int) -> int:
    """PostgreSQL: two chunks at a time, each in its own connection and transaction, so
    the server works on both cores (one chunk's COPY and commit-time foreign-key checks
    are a core's work; this process mostly waits). Each chunk still commits whole; a rerun
    writes the rows with no outcome yet, whichever chunk was cut short."""
    created = 0
    in_flight: deque = deque()
    with ThreadPoolExecutor(max_workers=SIDE_BY_SIDE) as pool:
        for chunk in chunks:
            writer.reserve([o for o in chunk if o.outcome == OUT.PROPOSED])
            in_flight.append((pool.submit(_committed_chunk, run, writer, chunk, details),
                              len({o.row for o in chunk})))
            if len(in_flight) >= SIDE_BY_SIDE:
                created, done = _one_done(run, in_flight, created, done, total_rows, progress)
        while in_flight:
            created, done = _one_done(run, in_flight, created, done, total_rows, progress)
    return created


def _one_done(run, in_flight: deque, created: int, done: int, total_rows: int,
              progress) -> tuple[int, int]:
    future, rows = in_flight.popleft()
    created += future.result()
    done += rows
    BatchRun.objects.filter(pk=run.pk).update(done=done, updated_at=timezone.now())
    progress("writing", done, total_rows)
    return created, done


def _committed_chunk(run: BatchRun, writer: ClaimWriter, chunk: list[Outcome],
                     details: Details) -> int:
    try:
        with transaction.atomic():
            return _write_chunk(run, writer, chunk, details)
    finally:
        connection.close()  # this worker thread's own connection


def _write_chunk(run: BatchRun, writer: ClaimWriter, chunk: list[Outcome],
                 details: Details) -> int:
    proposed = [o for o in chunk if o.outcome == OUT.PROPOSED]
    created = writer.insert(proposed)
    lost = []
    for o in proposed:
        hit = created.get((o.stay, o.benefit))
        if hit is None:
            lost.append(o)  # another run claimed the stay a moment earlier
        else:
            o.claim = hit[0]
    if lost:
        _now_claimed(run, lost)
    # The history's first step is the system's (it filed the claim); who started the run
    # is named in the note, as on the run and in the audit entry below.
    actor = writer.filer_id
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    started = f"，{run.user} 发起" if run.user_id else ""
    # Named as people know the run (when, which feed), not by row numbers.
    note = f"由{run.title}生成{started}"[:300]
    made = [o for o in proposed if o.outcome == OUT.PROPOSED]
    if is_postgresql():
        if made:
            copy_csv(ClaimEvent._meta.db_table, EVENT_COLUMNS, copy_rows.event_csv(
                [o.claim for o in made], [o.amount for o in made], str(at), actor, note,
                Claim.State.PROACTIVE))
        copy_csv(StayOutcome._meta.db_table, OUTCOME_COLUMNS,
                  copy_rows.outcome_csv(run.pk, chunk))
    else:
        _insert(ClaimEvent._meta.db_table, EVENT_COLUMNS, [
            (o.claim, at, actor, "proactive", "", Claim.State.PROACTIVE, note, o.amount)
            for o in made])
        _insert(StayOutcome._meta.db_table, OUTCOME_COLUMNS, [
            (run.pk, o.row, o.settlement_code[:64], o.stay, o.member, o.benefit, o.outcome,
             o.amount, o.reason[:40], o.reason_text[:300], o.discovered, o.claim)
            for o in chunk])
    if made:
        total = sum((o.amount for o in made), Decimal("0.00"))
        log.record(run.user, AuditEntry.Action.CLAIM_CHANGED, run,
                   union_path=run.scheme.union.path,
                   summary=f"{run.title}：生成待审核理赔 {len(made)} 件，"
                           f"测算金额合计 {yuan(total)} 元（第 {chunk[0].row}–{chunk[-1].row} 行）",
                   changes={"run": run.pk, "feed": run.feed_id, "claims": len(made),
                            "amount": yuan(total, grouped=False),
                            "rows": [chunk[0].row, chunk[-1].row]})
    return len(made)


def _now_claimed(run: BatchRun, lost: list[Outcome]) -> None:
    stays = {o.stay for o in lost}
    found = {(s, b): (pk, n, st) for s, b, pk, n, st in Claim.objects.filter(
        settlement_id__in=stays).values_list("settlement_id", "benefit", "id", "number",
                                             "state")}
    for o in lost:
        pk, number, state = found[(o.stay, o.benefit)]
        o.outcome, o.claim = OUT.ALREADY_CLAIMED, pk
        o.reason = state
        o.reason_text = f"已有理赔 {number}（{Claim.State(state).label}）"


def _finish(run: BatchRun, created: int) -> RunResult:
    rows = (StayOutcome.objects.filter(run=run).values("outcome")
            .annotate(n=Count("id"), total=MoneySum("amount")).order_by())
    counts = {r["outcome"]: r["n"] for r in rows}
    amount = to_fen(next((r["total"] for r in rows if r["outcome"] == OUT.PROPOSED), None)
                    or Decimal("0"))
    BatchRun.objects.filter(pk=run.pk).update(
        status=BatchRun.Status.DONE, phase="done", done=run.total, counts=counts,
        proposed_amount=amount, finished_at=timezone.now(), message=summary(counts, amount))
    return RunResult(run, counts, amount, created)


def summary(counts: dict[str, int], amount: Decimal) -> str:
    """The run's one-line result in Chinese (its ``message``)."""
    labels = dict(StayOutcome.Outcome.choices)
    parts = [f"{labels[k]} {counts[k]} 条" for k in labels if counts.get(k)]
    return f"测算完成：{'，'.join(parts) or '没有数据'}；拟给付合计 {yuan(amount)} 元"[:500]
