"""Review by exception (抽样复核) at city scale on PostgreSQL: a proactive run of N feed
rows (``huzhu feed run``'s own code, measured by ``bench_feed_run.py``), then the steps
this bench measures on its claims — the straight-through count the run page shows, a 1%
sample drawn, and the one decision that approves all the other straight-through claims
(one UPDATE, history rows and SMS per chunk of 50,000) — and a second approve, which must
change nothing. The people's review of the sample is not measured: the sampled claims are
set approved by one statement, as if two reviewers had taken each.

Reuses ``bench_feeds.py``'s city and feed generator and its throwaway PostgreSQL server,
under ``bench/out/proactive_review/`` (kept for the next run; ``--rebuild`` starts over).
Members get mobile numbers, so the approval's SMS are part of what is measured.

    .venv/bin/python bench/bench_proactive_review.py [--members 150000] [--rows 150000]
        [--percent 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_feed_run as feed_run  # noqa: E402  (the same city, feed and run)
import bench_feeds as city  # noqa: E402

OUT = ROOT / "bench" / "out" / "proactive_review"
city.OUT = OUT
feed_run.OUT = OUT
PROFILE = os.environ.get("BENCH_PROFILE", "")  # cProfile the decision into this file


def column_defaults() -> None:
    """The members' text and flag columns added since ``bench_feeds.py``'s builder was
    written (the bank's name …) get their model defaults in this throwaway database, so
    that builder's COPY, which names only its own columns, still fills the registry."""
    from django.core.management import call_command
    from django.db import connection, models

    from huzhu.members.models import Member

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for field in Member._meta.concrete_fields:
            if field.null:
                continue
            if isinstance(field, (models.CharField, models.TextField)):
                default = "''"
            elif isinstance(field, models.BooleanField) and field.has_default():
                default = "true" if field.get_default() else "false"
            else:
                continue
            cursor.execute(f"ALTER TABLE members_member ALTER COLUMN {field.column} "
                           f"SET DEFAULT {default}")


def prepare_people() -> None:
    """Two reviewers at the city's node, and a mobile number for every member."""
    from django.db import connection

    from huzhu.orgs.models import Union, User

    root = Union.objects.get(parent__isnull=True)
    for name in ("bench_reviewer1", "bench_reviewer2"):
        User.objects.get_or_create(username=name, defaults={"role": "reviewer", "union": root})
    with connection.cursor() as cursor:
        cursor.execute("UPDATE members_member SET phone = '139' || lpad(id::text, 8, '0') "
                       "WHERE phone = ''")


def reset() -> None:
    from django.db import connection

    feed_run.reset()
    with connection.cursor() as cursor:
        # The usual amounts too: a previous run's approvals would flag this run's claims.
        cursor.execute("TRUNCATE feeds_proactivesampleclaim, feeds_proactivesample, "
                       "notify_outboxmessage, claims_claimamountnorm CASCADE")
        cursor.execute("DELETE FROM audit_auditentry WHERE action LIKE 'feeds.%%'")
        cursor.execute("ANALYZE")


def measure(path: Path, percent: str) -> dict:
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from huzhu.claims.models import Claim
    from huzhu.feeds.models.proactive import BatchRun, ProactiveSampleClaim
    from huzhu.feeds.proactive import review
    from huzhu.notify.models import OutboxMessage
    from huzhu.orgs.models import User

    started = time.perf_counter()
    feed = feed_run.measure(path, "duckdb", False)
    feed_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    run = BatchRun.objects.select_related("scheme__union", "union", "feed").latest("pk")
    first, second = (User.objects.get(username=n) for n in ("bench_reviewer1",
                                                             "bench_reviewer2"))
    t = time.perf_counter()
    shown = review.straight_through(run)
    count_s = time.perf_counter() - t

    t = time.perf_counter()
    sample = review.draw(first, run, percent=percent, seed=20261207)
    sample_s = time.perf_counter() - t

    # The people's review of the sample, not measured: each sampled claim approved for
    # the run's amount, as 初审 and 复审 by two people would leave it.
    sampled = ProactiveSampleClaim.objects.filter(sample=sample).values("claim_id")
    Claim.objects.filter(pk__in=sampled).update(state=Claim.State.APPROVED,
                                                 final=F("computed"),
                                                 approved_at=timezone.now())

    t = time.perf_counter()
    if PROFILE:
        import cProfile

        profiler = cProfile.Profile()
        decision = profiler.runcall(review.approve, second, run)
        profiler.dump_stats(PROFILE)
    else:
        decision = review.approve(second, run)
    approve_s = time.perf_counter() - t

    t = time.perf_counter()
    again = review.approve(second, run)
    again_s = time.perf_counter() - t
    return {
        "feed": feed, "feed_s": round(feed_s, 1), "proposed": feed["counts"].get("proposed", 0),
        "straight": shown.count, "straight_amount": str(shown.amount),
        "count_s": round(count_s, 2), "sample": sample.size, "sample_s": round(sample_s, 2),
        "approved": decision.approved, "amount": str(decision.amount),
        "dropped": decision.dropped, "refusal": decision.refusal,
        "approve_s": round(approve_s, 2), "again": again.approved, "again_s": round(again_s, 2),
        "again_message": again.message,
        "sms": OutboxMessage.objects.filter(kind="claims.approved").count(),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load": os.getloadavg(),
    }


def child(args: argparse.Namespace) -> int:
    city.django_setup(args.database_url)
    if args.child == "build":
        column_defaults()
        city.build_members(args.members)
        feed_run.prepare_scheme()
        prepare_people()
        return 0
    if args.child == "reset":
        reset()
        return 0
    print(json.dumps(measure(Path(args.file), args.percent)))
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
    parser.add_argument("--members", type=int, default=150_000)
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--matched", type=float, default=0.9)
    parser.add_argument("--percent", default="1")
    parser.add_argument("--rebuild", action="store_true")
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
        result = json.loads(spawn(url, "--child", "run", "--file", str(path),
                                  "--percent", args.percent))
    finally:
        server._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
    (OUT / "results.json").write_text(json.dumps(result, indent=1))
    print_table(result, args)
    return 0


def print_table(r: dict, args: argparse.Namespace) -> None:
    print(f"Review by exception on PostgreSQL: a run of {r['feed']['rows']:,} feed rows over "
          f"{args.members:,} members ({r['proposed']:,} proactive claims, feed run "
          f"{r['feed_s']:.1f} s); load average {' '.join(f'{x:.1f}' for x in r['load'])}")
    print(f"{'step':<58} {'claims':>9} {'seconds':>8}")
    rows = [("straight-through count (the run page, before the draw)", r["straight"],
             r["count_s"]),
            (f"sample drawn ({args.percent}%, recorded, audited)", r["sample"], r["sample_s"]),
            ("approve the rest (UPDATE, history, SMS, audit)", r["approved"], r["approve_s"]),
            ("approve again (changes nothing)", r["again"], r["again_s"])]
    for label, n, s in rows:
        print(f"{label:<58} {n:>9,} {s:>8.2f}")
    print(f"straight-through amount {r['straight_amount']} yuan; approved {r['amount']} yuan; "
          f"dropped to ordinary review (family approved since the run) {r['dropped']:,}; "
          f"SMS written {r['sms']:,}; peak memory {r['peak_mb']:,} MB")
    if r["refusal"]:
        print(f"refused: {r['refusal']}")


if __name__ == "__main__":
    raise SystemExit(main())
