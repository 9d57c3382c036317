"""The batch's engine inputs (免申即享): every matched stay of a feed, as the engine's
events for every benefit of the scheme a settlement row can be judged under.

Rows are read with one raw cursor in chunks into Arrow columns (as
:mod:`huzhu.coverage.engine_inputs` reads members), not as model instances: a city's feed
is a million rows. The members and enrolments are the coverage export's own tables,
narrowed to the members of the feed; the prior payouts are the claims the claims app
counts against caps (approved, in a batch, paid), in its ``prior_rows`` shape.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from django.db import connection

from huzhu.claims.computation import event_row
from huzhu.claims.intake import needed_fields
from huzhu.claims.models import Claim
from huzhu.coverage.engine_inputs import enrolment_table, member_table
from huzhu.coverage.models import Scheme
from huzhu.feeds.models import Feed
from huzhu.lib.sql import is_postgresql, quote
from huzhu.rules.columns import ARROW_MONEY, arrow_field, arrow_schema
from huzhu.rules.schema import Benefit, Policy

CHUNK = 50_000
# The facts a settlement row gives (intake.needed_fields' names): a benefit that needs
# anything else (an accident's outcome, a fire's certificate) is not judged from a feed.
SETTLEMENT_FACTS = frozenset({"admit_date", "hospital", "invoice_number", "days",
                              "out_of_pocket", "total_cost", "diagnosis"})
# A feed row as read from the database: the stay's facts typed as the engine's events
# columns of the same name, beside the row's own bookkeeping.
ROWS_SCHEMA = pa.schema([
    ("row", pa.int64()), ("settlement_code", pa.string()), ("outcome", pa.string()),
    ("match", pa.string()), ("member", pa.int64()), ("stay", pa.int64()),
    ("message", pa.string()), arrow_field("events", "admit_date"),
    ("discharge_date", pa.date32()), arrow_field("events", "out_of_pocket"),
    arrow_field("events", "total_cost"), arrow_field("events", "diagnosis"),
    ("union", pa.int64()), ("hospital", pa.string()), ("banked", pa.bool_()),
])
# The engine's events columns a settlement row fills (the contract's, in its order)...
EVENTS_SCHEMA = arrow_schema("events", ["event_id", "member_id", "benefit", "event_date",
                                        "out_of_pocket", "total_cost", "admit_date", "days",
                                        "diagnosis"])
# ... and the events as the batch builds them: where each came from, beside them.
BUILT_SCHEMA = arrow_schema("events", EVENTS_SCHEMA.names, extra=[
    ("row", pa.int64()), ("stay", pa.int64()), ("member", pa.int64()),
    ("settlement_code", pa.string()), ("hospital", pa.string()), ("banked", pa.bool_()),
    ("discovered", pa.bool_())])
PRIOR_SCHEMA = arrow_schema("prior")


@dataclass(frozen=True)
class Applicable:
    """The scheme's benefits a stay is judged under: the hospital ones (every stay) and
    those found by the stay's diagnoses (critical illness, female special diseases)."""

    hospital: tuple[Benefit, ...]
    discovery: tuple[Benefit, ...]

    @property
    def codes(self) -> list[str]:
        return [b.code for b in (*self.hospital, *self.discovery)]

    @property
    def empty(self) -> bool:
        return not (self.hospital or self.discovery)


def applicable(policy: Policy) -> Applicable:
    hospital, discovery = [], []
    for b in policy.benefits:
        if not set(needed_fields(b)) <= SETTLEMENT_FACTS:
            continue
        (discovery if b.eligibility.has_diagnosis_rule else hospital).append(b)
    return Applicable(tuple(hospital), tuple(discovery))


def _text(column: str) -> str:
    """SQLite keeps dates as text and decimals with numeric affinity (a float when read):
    both are fetched as text and parsed by Arrow, so money never passes through a float."""
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


def _money(values) -> pa.Array:
    first = next((v for v in values if v is not None), None)
    if isinstance(first, str):
        return pa.array(values, pa.string()).cast(pa.decimal128(38, 10)).cast(ARROW_MONEY)
    return pa.array(values, ARROW_MONEY)


def _dates(values) -> pa.Array:
    first = next((v for v in values if v is not None), None)
    if isinstance(first, str):
        return pa.array(values, pa.string()).cast(pa.date32())
    return pa.array(values, pa.date32())


