"""Running the compiled plan on PySpark (optional extra: ``pip install huzhu[spark]``)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

import pyarrow as pa

from huzhu.rules.columns import TABLE_NAMES, TABLES, arrow_schema
from huzhu.rules.errors import InputError
from huzhu.rules.inputs import MAX_REPORTED, ErrorRow, Source, _typed_input
from huzhu.rules.output import COLUMN_SETS
from huzhu.rules.paths import resolve_policy_path
from huzhu.rules.plans import cached_sql, compiled_sql


def local_session() -> Any:
    """A small local SparkSession with settings that behave on a 2-core machine."""
    # Lazy: pyspark is an optional extra (huzhu[spark]).
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("huzhu-engine")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def run_on_spark(sql: str, typed: dict[str, pa.Table], session: Any = None) -> pa.Table:
    """Register the typed input tables as temp views and run the plan's Spark SQL."""
    spark = session or local_session()
    for kind, table in typed.items():
        # An Arrow table always travels as Arrow (PySpark >= 4), whatever the caller's
        # session says about Arrow transfer; through pandas a nullable int would arrive
        # as a float.
        spark.createDataFrame(table, schema=_spark_schema(table)) \
            .createOrReplaceTempView(TABLE_NAMES[kind])
    result = spark.sql(sql)
    out: pa.Table  # pyspark is untyped here (an optional extra)
    if hasattr(result, "toArrow"):
        out = result.toArrow()
    else:
        out = pa.Table.from_pandas(result.toPandas(), preserve_index=False)
    return out


def _spark_schema(table: pa.Table) -> Any:
    from pyspark.sql import types as T  # optional extra, as above

    def spark_type(t: pa.DataType) -> Any:
        if pa.types.is_decimal(t):
            return T.DecimalType(t.precision, t.scale)
        if pa.types.is_date(t):
            return T.DateType()
        if pa.types.is_int32(t):
            return T.IntegerType()
        if pa.types.is_boolean(t):
            return T.BooleanType()
        return T.StringType()

    return T.StructType([T.StructField(f.name, spark_type(f.type), True) for f in table.schema])


# ---------------------------------------------------------------- files on a SparkSession
#
# ``huzhu calc`` and ``huzhu simulate`` with ``--engine spark`` read their inputs where
# the session reads them (a Parquet file or a directory of parts, on local disk, HDFS or
# S3) and never bring the rows to the driver: the inputs are typed and checked by Spark
# SQL built by the very functions that type and check them for DuckDB
# (:mod:`huzhu.rules.inputs`), and the plan is the policy's compiled Spark SQL.

LOCAL_SHUFFLE_PARTITIONS = "8"
"""Shuffle partitions on ``local[2]``: four per core. Spark's 200 cost a task each per
shuffle for nothing on two cores, and the plan shuffles several times."""
_SPARK_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT",
                "smallint": "SMALLINT", "tinyint": "TINYINT", "date": "DATE",
                "boolean": "BOOLEAN", "double": "DOUBLE", "float": "FLOAT",
                "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP"}
"""Spark's type names as DuckDB's DESCRIBE gives them: the typing functions decide by them."""
_IDENT = re.compile(r'"((?:[^"]|"")+)"')


