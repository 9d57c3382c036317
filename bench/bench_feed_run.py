"""``huzhu feed run`` at city scale on PostgreSQL: a feed of N settlement rows against a
registry of M members, from the file to proactive claims committed — import (validate,
stage, match), the batch's inputs, the engine (one call), and the writes (claims, their
history, every row's outcome) — with a table per phase.

Reuses ``bench_feeds.py``'s city (unions, units, members with real blind indexes), its
feed generator and its throwaway PostgreSQL server, under ``bench/out/feed_run/``; the
registry and the feed file are kept for the next run (``--rebuild`` starts over). Each
measured run is a fresh process on a registry with no feeds or claims yet.

    .venv/bin/python bench/bench_feed_run.py [--members 1000000] [--rows 1000000]
        [--matched 0.9] [--engine duckdb] [--report]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_feeds as city  # noqa: E402  (the same city and feed)

OUT = ROOT / "bench" / "out" / "feed_run"
city.OUT = OUT
SCHEME = "changchun-2023"
PHASES = [("import", "import (validate, stage, match, write stays)"),
          ("loading", "batch: read the feed's rows and stays"),
          ("inputs", "batch: events, members, prior (Arrow)"),
          ("engine", "engine: one evaluate() call"),
          ("classify", "batch: outcomes per row and benefit"),
          ("writing", "write: claims, history, outcomes (COPY)")]


def prepare_scheme() -> None:
    from huzhu.coverage.models import Scheme
    from huzhu.coverage.schemes import create_scheme
    from huzhu.orgs.models import Union, User

    if Scheme.objects.filter(code=SCHEME).exists():
        return
    root = Union.objects.get(parent__isnull=True)
    admin, _ = User.objects.get_or_create(username="bench_admin",
                                          defaults={"role": "admin", "union": root})
    create_scheme(admin, union=root, policy_name=SCHEME)


def reset() -> None:
    """Empty the feeds and claims (TRUNCATE: deleting a million claims row by row checks
    every referencing table per row)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE feeds_stayoutcome, feeds_batchrun, claims_claimevent, "
                       "claims_claim, feeds_feedrow, feeds_settlement, feeds_feed CASCADE")
        cursor.execute("DELETE FROM audit_auditentry WHERE action IN "
                       "('claims.changed', 'feeds.imported')")
        cursor.execute("ANALYZE")


def measure(path: Path, engine: str, report: bool) -> dict:
    import resource

    from django.db import connection

    from huzhu.claims.models import Claim
    from huzhu.coverage.models import Scheme
    from huzhu.feeds.importing import import_feed
    from huzhu.feeds.proactive import run as batch

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int | None) -> None:
        marks.setdefault(phase, time.perf_counter() - started)
        marks[f"{phase}:last"] = time.perf_counter() - started

    outcome = import_feed(path, progress=progress)
    marks["import:end"] = time.perf_counter() - started
    scheme = Scheme.objects.get(code=SCHEME)
    run = batch.start_run(outcome.feed, scheme, engine=engine)
    session = None
    if engine == "pyspark":
        from huzhu.rules.spark import local_session

        session = local_session()
        marks["import:end"] = time.perf_counter() - started  # Spark's start is not the feed's
    result = batch.execute(run, progress=progress, spark_session=session)
    end = time.perf_counter() - started
    if report:
        from huzhu.feeds.proactive.report import write_report

        write_report(result.run, OUT / "report.csv")
        marks["report"] = time.perf_counter() - started - end
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('claims_claim'))")
        claims_size = cursor.fetchone()[0]
    t = {
        "import": marks["import:end"],
        "loading": marks["inputs"] - marks["loading"],
        "inputs": marks["engine"] - marks["inputs"],
        "engine": marks["engine:last"] - marks["engine"],
        "classify": marks["writing"] - marks["engine:last"],
        "writing": end - marks["writing"],
    }
    return {
        "phases": {k: round(v, 1) for k, v in t.items()}, "total_s": round(end, 1),
        "report_s": round(marks.get("report", 0), 1),
        "rows": outcome.rows, "matched": outcome.matched, "counts": result.counts,
        "claims": Claim.objects.filter(settlement__isnull=False).count(),
        "amount": str(result.proposed_amount), "claims_table": claims_size,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load": os.getloadavg(),
    }


def child(args: argparse.Namespace) -> int:
    city.django_setup(args.database_url)
    if args.child == "build":
        city.build_members(args.members)
        prepare_scheme()
        return 0
    if args.child == "reset":
        reset()
        return 0
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(measure, Path(args.file), args.engine, args.report)
        profiler.dump_stats(args.profile)
    else:
        result = measure(Path(args.file), args.engine, args.report)
    print(json.dumps(result))
    return 0


def spawn(url: str, *extra: str) -> str:
    import subprocess

    command = [sys.executable, __file__, "--database-url", url, *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(extra)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--matched", type=float, default=0.9)
    parser.add_argument("--engine", choices=("duckdb", "pyspark"), default="duckdb")
    parser.add_argument("--report", action="store_true", help="also write the CSV report")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the measured run into FILE")
    parser.add_argument("--child", choices=("build", "reset", "run"))
    parser.add_argument("--database-url")
    parser.add_argument("--file")
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.rebuild and OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True, exist_ok=True)
    city.bench_keys()
    path = city.write_feeds(args.rows, args.members, args.matched, ["parquet"])["parquet"]
    server = city.start_postgres(args.members)
    url = f"postgresql://postgres@127.0.0.1:{server.port}/huzhu"
    try:
        spawn(url, "--child", "build", "--members", str(args.members))
        spawn(url, "--child", "reset")
        extra = ["--report"] if args.report else []
        if args.profile:
            extra += ["--profile", str(Path(args.profile).resolve())]
        result = json.loads(spawn(url, "--child", "run", "--file", str(path),
                                  "--engine", args.engine, *extra))
    finally:
        server._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
    print_table(result, args)
    return 0


def print_table(r: dict, args: argparse.Namespace) -> None:
    print(f"huzhu feed run on PostgreSQL: {r['rows']:,} settlement rows, {args.members:,} "
          f"members, {r['matched']:,} rows matched, engine {args.engine}; load average "
          f"{' '.join(f'{x:.1f}' for x in r['load'])} (at the end)")
    print(f"{'phase':<48} {'seconds':>8}")
    for key, label in PHASES:
        print(f"{label:<48} {r['phases'][key]:>8.1f}")
    print(f"{'total (file to committed claims)':<48} {r['total_s']:>8.1f}")
    if r["report_s"]:
        print(f"{'report (CSV, every row)':<48} {r['report_s']:>8.1f}")
    print(f"claims created: {r['claims']:,}, proposed amount {r['amount']} yuan; "
          f"outcomes {r['counts']}; claims table {r['claims_table']}; "
          f"peak memory {r['peak_mb']:,} MB")


if __name__ == "__main__":
    raise SystemExit(main())
