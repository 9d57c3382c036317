"""A chunk's rows as CSV for PostgreSQL's ``COPY … (FORMAT csv)``: its proposed claims,
their first history step and every row's outcome, built column by column — the claims
from the Arrow tables the engine left, the values :meth:`.writes.ClaimWriter.row` gives
one claim at a time (at a million claims a run, per-row tuples, ``json.dumps`` and
psycopg's per-value COPY formatting were most of the write's time).

The computation (计算过程) of each claim is :func:`huzhu.claims.computation.computation_json`,
the same JSON a claim filed at the counter keeps.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from huzhu.claims.computation import computation_json
from huzhu.feeds.proactive.outcomes import Outcome


class ClaimColumns(Protocol):
    """What a claim's row is made from (:class:`.writes.ClaimWriter` has it): the
    table's columns and the values every claim of the run shares."""

    columns: tuple[str, ...]  # the claim table's columns, id aside
    attnames: list[str]  # the model's attribute name of each column
    template: list[Any]  # each column's value when nothing sets it
    names: dict[str, str]  # benefit code → name
    materials: dict[str, list[str]]  # benefit code → materials still to bring
    periods: list[tuple[int, dt.date, dt.date]]  # the scheme's periods: id, start, end


def _constant(value, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, pa.string())
    if isinstance(value, bool):
        value = "true" if value else "false"
    return pa.array([str(value)] * n, pa.string())


def _text(col) -> pa.ChunkedArray | pa.Array:
    return col if pa.types.is_string(col.type) else pc.cast(col, pa.string())


def _periods(writer: ClaimColumns, days: pa.ChunkedArray) -> pa.Array:
    """The first period holding each day (``ClaimWriter.period_of``), null where none."""
    found = pa.nulls(len(days), pa.int64())
    for pk, start, end in reversed(writer.periods):  # reversed: the first match wins
        inside = pc.and_(pc.greater_equal(days, pa.scalar(start, days.type)),
                         pc.less_equal(days, pa.scalar(end, days.type)))
        found = pc.if_else(inside, pa.scalar(pk, pa.int64()), found)
    return found


def claim_csv(writer: ClaimColumns, proposed: list[Outcome], ids: list[int],
              numbers: list[str], facts: pa.Table, out: pa.Table, now: str) -> bytes:
    """The rows of ``COPY claims_claim (id, <writer.columns>)``, in ``proposed``'s order."""
    n = len(proposed)
    missing = {(b, banked): json.dumps([m for m in materials if m != "bank_card" or not banked])
               for b, materials in writer.materials.items() for banked in (False, True)}
    given = {
        "number": pa.array(numbers, pa.string()),
        "member_id": pa.array([o.member for o in proposed], pa.int64()),
        "period_id": _periods(writer, facts["event_date"]),
        "benefit": pa.array([o.benefit for o in proposed], pa.string()),
        "benefit_name": pa.array([writer.names[o.benefit] for o in proposed], pa.string()),
        "event_date": _text(facts["event_date"]),
        "admit_date": _text(facts["admit_date"]),
        "days": facts["days"],
        "out_of_pocket": _text(facts["out_of_pocket"]),
        "total_cost": _text(facts["total_cost"]),
        "diagnosis": pc.fill_null(_text(facts["diagnosis"]), ""),
        "hospital": pc.utf8_slice_codeunits(pc.fill_null(_text(facts["hospital"]), ""), 0, 100),
        "computed": pa.array([None if o.amount is None else str(o.amount) for o in proposed],
                             pa.string()),
        "computation": computation_json(out),
        "missing_materials": pa.array([missing[(o.benefit, bool(o.banked))] for o in proposed],
                                      pa.string()),
        "created_at": _constant(now, n),
        "updated_at": _constant(now, n),
        "settlement_id": pa.array([o.stay for o in proposed], pa.int64()),
    }
    columns = [pa.array(ids, pa.int64())]
    for attname, default in zip(writer.attnames, writer.template, strict=True):
        columns.append(given[attname] if attname in given else _constant(default, n))
    return as_csv(pa.table(columns, names=["id", *writer.columns]))


def as_csv(table: pa.Table) -> bytes:
    """``table``'s rows for ``COPY … (FORMAT csv)``: strings quoted (an empty one stays
    empty), nulls unquoted and empty (NULL)."""
    buffer = io.BytesIO()
    pcsv.write_csv(table, buffer, pcsv.WriteOptions(include_header=False))
    return buffer.getvalue()


def event_csv(claims: list[int], amounts: list, at: str, actor: int | None, note: str,
              state: str) -> bytes:
    """The claims' first history step (``writes.EVENT_COLUMNS``)."""
    n = len(claims)
    return as_csv(pa.table([
        pa.array(claims, pa.int64()), _constant(at, n), pa.array([actor] * n, pa.int64()),
        _constant("proactive", n), _constant("", n), _constant(state, n), _constant(note, n),
        _money(amounts)], names=[str(i) for i in range(8)]))


def outcome_csv(run_id: int, chunk: list[Outcome]) -> bytes:
    """Every row's outcome (``writes.OUTCOME_COLUMNS``)."""
    return as_csv(pa.table([
        pa.array([run_id] * len(chunk), pa.int64()),
        pa.array([o.row for o in chunk], pa.int64()),
        pa.array([o.settlement_code[:64] for o in chunk], pa.string()),
        pa.array([o.stay for o in chunk], pa.int64()),
        pa.array([o.member for o in chunk], pa.int64()),
        pa.array([o.benefit for o in chunk], pa.string()),
        pa.array([o.outcome for o in chunk], pa.string()),
        _money([o.amount for o in chunk]),
        pa.array([o.reason[:40] for o in chunk], pa.string()),
        pa.array([o.reason_text[:300] for o in chunk], pa.string()),
        pa.array([o.discovered for o in chunk], pa.bool_()),
        pa.array([o.claim for o in chunk], pa.int64())], names=[str(i) for i in range(12)]))


def _money(amounts: list) -> pa.Array:
    return pa.array([None if a is None else str(a) for a in amounts], pa.string())
