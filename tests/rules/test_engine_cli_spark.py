"""``huzhu calc`` and ``huzhu simulate`` with ``--engine duckdb|spark``: the same synthetic
inputs (``huzhu synth``) on both engines, on ``local[2]``, pay every event the same to
the fen; Parquet in as a file or a directory of parts, out as a file (DuckDB) or a
directory of parts (Spark).

The Spark tests use the session-wide ``spark`` fixture (tests/conftest.py): under
``CI=true`` a missing pyspark or Java fails them, elsewhere it skips them. The commands
run in this process and find that session running, so they use it and leave it running.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from huzhu.cli import main
from huzhu.rules.synth import decimal_from_cents, generate

POLICY = "changchun-2023"
REFORM = "changchun-2023-reform"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic members, enrolments and events, the events also as a directory of two
    parts, and a prior-payouts file (every tenth event, paid before the run)."""
    out = tmp_path_factory.mktemp("engines")
    generate(members=1_500, events=6_000, seed=23, out=out, policies=[POLICY])
    events = pq.read_table(out / "events.parquet")
    parts = out / "events-parts"
    parts.mkdir()
    half = events.num_rows // 2
    pq.write_table(events.slice(0, half), parts / "part-00000.parquet")
    pq.write_table(events.slice(half), parts / "part-00001.parquet")
    (parts / "_SUCCESS").write_text("")  # as Spark leaves it: not a part
    rows = pa.array(range(0, events.num_rows, 10))
    prior = events.take(rows)
    prior = prior.append_column(
        "paid", decimal_from_cents((pc.cast(rows, pa.int64()).to_numpy() * 1_234) % 90_000))
    # pyarrow-stubs: a Python str is a valid scalar operand (pyarrow wraps it)
    ids = pc.binary_join_element_wise("P", prior.column("event_id"), "")  # type: ignore[call-overload]
    prior = prior.set_column(0, "event_id", ids)
    pq.write_table(prior, out / "prior.parquet")
    return out


def _inputs(data: Path, events: Path) -> list[str]:
    return ["--members", str(data / "members.parquet"), "--events", str(events),
            "--enrolments", str(data / "enrolments.parquet")]


def _payables(table: pa.Table, *columns: str) -> dict[str, tuple[Decimal, ...]]:
    rows = table.select(["event_id", *columns]).to_pylist()
    return {r["event_id"]: tuple(r[c] for c in columns) for r in rows}


@pytest.mark.spark
def test_calc_pays_every_event_the_same_on_both_engines(spark: Any, data: Path,
                                                        tmp_path: Path) -> None:
    duck_out, spark_out = tmp_path / "duckdb.parquet", tmp_path / "spark.parquet"
    common = ["calc", "--policy", POLICY, "--prior", str(data / "prior.parquet"), "--quiet"]
    # DuckDB reads the directory of parts, Spark the single file, and the other way
    # round below: each engine reads both forms.
    assert main([*common, *_inputs(data, data / "events-parts"), "--out", str(duck_out)]) == 0
    assert main([*common, *_inputs(data, data / "events.parquet"), "--out", str(spark_out),
                 "--engine", "spark"]) == 0
    assert duck_out.is_file()
    assert spark_out.is_dir() and (spark_out / "_SUCCESS").exists()
    assert list(spark_out.glob("part-*.parquet"))

    on_duckdb, on_spark = pq.read_table(duck_out), pq.read_table(spark_out)
    assert on_spark.num_rows == on_duckdb.num_rows == 6_000
    assert on_spark.schema.field("payable").type == pa.decimal128(18, 2)
    paid_duckdb, paid_spark = _payables(on_duckdb, "payable"), _payables(on_spark, "payable")
    assert all(isinstance(p, Decimal) for (p,) in paid_spark.values())
    assert paid_spark == paid_duckdb
    total = sum(p for (p,) in paid_spark.values())
    assert total == sum(p for (p,) in paid_duckdb.values()) and total > Decimal("100000.00")
    # Not only the payables: every column of every row, in the same order.
    assert on_spark.to_pylist() == on_duckdb.to_pylist()
    assert {r["status"] for r in on_spark.to_pylist()} == {"payable", "capped", "ineligible"}

    spark_parts = tmp_path / "spark-minimal"
    assert main([*common, *_inputs(data, data / "events-parts"), "--out", str(spark_parts),
                 "--engine", "spark", "--columns", "minimal"]) == 0
    minimal = pq.read_table(spark_parts)
    assert minimal.column_names == ["event_id", "member_id", "benefit", "payable", "status",
                                    "reason"]
    assert _payables(minimal, "payable") == paid_duckdb