def feed_rows(feed: Feed) -> pa.Table:
    """Every data row of the feed with its stay's facts and its member's union."""
    sql = (
        f"SELECT r.{quote('row')}, r.{quote('settlement_id')}, r.{quote('outcome')}, "
        f"r.{quote('match')}, r.{quote('member_id')}, r.{quote('stay_id')}, r.{quote('message')}, "
        f"{_text('s.' + quote('admit_date'))}, {_text('s.' + quote('discharge_date'))}, "
        f"{_text('s.' + quote('out_of_pocket'))}, {_text('s.' + quote('total_cost'))}, "
        f"s.{quote('diagnosis')}, m.{quote('union_id')}, s.{quote('hospital')}, "
        f"m.{quote('bank_account_sealed')} IS NOT NULL "
        f"FROM {quote('feeds_feedrow')} r "
        f"LEFT JOIN {quote('feeds_settlement')} s ON s.{quote('id')} = r.{quote('stay_id')} "
        f"LEFT JOIN {quote('members_member')} m ON m.{quote('id')} = r.{quote('member_id')} "
        f"WHERE r.{quote('feed_id')} = %s ORDER BY r.{quote('row')}")
    batches = []
    with connection.cursor() as cursor:
        if is_postgresql():
            # The import has just written these tables: without fresh statistics the
            # planner joined a million rows by nested loops (minutes instead of seconds).
            cursor.execute(f"ANALYZE {quote('feeds_feedrow')}, {quote('feeds_settlement')}")
            return _copied(cursor, sql.replace("%s", str(int(feed.pk))))
        cursor.execute(sql, [feed.pk])
        while rows := cursor.fetchmany(CHUNK):
            cols = list(zip(*rows, strict=True))
            batches.append(pa.record_batch([
                pa.array(cols[0], pa.int64()), pa.array(cols[1], pa.string()),
                pa.array(cols[2], pa.string()), pa.array(cols[3], pa.string()),
                pa.array(cols[4], pa.int64()), pa.array(cols[5], pa.int64()),
                pa.array(cols[6], pa.string()), _dates(cols[7]), _dates(cols[8]),
                _money(cols[9]), _money(cols[10]), pa.array(cols[11], pa.string()),
                pa.array(cols[12], pa.int64()), pa.array(cols[13], pa.string()),
                pa.array([bool(b) for b in cols[14]], pa.bool_()),
            ], schema=ROWS_SCHEMA))
    return pa.Table.from_batches(batches, schema=ROWS_SCHEMA)


