"""Running a compiled policy: :func:`evaluate` (a batch) and :func:`evaluate_claim` (one).

A policy is compiled once per (policy content, dialect, with/without prior payouts) to
SQL over the typed tables of :mod:`huzhu.rules.inputs`; the SQL is cached, so a single
claim costs one small DuckDB query, not an Ibis compilation.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import pyarrow as pa

from huzhu.rules.columns import MAX_MONEY, TABLE_NAMES, TABLES, Column, duckdb_type
from huzhu.rules.errors import InputError
from huzhu.rules.inputs import (
    TOO_LARGE,
    Source,
    arrow_source,
    load_input,
    stream_inputs,
)
from huzhu.rules.output import OUTPUT_COLUMNS
from huzhu.rules.plans import compiled_sql, unread_inputs
from huzhu.rules.schema import Policy
from huzhu.rules.spark import run_on_spark

__all__ = ["BACKENDS", "compiled_sql", "evaluate", "evaluate_claim", "policy_key"]

BACKENDS = ("duckdb", "pyspark")
Row = tuple[Any, ...]
"""One row of an input table or of the plan's output, in column order."""


def policy_key(policy: Policy) -> str:
    """A content hash: two policies with the same rules share a compiled plan."""
    return policy.content_hash[:16]


def _sources(con: duckdb.DuckDBPyConnection, members: Any, events: Any, enrolments: Any,
             prior: Any) -> dict[str, Source | None]:
    out: dict[str, Source | None] = {}
    for kind, table in (("members", members), ("events", events),
                        ("enrolments", enrolments), ("prior", prior)):
        if table is not None and not isinstance(table, pa.Table | pa.RecordBatchReader):
            raise InputError([(kind, None, None, "应为 pyarrow.Table")])
        out[kind] = arrow_source(con, kind, table) if table is not None else None
    return out


