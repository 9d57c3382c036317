"""Benchmark: ``huzhu calc --engine spark`` on ``local[2]`` against ``--engine duckdb``;
prints a table.

The same synthetic inputs (``huzhu synth``, Changchun: members, enrolments, events as
Parquet) go through both engines, each as its own process:

    .venv/bin/python bench/bench_spark_calc.py      # 10,000,000 members, 20,000,000 events
    .venv/bin/python bench/bench_spark_calc.py --members 1000000 --events 2000000
    .venv/bin/python bench/bench_spark_calc.py --only spark --columns minimal   # one half

Memory is bounded on both sides: Spark's driver (on ``local[2]`` it is also the only
executor) gets ``--driver-memory`` (the JVM's -Xmx, default 6g) and
``spark.sql.shuffle.partitions`` = ``--shuffle-partitions`` (default 8, four per core),
both passed the ordinary way, in ``PYSPARK_SUBMIT_ARGS``; DuckDB's connection is
opened with ``memory_limit`` = ``--duckdb-memory`` (default 6GB; ``huzhu calc`` has no
option for it, so the DuckDB child opens its connections through a wrapper that adds
it). Peak RSS is sampled every 0.2 s over each child's process tree: the Python driver
and, for Spark, its JVM, reported apart and together.

The outputs (a Parquet file from DuckDB, a directory of parts from Spark) are then
compared in DuckDB: row counts, the sum of ``payable``, an order-independent hash of
the per-event payables (``event_id`` and ``payable`` as text), and the number of events
whose payable differs (a full join on ``event_id``). Each engine's own progress log
(``huzhu calc`` without ``--quiet``) gives its steps' times; the longest is named.

Generated data goes to ``/tmp/hz-spark-bench/`` (``--data``), kept between runs (the
files are regenerated only when their row counts do not match); outputs go there too.
Nothing here is committed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
HUZHU = [sys.executable, "-m", "huzhu.cli"]
POLICY = "changchun-2023"
STEP = re.compile(r"^\[\s*([\d.]+)s \+\s*([\d.]+)s\] (.*)$")
DUCKDB_CHILD = """
import sys, duckdb
_connect = duckdb.connect
def connect(*args, **kwargs):
    config = dict(kwargs.pop("config", None) or {{}})
    config.setdefault("memory_limit", {limit!r})
    return _connect(*args, config=config, **kwargs)
duckdb.connect = connect
from huzhu.cli import main
sys.exit(main(sys.argv[1:]))
"""


def rows_of(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def make_data(folder: Path, members: int, events: int, seed: int) -> float:
    """The synthetic inputs (kept when already there); returns seconds spent."""
    files = [folder / n for n in ("members.parquet", "enrolments.parquet", "events.parquet")]
    if all(f.is_file() for f in files) and rows_of(files[0]) == members \
            and rows_of(files[2]) == events:
        return 0.0
    started = time.perf_counter()
    subprocess.run([*HUZHU, "synth", "--members", str(members), "--events", str(events),
                    "--seed", str(seed), "--policy", POLICY, "--out", str(folder), "--quiet"],
                   check=True, cwd=ROOT)
    return time.perf_counter() - started


class Sampler(threading.Thread):
    """Peak RSS of a process and of its descendants (the JVM), sampled."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak_self = self.peak_children = self.peak_total = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                own = self.process.memory_info().rss
                kids = 0
                for kid in self.process.children(recursive=True):
                    try:
                        kids += kid.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            self.peak_self = max(self.peak_self, own)
            self.peak_children = max(self.peak_children, kids)
            self.peak_total = max(self.peak_total, own + kids)
            self.done.wait(0.2)


@dataclass
class Run:
    code: int
    wall: float
    python: int
    """Peak RSS of the ``huzhu calc`` process (the Python driver), bytes."""
    jvm: int
    """Peak RSS of its descendants (Spark's JVM), bytes."""
    total: int
    steps: list[tuple[float, str]]
    """(seconds, message) of each line of its progress log."""


def run_child(argv: list[str], env: dict[str, str], log: Path) -> Run:
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=err, stderr=err)
        sampler = Sampler(proc.pid)
        sampler.start()
        code = proc.wait()
        sampler.done.set()
        sampler.join()
    wall = time.perf_counter() - started
    steps = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = STEP.match(line)
        if m:
            steps.append((float(m.group(2)), m.group(3)))
    return Run(code, wall, sampler.peak_self, sampler.peak_children, sampler.peak_total, steps)


