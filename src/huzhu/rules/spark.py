"""Running the compiled plan on PySpark (optional extra: ``pip install huzhu[spark]``)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from huzhu.rules.columns import TABLE_NAMES


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
