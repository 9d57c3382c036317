"""Benchmark: ``huzhu simulate`` against two ``huzhu calc`` runs on the same events; prints
a table.

    .venv/bin/python bench/bench_simulate.py        # 1,000,000 members, 2,000,000 events
    .venv/bin/python bench/bench_simulate.py --members 20000 --events 40000

Uses the data of ``bench_calc.py`` (changchun hospital events) and the shipped sample
reform ``changchun-2023-reform``. Each command is a child process (wall time and peak
memory from ``os.wait4``); plans are cached under ``bench/out/plans`` and warmed first.
The report's difference is checked against the two calc outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_calc import HUZHU, OUT, POLICY, _gib, child, make_data

REFORM = "changchun-2023-reform"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    data = make_data(args.members, args.events, args.seed)
    files = ["--members", str(data / "members.parquet"), "--events", str(data / "hospital.parquet")]
    env = {**os.environ, "HUZHU_PLAN_CACHE": str(OUT / "plans")}
    runs = {
        "calc base": [*HUZHU, "calc", "--policy", POLICY, *files, "--columns", "minimal",
                      "--out", str(OUT / "sim-base.parquet"), "--quiet"],
        "calc reform": [*HUZHU, "calc", "--policy", REFORM, *files, "--columns", "minimal",
                        "--out", str(OUT / "sim-reform.parquet"), "--quiet"],
        "simulate": [*HUZHU, "simulate", "--policy", POLICY, "--reform", REFORM, *files,
                     "--out", str(OUT / "simulate.xlsx"), "--json"],
    }
    for argv_ in runs.values():  # warm the plan cache
        child(argv_, env)
    results = {name: child(argv_, env) for name, argv_ in runs.items()}
    for name, (_wall, _rss, code, _out) in results.items():
        if code:
            raise SystemExit(f"{name} failed with exit code {code}")
    report = json.loads(results["simulate"][3])

    import duckdb

    expected = duckdb.sql(
        f"SELECT sum(r.payable) - sum(b.payable) FROM read_parquet('{OUT / 'sim-base.parquet'}') b "
        f"JOIN read_parquet('{OUT / 'sim-reform.parquet'}') r USING (event_id)").fetchall()[0][0]
    same = Decimal(report["difference"]) == expected

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"huzhu simulate: {args.events:,} {POLICY} hospital events, "
                        f"{args.members:,} members, reform {REFORM}, {os.cpu_count()} cores")
    for name in ("step", "wall s", "peak RSS"):
        table.add_column(name, justify="left" if name == "step" else "right")
    for name, (wall, rss, _code, _out) in results.items():
        table.add_row(name, f"{wall:.2f}", _gib(rss))
    two = results["calc base"][0] + results["calc reform"][0]
    table.add_row("two calc runs together", f"{two:.2f}", "")
    console = Console()
    console.print(table)
    console.print(f"difference {report['difference']} yuan; equals the two calc runs: {same}; "
                  f"members paid more / less / same: {report['members_paid_more']:,} / "
                  f"{report['members_paid_less']:,} / {report['members_unchanged']:,}; "
                  f"load average {os.getloadavg()[0]:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