def compare(duck: Path, spark: Path, limit: str) -> dict[str, tuple[object, object]]:
    import duckdb

    con = duckdb.connect(config={"memory_limit": limit})
    sources = {"duckdb": f"read_parquet('{duck}')",
               "spark": f"read_parquet('{spark}/*.parquet')"}
    out: dict[str, tuple[object, object]] = {}
    figures = {}
    for name, source in sources.items():
        figures[name] = con.execute(
            f"SELECT count(*), sum(payable), "
            f"bit_xor(hash(event_id || ':' || CAST(payable AS VARCHAR))) FROM {source}"
        ).fetchall()[0]
    for i, label in enumerate(("rows", "sum", "hash")):
        out[label] = (figures["duckdb"][i], figures["spark"][i])
    differing = con.execute(
        f"SELECT count(*) FROM {sources['duckdb']} d FULL JOIN {sources['spark']} s "
        f"USING (event_id) WHERE d.payable IS DISTINCT FROM s.payable").fetchall()[0][0]
    out["differing"] = (differing, differing)
    con.close()
    return out


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def gib(n: int) -> str:
    return f"{n / 2**30:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--columns", choices=("full", "minimal"), default="full")
    parser.add_argument("--driver-memory", default="6g", help="spark.driver.memory (-Xmx)")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--duckdb-memory", default="6GB", help="DuckDB memory_limit")
    parser.add_argument("--data", type=Path, default=Path("/tmp/hz-spark-bench"))
    parser.add_argument("--only", choices=("duckdb", "spark"), help="run one engine only")
    args = parser.parse_args(argv)

    folder = args.data / f"m{args.members}-e{args.events}-s{args.seed}"
    synth = make_data(folder, args.members, args.events, args.seed)
    print(f"数据：{folder}（{args.members:,} 名会员，{args.events:,} 条事件；"
          f"{'已有' if not synth else f'生成 {synth:.0f} 秒'}）")
    print(f"uptime（开始）：{uptime()}")
    inputs = ["--policy", POLICY, "--members", str(folder / "members.parquet"),
              "--events", str(folder / "events.parquet"),
              "--enrolments", str(folder / "enrolments.parquet"), "--columns", args.columns]
    outs = {"duckdb": folder / f"out-duckdb-{args.columns}.parquet",
            "spark": folder / f"out-spark-{args.columns}"}
    env = {**os.environ, "HUZHU_PLAN_CACHE": str(args.data / "plans")}
    runs: dict[str, Run] = {}
    if args.only in (None, "duckdb"):
        child = [sys.executable, "-c", DUCKDB_CHILD.format(limit=args.duckdb_memory)]
        runs["duckdb"] = run_child([*child, "calc", *inputs, "--out", str(outs["duckdb"])],
                                   env, folder / "log-duckdb.txt")
    if args.only in (None, "spark"):
        spark_env = {**env, "PYSPARK_SUBMIT_ARGS":
                     f"--driver-memory {args.driver_memory} "
                     f"--conf spark.sql.shuffle.partitions={args.shuffle_partitions} "
                     "pyspark-shell"}
        runs["spark"] = run_child([*HUZHU, "calc", *inputs, "--out", str(outs["spark"]),
                                   "--engine", "spark"], spark_env, folder / "log-spark.txt")
    print(f"uptime（结束）：{uptime()}")

    print()
    print("| 引擎 | 秒 | 峰值内存 Python（GiB） | 峰值内存 JVM（GiB） | 合计（GiB） "
          "| 内存上限 | 退出码 |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for name, r in runs.items():
        cap = (f"-Xmx{args.driver_memory}（spark.driver.memory），shuffle 分区 "
               f"{args.shuffle_partitions}" if name == "spark"
               else f"memory_limit {args.duckdb_memory}")
        print(f"| {name} | {r.wall:.1f} | {gib(r.python)} | {gib(r.jvm)} | "
              f"{gib(r.total)} | {cap} | {r.code} |")
    for name, r in runs.items():
        steps = r.steps
        if steps:
            longest = max(steps)
            print(f"\n{name} 各步（秒）：")
            for seconds, message in steps:
                print(f"  {seconds:8.2f}  {message}")
            print(f"  最长一步：{longest[1]}（{longest[0]:.2f} 秒）")
    # With --only, the other engine's output of an earlier run (same size and columns)
    # is compared against: the two halves of a long benchmark can run one after the other.
    if all(r.code == 0 for r in runs.values()) and all(p.exists() for p in outs.values()):
        figures = compare(outs["duckdb"], outs["spark"], args.duckdb_memory)
        same = all(a == b for a, b in figures.values()) and figures["differing"][0] == 0
        print("\n| 比较 | duckdb | spark |")
        print("|---|---:|---:|")
        for label, (a, b) in figures.items():
            print(f"| {label} | {a} | {b} |")
        print(f"\n应付金额逐事件一致：{'是' if same else '否'}")
        return 0 if same else 1
    return 0 if all(r.code == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