def evaluate(policy: Policy, members: pa.Table, events: pa.Table,
             enrolments: pa.Table | None = None, prior: pa.Table | None = None,
             *, backend: str = "duckdb", spark_session: Any = None,
             columns: str = "full") -> pa.Table:
    """Compute every event under ``policy``; output columns as in :mod:`.output`
    (``columns="minimal"``: only ``MINIMAL_COLUMNS``).

    Raises :class:`InputError` on bad input (unknown benefit, missing column, bad date or
    amount, negative amount, duplicate event_id …).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    con = duckdb.connect()
    try:
        sources = _sources(con, members, events, enrolments, prior)
        with_prior = prior is not None
        if backend == "duckdb":
            return _on_duckdb(con, policy, sources, with_prior, columns)
        for kind, source in sources.items():
            load_input(con, kind, source,
                       benefits=policy.benefit_codes if kind in ("events", "prior") else None,
                       day_capped=policy.day_capped_codes)
        typed = {kind: con.sql(f"SELECT {', '.join(c.name for c in TABLES[kind])} "
                               f"FROM {TABLE_NAMES[kind]}").to_arrow_table()
                 for kind in TABLES}
        sql = compiled_sql(policy, "pyspark", with_prior=with_prior, columns=columns)
        return run_on_spark(sql, typed, spark_session)
    finally:
        con.close()


def _on_duckdb(con: duckdb.DuckDBPyConnection, policy: Policy,
               sources: dict[str, Source | None], with_prior: bool, columns: str) -> pa.Table:
    """The plan over checked views of the Arrow tables: one scan checks and computes."""
    streamed = stream_inputs(con, sources, policy.benefit_codes, policy.day_capped_codes,
                             unread=unread_inputs(policy))
    sql = compiled_sql(policy, "duckdb", with_prior=with_prior, columns=columns)
    out: pa.Table = streamed.run_plan(con, lambda: con.sql(sql).to_arrow_table())
    streamed.check_complete(con, out.num_rows)
    return out


# ---------------------------------------------------------------- one claim

class _ClaimRunner:
    """A per-thread DuckDB connection holding typed tables and prepared plans.

    A claim reloads a handful of rows and executes a prepared statement of the plan
    restricted to the claim's benefit: no Ibis, no SQL parsing or planning per call.
    """

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET threads TO 1")
        for kind, spec in TABLES.items():
            # Plain (not TEMP) tables: DuckDB re-plans prepared statements over temp ones.
            cols = ", ".join(f'"{c.name}" {duckdb_type(c.type)}' for c in spec)
            self.con.execute(f"CREATE TABLE {TABLE_NAMES[kind]} ({cols})")
        self.rows = dict.fromkeys(TABLES, 0)
        self.prepared: dict[tuple[str, str, bool], str] = {}

    def statement(self, policy: Policy, benefit: str, with_prior: bool) -> str:
        key = (policy_key(policy), benefit, with_prior)
        name = self.prepared.get(key)
        if name is None:
            only = _restricted(policy, benefit)
            name = f"hz_plan_{len(self.prepared)}"
            self.con.execute(f"PREPARE {name} AS {compiled_sql(only, with_prior=with_prior)}")
            self.prepared[key] = name
        return name

    def run(self, name: str, tables: dict[str, list[Row]]) -> Row:
        con = self.con
        # Plain parameterised INSERTs: registering Arrow views would change the catalog
        # and force DuckDB to re-plan the prepared statement on every call. One
        # multi-row INSERT per table: DuckDB parses and plans each statement, so a
        # member's twenty prior payouts one by one cost four times as much (and
        # executemany is slower still for so few rows).
        for kind, rows in tables.items():
            target = TABLE_NAMES[kind]
            if self.rows[kind]:
                con.execute(f"DELETE FROM {target}")
            if rows:
                one = f"({', '.join('?' * len(rows[0]))})"
                con.execute(f"INSERT INTO {target} VALUES {', '.join([one] * len(rows))}",
                            [value for row in rows for value in row])
            self.rows[kind] = len(rows)
        return con.execute(f"EXECUTE {name}").fetchall()[0]


def _restricted(policy: Policy, code: str) -> Policy:
    """The policy cut down to one benefit (and the benefit it requires, if any): a
    smaller plan for one claim that pays exactly what the whole policy would."""
    keep = {code}
    need = policy.benefit(code).eligibility.requires
    if need is not None:
        keep.add(need.benefit)
    return policy.model_copy(update={"benefits": [b for b in policy.benefits
                                                  if b.code in keep]})


_local = threading.local()


def _runner() -> _ClaimRunner:
    runner = getattr(_local, "runner", None)
    if runner is None:
        runner = _local.runner = _ClaimRunner()
    return runner


def _claim_value(kind: str, col: Column, value: Any, index: int) -> Any:
    label = f"{kind}[{index}]"
    if value is None or value == "":
        if col.not_null:
            raise InputError([(label, None, col.name, "不能为空")])
        return None
    try:
        if col.type == "string":
            value = str(value).strip()
        elif col.type == "date":
            if isinstance(value, dt.datetime):
                value = value.date()
            elif not isinstance(value, dt.date):
                value = dt.date.fromisoformat(str(value).strip())
        elif col.type == "int32":
            if isinstance(value, bool) or int(value) != Decimal(str(value)):
                raise ValueError(value)
            value = int(value)
        elif col.type == "boolean":
            if not isinstance(value, bool):
                word = str(value).strip().lower()
                if word not in ("true", "false", "1", "0", "是", "否", "t", "f", "yes", "no"):
                    raise ValueError(value)
                value = word in ("true", "1", "是", "t", "yes")
        else:
            if isinstance(value, float):
                raise InputError([(label, None, col.name, "金额不能是浮点数，请用 Decimal")])
            money = Decimal(str(value).strip())
            if money != money.quantize(Decimal("0.01")):
                raise InputError([(label, None, col.name, "金额最多两位小数（分）")])
            value = money.quantize(Decimal("0.01"))
            if abs(value) >= MAX_MONEY:
                raise InputError([(label, None, col.name, TOO_LARGE)])
    except (ValueError, InvalidOperation, TypeError):
        raise InputError([(label, None, col.name, f"取值无效：{value!r}")]) from None
    if col.choices and value not in col.choices:
        raise InputError([(label, None, col.name,
                           f"取值无效，应为 {'/'.join(col.choices)}（值：{value!r}）")])
    if col.non_negative and value < 0:
        raise InputError([(label, None, col.name, "不能为负数")])
    if col.range and not col.range[0] <= value <= col.range[1]:
        raise InputError([(label, None, col.name, f"应在 {col.range[0]} 到 {col.range[1]} 之间")])
    return value


def _claim_rows(kind: str, rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    spec = TABLES[kind]
    for i, row in enumerate(rows):
        for c in spec:
            if c.required and c.name not in row:
                raise InputError([(f"{kind}[{i}]", None, c.name, "缺少必需的字段")])
    return [tuple(_claim_value(kind, c, row.get(c.name), i) for c in spec)
            for i, row in enumerate(rows)]


def _check_prior_days(policy: Policy, rows: list[Row]) -> None:
    names = [c.name for c in TABLES["prior"]]
    benefit, paid, days = (names.index(n) for n in ("benefit", "paid", "days_paid"))
    for i, row in enumerate(rows):
        if row[benefit] in policy.day_capped_codes and row[paid] > 0 and row[days] is None:
            raise InputError([(f"prior[{i}]", None, "days_paid",
                               "按天数计上限的项目已给付金额大于 0 时须填写给付天数")])


def evaluate_claim(policy: Policy, member: Mapping[str, Any], event: Mapping[str, Any],
                   enrolments: Sequence[Mapping[str, Any]] = (),
                   prior: Sequence[Mapping[str, Any]] = (),
                   family: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """One event as a batch of one; returns the output row as a dict (Decimal money).

    ``member``/``event``/``enrolments``/``prior`` are dicts with the columns of the
    ``huzhu calc`` contract (dates as ``date`` or ISO text, money as ``Decimal`` or text).
    ``family`` are the other members whose payouts stand in ``prior``: the members of
    the claimant's family, so that a ``per: family`` cap counts what each of them was
    given, exactly as a batch holding all of them does.
    """
    if event.get("benefit") not in policy.benefit_codes:
        raise InputError([("event", None, "benefit",
                           f"未知的保障项目 {event.get('benefit')!r}，本政策只有 "
                           f"{'/'.join(policy.benefit_codes)}")])
    for payout in prior:
        if payout.get("benefit") not in policy.benefit_codes:
            raise InputError([("prior", None, "benefit",
                               f"未知的保障项目 {payout.get('benefit')!r}")])
    tables = {
        "members": _claim_rows("members", [member, *family]),
        "events": _claim_rows("events", [event]),
        "enrolments": _claim_rows("enrolments", list(enrolments)),
        "prior": _claim_rows("prior", list(prior)),
    }
    _check_prior_days(policy, tables["prior"])
    runner = _runner()
    row = runner.run(runner.statement(policy, event["benefit"], bool(prior)), tables)
    return dict(zip(OUTPUT_COLUMNS, row, strict=True))