def session_for(master: str | None = None, app_name: str = "huzhu-engine") -> Any:
    """The SparkSession a command runs on: ``master`` (``spark://host:7077``, ``yarn``,
    ``local[4]`` …) when given; else the one ``spark-submit`` set up, when it launched
    this process; else :func:`local_session` with shuffle partitions for two cores
    (unless ``spark.sql.shuffle.partitions`` was set, e.g. in ``PYSPARK_SUBMIT_ARGS``)."""
    # Lazy: pyspark is an optional extra (huzhu[spark]).
    from pyspark.sql import SparkSession

    if master or os.environ.get("PYSPARK_GATEWAY_PORT"):
        builder = SparkSession.builder.appName(app_name)
        if master:
            builder = builder.master(master)
        return builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    session = local_session()
    if session.conf.get("spark.sql.shuffle.partitions") == "200":  # Spark's default
        session.conf.set("spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS)
    return session


def _spark_sql(fragment: str) -> str:
    """A DuckDB expression of :mod:`.inputs` as Spark SQL: identifiers in backticks
    (double quotes are string literals to Spark), ``VARCHAR`` as ``STRING`` (Spark
    wants a length). The literals of those expressions hold no double quote."""
    text = _IDENT.sub(lambda m: "`" + m.group(1).replace('""', '"').replace("`", "``") + "`",
                      fragment)
    return text.replace(" AS VARCHAR)", " AS STRING)")


class _Described:
    """Answers the one query :func:`~huzhu.rules.inputs._typed_input` asks of its
    connection (``DESCRIBE``) from a DataFrame's schema, so that the Spark inputs are
    typed and checked by exactly the DuckDB rules."""

    def __init__(self, frame: Any):
        self.rows = []
        for f in frame.schema.fields:
            simple = f.dataType.simpleString()
            typ = simple.upper() if simple.startswith("decimal(") else \
                _SPARK_TYPES.get(simple, simple.upper())
            self.rows.append((f.name, typ))

    def execute(self, _sql: str) -> _Described:
        return self

    def fetchall(self) -> list[tuple[str, str]]:
        return self.rows


@dataclass
class SparkInputs:
    """The inputs as typed temp views (``hz_members`` …) on a session, checked."""

    rows: dict[str, int]
    frames: dict[str, Any]
    """The DataFrame read from each given input (None when not given)."""


def read_parquet(spark: Any, path: str) -> Any:
    """``spark.read.parquet(path)``: a file or a directory of parts, on any filesystem
    the session reaches; InputError naming the path when it cannot."""
    if path.lower().endswith((".csv", ".txt", ".csv.gz")):
        raise InputError([(path, None, None, "Spark 引擎只读 Parquet 文件或分片目录；"
                                             "CSV 请用 duckdb 引擎，或先转换为 Parquet")])
    from pyspark.errors import AnalysisException  # optional extra, as above

    try:
        return spark.read.parquet(path)
    except AnalysisException as exc:
        text = str(exc)
        reason = ("文件或目录不存在" if "PATH_NOT_FOUND" in text
                  else f"无法按 Parquet 读取：{text.strip().splitlines()[0][:300]}")
        raise InputError([(path, None, None, reason)]) from None


def register_inputs(spark: Any, paths: dict[str, str | None], benefits: list[str],
                    day_capped: Sequence[str] = ()) -> SparkInputs:
    """Read, type and check every input on ``spark``; register the typed views the
    compiled plan reads. Raises InputError (file, row, column, value) on any bad row or
    duplicated key, before anything is computed."""
    rows: dict[str, int] = {}
    frames: dict[str, Any] = {}
    errors: list[ErrorRow] = []
    for kind in TABLES:
        path = paths.get(kind)
        view = TABLE_NAMES[kind]
        if path is None:
            frames[kind] = None
            rows[kind] = 0
            empty = arrow_schema(kind).empty_table()
            spark.createDataFrame([], _spark_schema(empty)).createOrReplaceTempView(view)
            continue
        frame = frames[kind] = read_parquet(spark, path)
        typed = _typed_input(_Described(frame), kind, Source(path, "(spark)"),  # type: ignore[arg-type]
                             benefits if kind in ("events", "prior") else None,
                             list(day_capped))
        raw = f"hz_raw_{kind}"
        frame.createOrReplaceTempView(raw)
        key = _spark_sql(typed.typed_of[typed.key]) if typed.key else None
        bad = _spark_sql(typed.bad)
        n_rows, n_bad, n_keys = spark.sql(
            f"SELECT count(*), count_if({bad}), "
            f"{f'count(DISTINCT {key})' if key else 'count(*)'} FROM {raw}").collect()[0]
        rows[kind] = int(n_rows)
        if n_bad:
            errors += _bad_rows(spark, frame, path, typed.checks)
        elif key is not None and n_keys != n_rows:
            errors += _duplicates(spark, frame, path, key, typed.key or "")
        selects = ", ".join(_spark_sql(s) for s in typed.selects)
        spark.sql(f"SELECT {selects} FROM {raw}").createOrReplaceTempView(view)
    if errors:
        raise InputError(errors[:MAX_REPORTED])
    return SparkInputs(rows, frames)


def _with_position(spark: Any, frame: Any) -> str:
    """A view of ``frame`` with each row's file and row number (1 = the first row of
    its file, as DuckDB counts a Parquet file's rows)."""
    name = "hz_raw_positions"
    frame.select("*", "_metadata.file_path", "_metadata.row_index") \
        .createOrReplaceTempView(name)
    return name


def _label(path: str, file_path: str, files: int) -> str:
    """The file a row is in: the path given, or the part inside a directory."""
    if files == 1:
        return path
    return file_path[len("file:"):] if file_path.startswith("file:") else file_path


def _bad_rows(spark: Any, frame: Any, path: str,
              checks: list[tuple[str, str, str]]) -> list[ErrorRow]:
    view = _with_position(spark, frame)
    files = len(frame.inputFiles())
    names = {f.name.strip().lstrip("\ufeff").lower(): f.name for f in frame.schema.fields}
    errors: list[ErrorRow] = []
    for column, cond, message in checks:
        shown = f"CAST(`{names[column]}` AS STRING)" if column in names else "NULL"
        found = spark.sql(
            f"SELECT file_path, row_index, {shown} FROM {view} "
            f"WHERE coalesce({_spark_sql(cond)}, false) "
            f"ORDER BY file_path, row_index LIMIT {MAX_REPORTED}").collect()
        for file_path, index, value in found:
            extra = "" if value is None else f"（值：{value!r}）"
            errors.append((_label(path, file_path, files), int(index) + 1, column,
                           message + extra))
        if len(errors) >= MAX_REPORTED:
            break
    errors.sort(key=lambda e: (e[0], e[1] or 0))
    return errors[:MAX_REPORTED]


def _duplicates(spark: Any, frame: Any, path: str, key: str, column: str) -> list[ErrorRow]:
    view = _with_position(spark, frame)
    files = len(frame.inputFiles())
    keys = [r[0] for r in spark.sql(
        f"SELECT {key} AS k FROM {view} GROUP BY 1 HAVING count(*) > 1 "
        f"ORDER BY k LIMIT {MAX_REPORTED}").collect()]
    found = spark.sql(
        f"SELECT {key}, file_path, row_index FROM {view} WHERE {key} IN "
        f"({', '.join(_literal(k) for k in keys)}) ORDER BY file_path, row_index").collect()
    first: dict[str, tuple[str, int]] = {}
    errors: list[ErrorRow] = []
    for value, file_path, index in found:
        where = (_label(path, file_path, files), int(index) + 1)
        if value not in first:
            first[value] = where
            continue
        seen = first[value]
        at = f"第 {seen[1]} 行" if seen[0] == where[0] else f"{seen[0]} 第 {seen[1]} 行"
        errors.append((where[0], where[1], column, f"{column} {value!r} 重复（第一次出现在{at}）"))
    return errors[:MAX_REPORTED]


def _delete(spark: Any, path: str) -> None:
    """Remove a written directory through Hadoop's filesystem (local, HDFS, S3 alike)."""
    jvm = spark.sparkContext._jvm
    target = jvm.org.apache.hadoop.fs.Path(path)
    target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(target, True)


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run_calc_on_spark(spark: Any, *, policy: str, members: str, events: str,
                      enrolments: str | None = None, prior: str | None = None, out: str,
                      columns: str = "full", progress: TextIO | None = None,
                      totals: bool = True) -> dict[str, tuple[int, Decimal | None]]:
    """``huzhu calc --engine spark``: the inputs read on ``spark``, the policy's plan
    run there and written by ``df.write.parquet(out)`` (a directory of parts,
    replaced). Returns ``{status: (rows, payable total)}`` (empty when ``totals`` is
    False), as :func:`huzhu.rules.batch.run_calc` does."""
    # Lazy: batch brings DuckDB's pipeline, which only its timer and plan loader are
    # borrowed from here.
    from huzhu.rules.batch import _policy_and_plan, _Progress

    log = _Progress(progress)
    if columns not in COLUMN_SETS:
        raise InputError([(out, None, None, f"未知的列集合 {columns!r}，应为 full 或 minimal")])
    if out.lower().endswith(".csv"):
        raise InputError([(out, None, None, "Spark 引擎只写 Parquet（分片目录）")])
    facts, _ = _policy_and_plan(policy, prior is not None, columns)
    sql = cached_sql(facts.content_hash, "pyspark", with_prior=prior is not None,
                     columns=columns)
    if sql is None:
        from huzhu.rules.loader import load_policy  # only when the plan is not cached

        sql = compiled_sql(load_policy(resolve_policy_path(policy)), "pyspark",
                           with_prior=prior is not None, columns=columns)
    log.step(f"政策 {facts.code}（{facts.name}），项目：{'、'.join(facts.benefit_codes)}，"
             f"计划已就绪（Spark：{spark.sparkContext.master}）")
    paths = {"members": members, "events": events, "enrolments": enrolments, "prior": prior}
    inputs = register_inputs(spark, paths, facts.benefit_codes, facts.day_capped_codes)
    for kind, path in paths.items():
        if path:
            log.step(f"{path}：{inputs.rows[kind]:,} 行，校验无误，主键无重复")
    spark.sql(sql).write.mode("overwrite").parquet(out)
    written = spark.read.parquet(out)
    if written.count() != inputs.rows["events"]:  # a plan's bug: the inputs were checked
        _delete(spark, out)
        raise InputError([(out, None, None, f"输出行数与事件数（{inputs.rows['events']:,}）"
                                            "不符，结果已删除")])
    log.step(f"计算并写出 {out}")
    counts: dict[str, tuple[int, Decimal | None]] = {}
    if totals:
        written.createOrReplaceTempView("hz_written")
        for status, n, total in spark.sql(
                "SELECT status, count(*), sum(payable) FROM hz_written "
                "GROUP BY status ORDER BY status").collect():
            counts[status] = (int(n), total)
            log.step(f"  {status}: {n:,} 行，给付合计 {total} 元")
    return counts
