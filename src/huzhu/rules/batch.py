"""``huzhu calc`` end to end: files in, one DuckDB pipeline, one file out.

Reading, typing and validation happen in DuckDB (vectorised) and in the same scan as the
computation: the inputs are checked views (:func:`~huzhu.rules.inputs.stream_inputs`),
the compiled plan's SQL is streamed by ``COPY … TO`` into a temporary file, and that file
is renamed over the output only when everything succeeded, so bad input never leaves a
partial file behind. On bad input the inputs are read again the slow way, to name the
file, row and column.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TextIO

import duckdb

from huzhu.rules.errors import InputError
from huzhu.rules.inputs import Source, Streamed, file_source, stream_inputs
from huzhu.rules.output import COLUMN_SETS
from huzhu.rules.paths import resolve_policy_path
from huzhu.rules.plans import (
    PolicyFacts,
    cached_sql,
    compiled_sql,
    facts_for_file,
    remember_facts,
)


class _Progress:
    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self.start = self.last = time.perf_counter()

    def step(self, message: str) -> None:
        now = time.perf_counter()
        if self.stream is not None:
            print(f"[{now - self.start:6.2f}s +{now - self.last:5.2f}s] {message}",
                  file=self.stream, flush=True)
        self.last = now


def _output_format(path: str) -> str:
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith(".csv"):
        return "csv"
    raise InputError([(path, None, None, "输出文件只支持 .csv 或 .parquet")])


def run_calc(*, policy: str, members: str, events: str, enrolments: str | None = None,
             prior: str | None = None, out: str, threads: int | None = None,
             columns: str = "full", progress: TextIO | None = None,
             totals: bool = True) -> dict[str, tuple[int, Decimal | None]]:
    """Compute ``events`` under ``policy`` and write ``out`` (``columns``: ``full`` or
    ``minimal``, see :mod:`huzhu.rules.output`).

    Returns ``{status: (rows, payable total)}`` for Parquet output (empty for CSV, or
    when ``totals`` is False: they cost a re-read of the output, a tenth of a quiet run).
    """
    log = _Progress(progress)
    if columns not in COLUMN_SETS:
        raise InputError([(out, None, None, f"未知的列集合 {columns!r}，应为 full 或 minimal")])
    fmt = _output_format(out)
    pol, sql = _policy_and_plan(policy, prior is not None, columns)
    log.step(f"政策 {pol.code}（{pol.name}），项目：{'、'.join(pol.benefit_codes)}，计划已就绪")
    out_path = Path(out)
    if not out_path.parent.exists():
        raise InputError([(out, None, None, "输出目录不存在")])
    con = duckdb.connect()
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        if threads:
            con.execute(f"SET threads TO {int(threads)}")
        con.execute("SET preserve_insertion_order = true")
        paths = {"members": members, "events": events, "enrolments": enrolments,
                 "prior": prior}
        sources = {kind: input_source(con, path) if path else None
                   for kind, path in paths.items()}
        streamed = stream_inputs(con, sources, pol.benefit_codes, pol.day_capped_codes,
                                 unread=set(pol.unread), defer_keys=True)
        # No dictionaries but the ENUM text columns' own (see plans.compiled_sql): the
        # writer otherwise builds one for every column and drops it for the IDs and
        # amounts, which have too many values; a third of the write, for ~2% of size.
        options = ("FORMAT parquet, DICTIONARY_SIZE_LIMIT 1" if fmt == "parquet"
                   else "FORMAT csv, HEADER")
        _write_checked(con, streamed, f"COPY ({sql}) TO '{_esc(str(tmp))}' ({options})")
        for kind, path in paths.items():
            if path:
                log.step(f"{path}：{streamed.rows[kind]:,} 行，主键无重复")
        log.step(f"校验、计算并写出 {out}")
        counts: dict[str, tuple[int, Decimal | None]] = {}
        if totals and fmt == "parquet":  # re-reading a big CSV would double the run time
            counts = {
                status: (n, total) for status, n, total in con.execute(
                    f"SELECT status, count(*), sum(payable) FROM read_parquet('{_esc(str(tmp))}') "
                    "GROUP BY status ORDER BY status"
                ).fetchall()
            }
            for status, (n, total) in counts.items():
                log.step(f"  {status}: {n:,} 行，给付合计 {total} 元")
        os.replace(tmp, out_path)
        return counts
    finally:
        con.close()
        if tmp.exists():
            tmp.unlink()


def input_source(con: duckdb.DuckDBPyConnection, path: str) -> Source:
    """An input file (CSV or Parquet), or a directory of Parquet parts (what Spark's
    ``df.write.parquet`` leaves: ``part-*.parquet`` beside ``_SUCCESS``), read as one."""
    if os.path.isdir(path):
        if not any(name.lower().endswith(".parquet") for name in os.listdir(path)):
            raise InputError([(path, None, None, "目录中没有 .parquet 文件")])
        pattern = os.path.join(path, "*.parquet")
        return Source(path, f"read_parquet({_lit(pattern)})")
    return file_source(con, path)


def _lit(text: str) -> str:
    return "'" + _esc(text) + "'"


def _write_checked(con: duckdb.DuckDBPyConnection, streamed: Streamed, copy: str) -> None:
    """Run ``copy`` (the plan into the temporary file) with the inputs' key counts on a
    thread beside it; raise the input error if a row is bad, a key is duplicated or the
    output has not one row per event."""
    # The row checks run inside the plan's scan; the first bad row stops it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        keys = pool.submit(streamed.count_keys, con)
        try:
            written = streamed.run_plan(con, lambda: con.execute(copy).fetchall())
        except duckdb.Error:
            # A file that cannot be read to its end (a broken CSV line past the header
            # sniffer's sample) fails the counts too, which name the file.
            keys.result()
            raise
        streamed.settle_keys(con, keys.result())
    if written:
        streamed.check_complete(con, written[0][0])


def _policy_and_plan(name_or_path: str, with_prior: bool, columns: str
                     ) -> tuple[PolicyFacts, str]:
    """The policy's facts and plan; from the disk cache when this very file was validated
    and compiled before (no YAML, no pydantic, no Ibis), else loaded and compiled."""
    path = resolve_policy_path(name_or_path)
    facts = facts_for_file(path)
    sql = None if facts is None else cached_sql(facts.content_hash, "duckdb",
                                                with_prior=with_prior, columns=columns,
                                                enum_texts=True)
    if facts is None or sql is None:
        # Lazy: the loader brings YAML and pydantic, which a cached run never needs.
        from huzhu.rules.loader import load_policy

        policy = load_policy(path)
        remember_facts(path, policy)
        facts = PolicyFacts.of(policy)
        sql = compiled_sql(policy, "duckdb", with_prior=with_prior, columns=columns,
                           enum_texts=True)
    return facts, sql


def _esc(text: str) -> str:
    return text.replace("'", "''")