@pytest.mark.spark
def test_simulate_gives_the_same_report_and_payables_on_both_engines(
        spark: Any, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports, per_event = {}, {}
    for engine in ("duckdb", "spark"):
        events_out = tmp_path / f"events-{engine}.parquet"
        args = ["simulate", "--policy", POLICY, "--reform", REFORM,
                *_inputs(data, data / "events-parts"), "--out", str(tmp_path / f"{engine}.xlsx"),
                "--events-out", str(events_out), "--engine", engine, "--json"]
        assert main(args) == 0
        reports[engine] = json.loads(capsys.readouterr().out)
        per_event[engine] = pq.read_table(events_out)
        assert (tmp_path / f"{engine}.xlsx").is_file()
    assert (tmp_path / "events-spark.parquet").is_dir()
    assert reports["spark"] == reports["duckdb"]
    assert reports["spark"]["difference"] != "0.00"  # the reform changes something
    columns = ("base_payable", "reform_payable", "difference")
    duck, on_spark = per_event["duckdb"], per_event["spark"]
    assert on_spark.num_rows == duck.num_rows == 6_000
    assert _payables(on_spark, *columns) == _payables(duck, *columns)
    assert on_spark.to_pylist() == duck.to_pylist()
    # The per-event file adds up to the report's totals, to the fen.
    rows = on_spark.to_pylist()
    assert str(sum(r["base_payable"] for r in rows)) == reports["spark"]["base_total"]
    assert str(sum(r["reform_payable"] for r in rows)) == reports["spark"]["reform_total"]
    assert all(r["difference"] == r["reform_payable"] - r["base_payable"] for r in rows)


def _bad_events(data: Path, folder: Path) -> Path:
    """The events as two parts; in the second part, its third row pays a negative cost
    and its fifth repeats the first event's id."""
    events = pq.read_table(data / "events.parquet").slice(0, 40)
    second = events.slice(20).to_pylist()
    second[2]["out_of_pocket"] = Decimal("-5.00")
    second[4]["event_id"] = events.column("event_id")[0].as_py()
    folder.mkdir()
    pq.write_table(events.slice(0, 20), folder / "part-00000.parquet")
    pq.write_table(pa.Table.from_pylist(second, schema=events.schema),
                   folder / "part-00001.parquet")
    return folder


@pytest.mark.spark
def test_bad_input_on_spark_names_the_part_row_and_column_and_writes_nothing(
        spark: Any, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = _bad_events(data, tmp_path / "bad-events")
    out = tmp_path / "out"
    args = ["calc", "--policy", POLICY, "--members", str(data / "members.parquet"),
            "--events", str(events), "--out", str(out), "--engine", "spark", "--quiet"]
    assert main(args) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "未计算、未写出任何结果" in err
    assert f"{events / 'part-00001.parquet'}，第 3 行，列 out_of_pocket：不能为负数" in err

    # With the negative cost mended, the duplicated id is what is named, with its first row.
    fixed = pq.read_table(events / "part-00001.parquet").to_pylist()
    fixed[2]["out_of_pocket"] = Decimal("5.00")
    schema = pq.read_schema(events / "part-00000.parquet")
    pq.write_table(pa.Table.from_pylist(fixed, schema=schema), events / "part-00001.parquet")
    assert main(args) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    first = pq.read_table(data / "events.parquet").column("event_id")[0].as_py()
    assert (f"{events / 'part-00001.parquet'}，第 5 行，列 event_id：event_id {first!r} "
            f"重复（第一次出现在{events / 'part-00000.parquet'} 第 1 行）") in err


@pytest.mark.spark
def test_spark_reads_and_writes_parquet_only(spark: Any, data: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    members = tmp_path / "members.csv"
    members.write_text("member_id,birth_date,gender,status\nm1,1980-01-01,M,active\n",
                       encoding="utf-8")
    base = ["calc", "--policy", POLICY, "--events", str(data / "events.parquet"),
            "--engine", "spark", "--quiet"]
    assert main([*base, "--members", str(members), "--out", str(tmp_path / "o")]) == 2
    assert "members.csv：Spark 引擎只读 Parquet 文件或分片目录" in capsys.readouterr().err
    assert main([*base, "--members", str(data / "members.parquet"),
                 "--out", str(tmp_path / "o.csv")]) == 2
    assert "Spark 引擎只写 Parquet（分片目录）" in capsys.readouterr().err
    assert main([*base, "--members", str(tmp_path / "nowhere.parquet"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "nowhere.parquet：文件或目录不存在" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_duckdb_names_an_empty_directory(data: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["calc", "--policy", POLICY, "--members", str(data / "members.parquet"),
                 "--events", str(empty), "--out", str(tmp_path / "o.parquet")]) == 2
    assert f"{empty}：目录中没有 .parquet 文件" in capsys.readouterr().err


def test_engine_options_that_do_not_go_together_are_refused(
        data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--policy", POLICY, "--members", str(data / "members.parquet"),
            "--events", str(data / "events.parquet")]
    assert main(["calc", *base, "--out", str(tmp_path / "o.parquet"),
                 "--spark-master", "spark://h:7077"]) == 2
    assert "--spark-master 只与 --engine spark 一起使用" in capsys.readouterr().err
    assert main(["calc", *base, "--out", str(tmp_path / "o.parquet"), "--engine", "spark",
                 "--threads", "2"]) == 2
    assert "--threads 只用于 duckdb 引擎" in capsys.readouterr().err
    assert main(["simulate", *base, "--reform", REFORM, "--out", str(tmp_path / "r.xlsx"),
                 "--events-out", str(tmp_path / "e.csv")]) == 2
    assert "--events-out 应为 .parquet 文件" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_calc_on_duckdb_imports_neither_django_nor_pyspark(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    script = (
        "import sys\n"
        "from huzhu.cli import main\n"
        f"code = main(['calc', '--policy', {POLICY!r}, '--members', "
        f"{str(data / 'members.parquet')!r}, '--events', {str(data / 'events-parts')!r}, "
        f"'--out', {str(out)!r}, '--quiet'])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'django', 'pyspark'})\n"
        "print(code, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "0 []"
    assert pq.read_table(out).num_rows == 6_000


@pytest.mark.spark
def test_an_output_without_one_row_per_event_is_deleted(
        spark: Any, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The inputs were checked, so only a plan's bug could write another number of rows
    than events; such an output must not stay behind as a result."""
    from huzhu.rules import spark as on_spark
    from huzhu.rules.errors import InputError

    real = on_spark.register_inputs

    def one_event_more(*args: Any, **kwargs: Any) -> on_spark.SparkInputs:
        inputs = real(*args, **kwargs)
        inputs.rows["events"] += 1
        return inputs

    monkeypatch.setattr(on_spark, "register_inputs", one_event_more)
    out = tmp_path / "out"
    with pytest.raises(InputError, match="输出行数与事件数（6,001）不符，结果已删除"):
        on_spark.run_calc_on_spark(spark, policy=POLICY, members=str(data / "members.parquet"),
                                   events=str(data / "events.parquet"), out=str(out),
                                   columns="minimal", totals=False)
    assert not out.exists()
