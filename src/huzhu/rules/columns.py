"""The input contract of the engine: tables, columns, types, allowed values.

Types are given as Ibis type strings; the DuckDB type is derived from them. Money is
decimal(18,2); IDs are strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import pyarrow as pa

if TYPE_CHECKING:
    import ibis.expr.schema

MONEY = "decimal(18,2)"
MAX_MONEY = 10_000_000_000_000
"""Money inputs are below this (10,000,000,000,000.00 yuan): the engine computes in
decimal(18,2) (16 integer digits) and multiplies amounts by rates and days, so inputs
keep three digits of head room; no real stay or loss comes near it."""
MAX_DAYS = 36_600
"""A stay is at most a hundred years of days: days × a daily amount (at most
:data:`MAX_DAY_AMOUNT`) stays below :data:`MAX_MONEY`."""
MAX_DAY_AMOUNT = 100_000_000

# The allowed values of the coded columns, as types: the policy schema
# (:mod:`huzhu.rules.schema`) takes its eligibility and cap vocabularies from them, and
# each column's ``choices`` below is the same tuple, so the values are written once.
Gender = Literal["M", "F"]
Status = Literal["active", "retired", "left"]
Occupation = Literal["medical", "cdc", "other"]
Outcome = Literal["death", "disability", "fracture", "none"]
FractureSite = Literal["major", "other"]
Relation = Literal["self", "parent", "spouse", "child", "other"]


@dataclass(frozen=True)
class Column:
    name: str
    type: str                     # ibis dtype string
    required: bool = False        # column must be present in the file
    not_null: bool = False        # every row must have a value
    choices: tuple[str, ...] = ()
    non_negative: bool = False
    range: tuple[int, int] | None = None


MEMBER_COLUMNS = (
    Column("member_id", "string", required=True, not_null=True),
    Column("birth_date", "date", required=True, not_null=True),
    Column("gender", "string", required=True, not_null=True, choices=get_args(Gender)),
    Column("status", "string", required=True, not_null=True, choices=get_args(Status)),
    Column("occupation", "string", choices=get_args(Occupation)),
    Column("family_id", "string"),
)

EVENT_COLUMNS = (
    Column("event_id", "string", required=True, not_null=True),
    Column("member_id", "string", required=True, not_null=True),
    Column("benefit", "string", required=True, not_null=True),
    Column("event_date", "date", required=True, not_null=True),
    Column("out_of_pocket", MONEY, non_negative=True),
    Column("total_cost", MONEY, non_negative=True),
    Column("admit_date", "date"),
    Column("days", "int32", non_negative=True, range=(0, MAX_DAYS)),
    Column("diagnosis", "string"),
    Column("outcome", "string", choices=get_args(Outcome)),
    Column("disability_grade", "int32", range=(1, 10)),
    Column("fracture_site", "string", choices=get_args(FractureSite)),
    Column("work_related", "boolean"),
    Column("loss_amount", MONEY, non_negative=True),
    Column("certificate_no", "string"),
    Column("on_duty", "boolean"),
    Column("relation", "string", choices=get_args(Relation)),
    Column("relative_id", "string"),
    Column("co_resident", "boolean"),
)

ENROLMENT_COLUMNS = (
    Column("member_id", "string", required=True, not_null=True),
    Column("period_start", "date", required=True, not_null=True),
    Column("period_end", "date", required=True, not_null=True),
    Column("first_enrolled", "date", required=True, not_null=True),
)

PRIOR_COLUMNS = (
    *EVENT_COLUMNS,
    Column("paid", MONEY, required=True, not_null=True, non_negative=True),
    # The days a payout paid for; needed (when paid > 0) for benefits with day caps.
    Column("days_paid", "int32", non_negative=True),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "members": MEMBER_COLUMNS,
    "events": EVENT_COLUMNS,
    "enrolments": ENROLMENT_COLUMNS,
    "prior": PRIOR_COLUMNS,
}

# Names of the (typed, validated) tables the compiled plan reads.
TABLE_NAMES = {name: f"hz_{name}" for name in TABLES}


# The Arrow type of each column type: every place that builds the engine's inputs as
# Arrow (the registry's export, a claim's computation, the proactive batch) takes its
# schema from here, so the contract is written once.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "date": pa.date32(),
    "int32": pa.int32(),
    "boolean": pa.bool_(),
    MONEY: pa.decimal128(18, 2),
}
ARROW_MONEY = ARROW_TYPES[MONEY]


def arrow_field(table: str, name: str) -> pa.Field[pa.DataType]:
    """One column of ``table`` as an Arrow field (KeyError for a column not in it)."""
    column = next((c for c in TABLES[table] if c.name == name), None)
    if column is None:
        raise KeyError(f"{table} has no column {name!r}")
    return pa.field(name, ARROW_TYPES[column.type])


def arrow_schema(table: str, columns: Iterable[str] | None = None,
                 extra: Iterable[tuple[str, pa.DataType]] = ()) -> pa.Schema:
    """The Arrow schema of ``table``: all its columns in contract order, or ``columns``
    in the order given; ``extra`` fields (not part of the contract) after them."""
    names = [c.name for c in TABLES[table]] if columns is None else list(columns)
    return pa.schema([arrow_field(table, n) for n in names] + [pa.field(*f) for f in extra])


def stay_days(admit: dt.date, discharge: dt.date) -> int:
    """The ``days`` of a hospital stay: discharge minus admission (算入不算出, as the
    medical-insurance settlement counts them), a same-day stay counting one. The claims
    form and the proactive batch (its vectorised twin in feeds.proactive.inputs) both
    derive days this way."""
    return max((discharge - admit).days, 1)


def ibis_schema(table: str) -> ibis.expr.schema.Schema:
    # Ibis loads in about a second: only compiling a plan needs it, and a cached
    # `huzhu calc` imports this module without compiling.
    import ibis

    return ibis.schema({c.name: c.type for c in TABLES[table]})


def duckdb_type(ibis_type: str) -> str:
    return {
        "string": "VARCHAR",
        "date": "DATE",
        "int32": "INTEGER",
        "boolean": "BOOLEAN",
        MONEY: "DECIMAL(18,2)",
    }[ibis_type]
