"""The engine's inputs from the registry: members and enrolments of a scheme, in exactly
``huzhu calc``'s format, keyed by the registry's internal member id (never the ID number).

A city is a million members: rows are read with one raw cursor in chunks and turned
into Arrow columns, not model instances.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection

from huzhu.coverage.models import Enrolment, Scheme
from huzhu.members.models import Member
from huzhu.orgs.models import Union

CHUNK = 50_000

MEMBER_SCHEMA = pa.schema([
    ("member_id", pa.string()), ("birth_date", pa.date32()), ("gender", pa.string()),
    ("status", pa.string()), ("occupation", pa.string()), ("family_id", pa.string()),
    ("union", pa.string()),
])
ENROLMENT_SCHEMA = pa.schema([
    ("member_id", pa.string()), ("period_start", pa.date32()), ("period_end", pa.date32()),
    ("first_enrolled", pa.date32()),
])


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


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


def member_table(scheme: Scheme) -> pa.Table:
    groups = report_unions(scheme)
    m = Member._meta
    sql = (f"SELECT {', '.join(_quote(c) for c in ('id', 'birth_date', 'gender', 'status', 'occupation', 'family_head_id', 'union_id'))} "  # noqa: E501
           f"FROM {_quote(m.db_table)} WHERE {_quote('union_id')} IN "
           f"({', '.join(str(i) for i in groups) or 'NULL'}) ORDER BY {_quote('id')}")
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(CHUNK):
            ids, births, genders, statuses, occupations, families, unions = zip(*rows,
                                                                                 strict=True)
            batches.append(pa.record_batch([
                pa.array([str(i) for i in ids]), pa.array(_dates(births), pa.date32()),
                pa.array(genders), pa.array(statuses), pa.array(occupations),
                pa.array([str(f if f is not None else i) for f, i in zip(families, ids,
                                                                          strict=True)]),
                pa.array([groups[u] for u in unions]),
            ], schema=MEMBER_SCHEMA))
    return pa.Table.from_batches(batches, schema=MEMBER_SCHEMA)


def enrolment_table(scheme: Scheme) -> pa.Table:
    """Enrolments that gave coverage (paid, or covering from enrolment)."""
    rows = (Enrolment.objects.filter(period__scheme=scheme, coverage_from__isnull=False)
            .order_by("member_id", "coverage_from")
            .values_list("member_id", "coverage_from", "coverage_to", "first_enrolled"))
    columns: list[list] = [[], [], [], []]
    for row in rows.iterator(chunk_size=CHUNK):
        for i, value in enumerate(row):
            columns[i].append(value)
    return pa.table([pa.array([str(i) for i in columns[0]], pa.string()),
                     pa.array(columns[1], pa.date32()), pa.array(columns[2], pa.date32()),
                     pa.array(columns[3], pa.date32())], schema=ENROLMENT_SCHEMA)


def _dates(values) -> list:
    # SQLite hands dates back as text through a raw cursor; PostgreSQL as dates.
    import datetime as dt

    return [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values]


def export_engine(scheme: Scheme, out_dir: Path) -> dict[str, int]:
    """Write ``members.parquet`` and ``enrolments.parquet`` (and the claims app's
    ``events.parquet`` and ``prior.parquet``); return the row counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    members = member_table(scheme)
    enrolments = enrolment_table(scheme)
    pq.write_table(members, out_dir / "members.parquet")
    pq.write_table(enrolments, out_dir / "enrolments.parquet")
    counts = {"members": members.num_rows, "enrolments": enrolments.num_rows}
    from django.apps import apps

    if apps.is_installed("huzhu.claims"):  # the claims history, when there is one
        from huzhu.claims import engine_inputs as claims_inputs

        counts.update(claims_inputs.write(scheme, out_dir))
    return counts