def _copied(cursor, sql: str) -> pa.Table:
    """PostgreSQL: the rows as CSV by COPY, parsed by Arrow (a million rows through
    psycopg's tuples took ten seconds). An unquoted empty field is NULL, a quoted one an
    empty string; booleans come as t/f."""
    buffer = io.BytesIO()
    with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        for data in copy:
            buffer.write(data)
    if not buffer.tell():
        return ROWS_SCHEMA.empty_table()
    buffer.seek(0)
    return pcsv.read_csv(buffer, read_options=pcsv.ReadOptions(
        column_names=ROWS_SCHEMA.names), convert_options=pcsv.ConvertOptions(
        column_types=ROWS_SCHEMA, null_values=[""], strings_can_be_null=True,
        quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"]))


def _dx_matches(diagnosis: str | None, prefixes: list[str]) -> bool:
    """The engine's rule (compiler._codes_match): a code of the list starts with a prefix."""
    if not diagnosis or not prefixes:
        return False
    dx = ";" + diagnosis.upper().replace(" ", "") + ";"
    return any(";" + p.upper() in dx for p in prefixes)


def diagnosis_mask(benefit: Benefit, diagnosis: pa.ChunkedArray,
                   event_date: pa.ChunkedArray) -> pa.ChunkedArray:
    """Rows whose diagnoses fall in the benefit's list in force on the event date."""
    e = benefit.eligibility
    if e.diagnosis is not None:
        versions = [(dt.date.min, list(e.diagnosis))]
    else:
        versions = [(v.effective_from, list(v.codes)) for v in e.diagnosis_versions or []]
    uniques = pc.unique(diagnosis)
    where = pc.index_in(diagnosis, value_set=uniques)
    mask = None
    for i, (start, codes) in enumerate(versions):
        hits = pa.array([_dx_matches(d, codes) for d in uniques.to_pylist()], pa.bool_())
        hit = pc.fill_null(pc.take(hits, where), False)
        in_force = pc.greater_equal(event_date, pa.scalar(start, pa.date32()))
        if i + 1 < len(versions):
            in_force = pc.and_(in_force, pc.less(event_date,
                                                 pa.scalar(versions[i + 1][0], pa.date32())))
        part = pc.and_(hit, in_force)
        mask = part if mask is None else pc.or_(mask, part)
    return mask if mask is not None else pa.chunked_array([pa.nulls(len(diagnosis),
                                                                    pa.bool_())])


DIAGNOSIS_MAX = Claim._meta.get_field("diagnosis").max_length


def _fit(diagnosis: str | None) -> str | None:
    """The codes that fit the claim's column, cut at a code boundary."""
    if diagnosis is None or len(diagnosis) <= DIAGNOSIS_MAX:
        return diagnosis
    return diagnosis[:DIAGNOSIS_MAX + 1].rsplit(";", 1)[0]


def claim_diagnosis(diagnosis: pa.ChunkedArray) -> pa.ChunkedArray:
    """The stay's diagnoses as the claim keeps them, so that the batch and the claim's
    own computation read the same codes."""
    long = pc.greater(pc.utf8_length(diagnosis), DIAGNOSIS_MAX)
    if not pc.any(long).as_py():
        return diagnosis
    return pa.chunked_array([pa.array([_fit(d) for d in diagnosis.to_pylist()], pa.string())])


def stay_days(admit: pa.ChunkedArray, discharge: pa.ChunkedArray) -> pa.Array:
    """Days in hospital: discharge minus admission, a same-day stay counting one (the
    vectorised :func:`huzhu.rules.columns.stay_days`, which the claims form uses)."""
    days = pc.days_between(admit, discharge)
    return pc.max_element_wise(days, pa.scalar(1, days.type)).cast(pa.int32())


def build_events(stays: pa.Table, benefits: Applicable) -> pa.Table:
    """One event per stay and hospital benefit, and per stay and discovery benefit whose
    list the stay's diagnoses fall in; with the stay's row and id beside the engine's
    columns. Event ids are ``<stay id>-<benefit>``: stable across runs."""
    parts = []
    stay_ids = stays["stay"].cast(pa.string())
    base = {
        "member_id": stays["member"].cast(pa.string()),
        "event_date": stays["discharge_date"], "out_of_pocket": stays["out_of_pocket"],
        "total_cost": stays["total_cost"], "admit_date": stays["admit_date"],
        "days": stay_days(stays["admit_date"], stays["discharge_date"]),
        "diagnosis": claim_diagnosis(stays["diagnosis"]),
    }
    for benefit, discovered in ([(b, False) for b in benefits.hospital]
                                + [(b, True) for b in benefits.discovery]):
        columns = {
            "event_id": pc.binary_join_element_wise(stay_ids, benefit.code, "-"),
            "benefit": pa.array([benefit.code] * stays.num_rows, pa.string()),
            **base,
            "row": stays["row"], "stay": stays["stay"], "member": stays["member"],
            "settlement_code": stays["settlement_code"], "hospital": stays["hospital"],
            "banked": stays["banked"],
            "discovered": pa.array([discovered] * stays.num_rows, pa.bool_()),
        }
        table = pa.table({name: columns[name] for name in BUILT_SCHEMA.names})
        if discovered:
            table = table.filter(diagnosis_mask(benefit, table["diagnosis"],
                                                table["event_date"]))
        parts.append(table)
    if not parts:
        return BUILT_SCHEMA.empty_table()
    return pa.concat_tables(parts)


def engine_events(events: pa.Table) -> pa.Table:
    return events.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA)


def members_and_enrolments(scheme: Scheme, member_ids: pa.Array) -> tuple[pa.Table, pa.Table]:
    """The coverage export's members and enrolments, narrowed to the feed's members."""
    wanted = pc.unique(member_ids)
    members = member_table(scheme)
    members = members.filter(pc.is_in(members["member_id"], value_set=wanted))
    enrolments = enrolment_table(scheme)
    enrolments = enrolments.filter(pc.is_in(enrolments["member_id"], value_set=wanted))
    return members, enrolments


def prior_table(scheme: Scheme, member_ids: set[int], codes: list[str]) -> pa.Table | None:
    """Claims that count against caps, as the claims app counts them one claim at a time
    (``computation.prior_rows``): approved, in a batch or paid, at their amount."""
    rows = []
    qs = (Claim.objects.filter(scheme=scheme, state__in=Claim.GIVEN)
          .only(*[f for f in ("number", "member_id", "benefit", "event_date", "admit_date",
                              "days", "out_of_pocket", "total_cost", "diagnosis", "outcome",
                              "disability_grade", "fracture_site", "work_related",
                              "loss_amount", "certificate_no", "on_duty", "relation",
                              "co_resident", "relative_key", "final", "computed",
                              "computation")]))
    for claim in qs.iterator(chunk_size=5000):
        if claim.member_id not in member_ids:
            continue
        row = event_row(claim)
        row["paid"] = claim.amount or Decimal("0.00")
        row["days_paid"] = (claim.computation or {}).get("days_paid")
        rows.append(row)
    if not rows:
        return None
    return pa.Table.from_pylist(rows, schema=PRIOR_SCHEMA)
