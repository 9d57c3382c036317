"""The statistics page at a city's size: N members, M past claims (92% paid, each with its
payout), timed query by query and as whole pages for the city, a district and a
grassroots union. Prints a table.

Builds the registry and claims as bench_claims_queue.py does (1 city, 10 districts,
200 grassroots unions, Changchun's policy; claims by raw inserts over three years),
then one payout per paid claim set-based (paid 10–69 days after the event, submitted 5
days after it), and times :func:`huzhu.reports.figures.statistics_for` and its parts
for the busiest year.

    .venv/bin/python bench/bench_reports.py [--members 1000000] [--claims 500000]
        [--repeat 3] [--postgres]

``--postgres`` runs on a throwaway PostgreSQL server (as the tests start one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import bench_claims_queue as claims_bench  # noqa: E402


def build_payouts() -> int:
    from django.db import connection

    from huzhu.claims.models import Claim, Payout, PayoutBatch
    from huzhu.orgs.models import Union, User

    if Payout.objects.exists():
        return Payout.objects.count()
    started = time.perf_counter()
    scheme = Claim.objects.values_list("scheme_id", flat=True).first()
    batch = PayoutBatch.objects.create(number="GFBENCH", scheme_id=scheme,
                                       union=Union.objects.get(code="C"),
                                       created_by=User.objects.get(username="b_admin"),
                                       state="closed")
    pg = connection.vendor == "postgresql"
    paid_on = ("c.event_date + CAST(10 + c.id %% 60 AS integer)" if pg else
               "date(c.event_date, '+' || (10 + c.id %% 60) || ' days')")
    # Stamped on their payment day, as mark_paid does (not all "just now").
    updated = (f"CAST({paid_on} AS timestamp) + interval '12 hours'" if pg else
               f"datetime({paid_on}, '+12 hours')")
    submitted = ("CAST(c.event_date + 5 AS timestamp) + interval '2 hours'" if pg else
                 "datetime(c.event_date, '+5 days', '+2 hours')")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO claims_payout (batch_id, claim_id, amount, state, failure_reason, "
            f"updated_at, paid_on) SELECT %s, c.id, c.final, 'paid', '', "
            f"{updated}, {paid_on} FROM claims_claim c "
            "WHERE c.state = 'paid' AND c.final > 0", [batch.pk])
        cursor.execute(f"UPDATE claims_claim SET submitted_at = (SELECT {submitted} FROM "
                       "claims_claim c WHERE c.id = claims_claim.id) WHERE state <> 'draft'"
                       if not pg else
                       f"UPDATE claims_claim c SET submitted_at = {submitted} "
                       "WHERE state <> 'draft'", [])
        cursor.execute("ANALYZE")
    n = Payout.objects.count()
    print(f"built {n:,} payouts in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return n


def busiest_year() -> int:
    from django.db.models import Count
    from django.db.models.functions import ExtractYear

    from huzhu.claims.models import Payout

    row = (Payout.objects.annotate(y=ExtractYear("paid_on")).values("y")
           .annotate(n=Count("id")).order_by("-n").first())
    return row["y"]


def cases(year: int):
    from huzhu.coverage.models import Scheme
    from huzhu.orgs.models import Union
    from huzhu.reports import annual, exports, figures, paid

    scheme = Scheme.objects.select_related("union").get(code="changchun-2023")
    start, end = figures.year_range(year)
    nodes = [("city", scheme.union), ("district", Union.objects.get(code="D00")),
             ("grassroots", Union.objects.get(code="G0000"))]
    out = [("refresh: nothing new since the last (every page does it)", paid.refresh)]
    for label, node in nodes:
        sel = figures.select(None, scheme, start=start, end=end, union=node)
        out += [
            (f"{label}: whole page, computed (statistics_for)",
             lambda sel=sel: figures.statistics_for(sel, cached=False).person_times),
            (f"{label}: whole page, precomputed by housekeeping",
             lambda sel=sel: figures.statistics_for(sel).person_times),
            (f"{label}:   totals, month, benefit, tier (one pass)",
             lambda sel=sel: len(figures._cube(sel))),
            (f"{label}:   people paid, largest member total",
             lambda sel=sel: figures._people(sel)["all"]),
            (f"{label}:   drill-down by union", lambda sel=sel: len(figures._by_union(sel))),
            (f"{label}:   cycle time (median, p90)",
             lambda sel=sel: figures._cycle(sel).claims),
            (f"{label}:   covered members", lambda sel=sel: figures._coverage(sel)[1]),
        ]
    city = figures.select(None, scheme, start=start, end=end)
    out += [(f"{label}: the HTTP page (figures precomputed), as an admin",
             _page(scheme, year, node)) for label, node in nodes]
    out += [("city: xlsx of every table (figures cached)",
             lambda: len(exports.statistics_xlsx(figures.statistics_for(city)))),
            ("city: annual PDF (figures cached)",
             lambda: len(annual.annual_report_pdf(figures.statistics_for(city))))]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=500_000, help="past claims")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    server, url = claims_bench.start_postgres() if args.postgres else (None, None)
    try:
        claims_bench.OUT = HERE / "out" / "reports"
        claims_bench.setup_django(args.members, args.claims, url)
        import bench_web
        from django.db import connection

        if connection.vendor == "postgresql":
            with claims_bench._QmarkAsFormat():
                bench_web.build(args.members)
        else:
            bench_web.build(args.members)
        claims_bench.build_claims(args.claims, 0)
        payouts = build_payouts()
        report(args, connection.vendor, payouts)
    finally:
        if server is not None:
            server.stop()
    return 0


def _page(scheme, year: int, node):
    """GET /reports/ for ``node`` through Django's test client (view, template, charts)."""
    from django.test import Client

    from huzhu.orgs.models import User

    client = Client()
    client.force_login(User.objects.get(username="b_admin"))
    url = f"/reports/?scheme={scheme.code}&year={year}&union={node.pk}"

    def run() -> int:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return len(response.content)
    return run


def report(args, vendor: str, payouts: int) -> None:
    from huzhu.reports import paid

    started = time.perf_counter()
    recorded = paid.refresh()
    first = time.perf_counter() - started
    year = busiest_year()
    load = os.getloadavg()
    print(f"\nstatistics: {args.members:,} members, {args.claims:,} past claims, "
          f"{payouts:,} payouts, year {year} (by payment date), {vendor}, median of "
          f"{args.repeat} runs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print(f"first refresh (records every paid payout, once): {recorded:,} rows in "
          f"{first:.1f} s\n")
    from huzhu.reports import precompute

    pages, seconds = precompute.timed([year])
    print(f"housekeeping after payouts post: {pages} pages of {year} (the city and every "
          f"node with children) computed ahead in {seconds:.1f} s\n")
    print(f"{'query':<52} {'rows':>9} {'median ms':>10} {'max ms':>8}")
    print("-" * 82)
    for label, run in cases(year):
        run()  # warm the caches once
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            n = run()
            times.append((time.perf_counter() - started) * 1000)
        print(f"{label:<52} {n:>9,} {statistics.median(times):>10.1f} {max(times):>8.1f}")
    print(f"\n(built {dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    sys.exit(main())
