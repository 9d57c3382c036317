"""The engine's inputs from the registry: members and enrolments of a scheme, in exactly
``huzhu calc``'s format, keyed by the registry's internal member id (never the ID number).

A city is a million members: rows are read with one raw cursor in chunks and turned
into Arrow columns (ids, dates, family and report group converted by Arrow, not row by
row in Python), not model instances. ``bench/bench_coverage.py`` times it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db import connection

from huzhu.coverage.models import Enrolment, Period, Scheme
from huzhu.lib.sql import quote
from huzhu.members.models import Member
from huzhu.orgs.models import Union
from huzhu.rules.columns import arrow_schema

CHUNK = 50_000

# The engine's contract (rules.columns), in its order. ``union`` is not part of it: the
# group a member is reported under, which ``huzhu simulate`` breaks its figures down by.
MEMBER_SCHEMA = arrow_schema("members", extra=[("union", pa.string())])
ENROLMENT_SCHEMA = arrow_schema("enrolments")


def report_unions(scheme: Scheme) -> dict[int, str]:
    """Each union in the scheme's subtree → the name reports group it under: the node one
    level below the scheme's (a district of a city scheme), or the scheme's node itself."""
    depth = scheme.union.path.count("/")
    nodes = list(Union.objects.filter(path__startswith=scheme.union.path)
                 .values_list("id", "path", "name"))
    names = {pk: name for pk, _, name in nodes}
    grouped = {}
    for pk, path, _ in nodes:
        parts = [int(p) for p in path.strip("/").split("/")]
        top = parts[depth - 1] if len(parts) >= depth else pk
        grouped[pk] = names.get(top, names[pk])
    return grouped


def _date_sql(column: str) -> str:
    """A date column as the cursor should fetch it. SQLite stores ISO text, which Django's
    converter would parse row by row in Python (three million dates at a city's size);
    as text, Arrow parses the whole chunk at once. PostgreSQL's driver makes dates in C."""
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


def _date_array(values) -> pa.Array:
    if values and isinstance(next((v for v in values if v is not None), None), str):
        return pa.array(values, pa.string()).cast(pa.date32())
    return pa.array(values, pa.date32())


def member_table(scheme: Scheme) -> pa.Table:
    groups = report_unions(scheme)
    m = Member._meta
    columns = [quote("id"), _date_sql(quote("birth_date")), quote("gender"),
               quote("status"), quote("occupation"), quote("family_head_id"),
               quote("union_id")]
    sql = (f"SELECT {', '.join(columns)} FROM {quote(m.db_table)} WHERE {quote('union_id')} "
           f"IN ({', '.join(str(i) for i in groups) or 'NULL'}) ORDER BY {quote('id')}")
    # Each union's group name by position: unions are looked up in Arrow, not per row.
    union_ids = pa.array(list(groups), pa.int64())
    union_names = pa.array(list(groups.values()), pa.string())
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(CHUNK):
            ids, births, genders, statuses, occupations, families, unions = zip(*rows,
                                                                                 strict=True)
            id_array = pa.array(ids, pa.int64())
            # A member without a family link is a family of one: its own id.
            family = pc.coalesce(pa.array(families, pa.int64()), id_array)
            where = pc.index_in(pa.array(unions, pa.int64()), value_set=union_ids)
            batches.append(pa.record_batch([
                id_array.cast(pa.string()), _date_array(births), pa.array(genders, pa.string()),
                pa.array(statuses, pa.string()), pa.array(occupations, pa.string()),
                family.cast(pa.string()), union_names.take(where),
            ], schema=MEMBER_SCHEMA))
    return pa.Table.from_batches(batches, schema=MEMBER_SCHEMA)


def enrolment_table(scheme: Scheme) -> pa.Table:
    """Enrolments that gave coverage (paid, or covering from enrolment)."""
    e, p = Enrolment._meta, Period._meta
    sql = (f"SELECT e.{quote('member_id')}, {_date_sql('e.' + quote('coverage_from'))}, "
           f"{_date_sql('e.' + quote('coverage_to'))}, "
           f"{_date_sql('e.' + quote('first_enrolled'))} "
           f"FROM {quote(e.db_table)} e JOIN {quote(p.db_table)} p "
           f"ON p.{quote('id')} = e.{quote('period_id')} "
           f"WHERE p.{quote('scheme_id')} = %s AND e.{quote('coverage_from')} IS NOT NULL "
           f"ORDER BY e.{quote('member_id')}, e.{quote('coverage_from')}")
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [scheme.pk])
        while rows := cursor.fetchmany(CHUNK):
            members, starts, ends, firsts = zip(*rows, strict=True)
            batches.append(pa.record_batch([
                pa.array(members, pa.int64()).cast(pa.string()), _date_array(starts),
                _date_array(ends), _date_array(firsts)], schema=ENROLMENT_SCHEMA))
    return pa.Table.from_batches(batches, schema=ENROLMENT_SCHEMA)


def export_engine(scheme: Scheme, out_dir: Path) -> dict[str, int]:
    """Write ``members.parquet`` and ``enrolments.parquet`` (and the claims app's
    ``events.parquet`` and ``prior.parquet``); return the row counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    members = member_table(scheme)
    enrolments = enrolment_table(scheme)
    pq.write_table(members, out_dir / "members.parquet")
    pq.write_table(enrolments, out_dir / "enrolments.parquet")
    counts = {"members": members.num_rows, "enrolments": enrolments.num_rows}
    for write in EXTRA_TABLES:  # the claims history (events, prior), when claims is installed
        counts.update(write(scheme, out_dir))
    return counts


# Writers of more engine tables (``events.parquet``, ``prior.parquet``) registered by
# apps above coverage in their ``AppConfig.ready()``: coverage does not import them.
EXTRA_TABLES: list[Callable[[Scheme, Path], dict[str, int]]] = []


def register_tables(write: Callable[[Scheme, Path], dict[str, int]]) -> None:
    """Add a writer of engine tables to ``huzhu export engine`` (once per writer)."""
    if write not in EXTRA_TABLES:
        EXTRA_TABLES.append(write)
