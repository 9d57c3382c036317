"""``huzhu audit money`` at city scale on PostgreSQL: a registry of M members and N paid
claims (each with its payout in a closed batch), with a few planted defects, audited in
a fresh process; a table per check. Target: 1,000,000 members and 2,000,000 paid claims
in under 5 minutes on this 2-core machine.

Reuses ``bench_feeds.py``'s city (unions, units, members with real blind indexes) and
its throwaway PostgreSQL server, under ``bench/out/money_audit/`` (kept for the next run;
``--rebuild`` starts over). The claims are Changchun's hospital subsidy, two stays per
member in 2026, their amounts the engine's (one batch, so the yearly cap holds), written
with COPY. Planted: three claims given 100.00 more than the engine allows, one invoice
paid twice, one payment dated before its batch. The audit must name exactly those.

    .venv/bin/python bench/bench_money_audit.py [--members 1000000] [--claims 2000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_feeds as city  # noqa: E402  (the same city and server)

OUT = ROOT / "bench" / "out" / "money_audit"
city.OUT = OUT
SCHEME = "changchun-2023"
PLANTED = {"给付金额不超过政策允许": 3, "同一住院、结算记录或发票只给付一次": 1,
           "付款与核定金额、日期一致": 1}
TARGET_S = 300


def _cell(value: object) -> str:
    """COPY's CSV: an unquoted empty field is NULL, a quoted one the empty string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _csv(rows: list[tuple]) -> bytes:
    out = io.StringIO()
    for row in rows:
        out.write(",".join(map(_cell, row)))
        out.write("\n")
    return out.getvalue().encode()


def spawn(database_url: str, *extra: str) -> str:
    command = [sys.executable, __file__, "--database-url", database_url, *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr)
    if done.returncode:
        raise SystemExit(f"{' '.join(extra)} failed")
    return done.stdout


def build_claims(claims: int) -> None:
    import pyarrow as pa
    from django.db import connection

    from huzhu.coverage.engine_inputs import member_table
    from huzhu.coverage.models import Scheme
    from huzhu.coverage.schemes import create_period, create_scheme
    from huzhu.lib.sql import copy_csv
    from huzhu.orgs.models import Union, User
    from huzhu.rules import evaluate
    from huzhu.rules.columns import arrow_schema, stay_days

    with connection.cursor() as cursor:  # a run on the kept registry starts over
        cursor.execute("TRUNCATE claims_payout, claims_payoutbatch, claims_claimevent, "
                       "claims_claim CASCADE")
    started = time.perf_counter()
    root = Union.objects.get(parent__isnull=True)
    admin, _ = User.objects.get_or_create(username="bench_admin",
                                          defaults={"role": "admin", "union": root})
    scheme = Scheme.objects.filter(code=SCHEME).first() or create_scheme(
        admin, union=root, policy_name=SCHEME)
    period = scheme.periods.first() or create_period(
        admin, scheme, name="2026年", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31),
        premium=Decimal("0"), enrol_from=dt.date(2026, 1, 1), enrol_until=dt.date(2026, 12, 31))
    members = member_table(scheme).drop_columns(["union"])
    ids = members["member_id"].to_pylist()
    rng = random.Random(11)
    events = []
    for i in range(claims):
        member = ids[i % len(ids)]
        # Two stays per member, the second later in the year: the yearly cap bites.
        # Discharged by 2026-11-05, before the batch; the two stays never overlap.
        discharge = dt.date(2026, 1, 10) + dt.timedelta(days=rng.randrange(130)
                                                        + (170 if i >= len(ids) else 0))
        admit = discharge - dt.timedelta(days=rng.randrange(1, 20))
        events.append({"event_id": f"LP2026{i + 1:07d}", "member_id": member,
                       "benefit": "hospital", "event_date": discharge, "admit_date": admit,
                       "days": stay_days(admit, discharge), "diagnosis": "I21.9",
                       "out_of_pocket": Decimal(rng.randrange(600_000, 9_000_000)) / 100})
    out = evaluate(scheme.policy(), members,
                   pa.Table.from_pylist(events, schema=arrow_schema("events")),
                   columns="minimal")
    payable = dict(zip(out["event_id"].to_pylist(), out["payable"].to_pylist(), strict=True))
    print(f"engine over {claims:,} events: {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    now = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    paid_on = dt.date(2026, 12, 1)
    columns = ("id", "number", "member_id", "scheme_id", "period_id", "benefit",
               "benefit_name", "source", "state", "event_date", "admit_date", "days",
               "out_of_pocket", "diagnosis", "outcome", "fracture_site", "certificate_no",
               "relation", "relative_name", "relative_key", "hospital", "invoice_number",
               "computed", "final", "reduction_reason", "computation", "policy_hash",
               "filed_by_id", "late_exception_reason", "duplicate_override_reason",
               "missing_materials", "return_note", "reject_code", "reject_text",
               "created_at", "submitted_at", "approved_at", "paid_at", "updated_at")
    rows, payouts, batches = [], [], []
    planted_over = {7, 700_007 % claims, claims - 3}
    for i, e in enumerate(events, start=1):
        amount = payable[e["event_id"]]
        if amount <= 0:
            continue
        if i in planted_over:
            amount += Decimal("100.00")
        invoice = "INV-TWICE" if i in (11, 11 + len(ids)) else f"INV{i:09d}"
        rows.append((i, e["event_id"], e["member_id"], scheme.pk, period.pk, "hospital",
                     "住院医疗补贴", "manual", "paid", e["event_date"], e["admit_date"],
                     e["days"], e["out_of_pocket"], "I21.9", "", "", "", "", "", "", "",
                     invoice, amount, amount, "", "{}", scheme.policy_hash, admin.pk, "", "",
                     "[]", "", "", "", now, now, now, now, now))
        batch = (i - 1) // 50_000 + 1
        if not batches or batches[-1][0] != batch:
            batches.append((batch, f"PC2026{batch:06d}", scheme.pk, root.pk, "closed",
                            admin.pk, now - dt.timedelta(days=1), now))
        payouts.append((i, batch, i, amount, "paid", "",
                        dt.date(2025, 1, 1) if i == 13 else paid_on, now))
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK checks per row
    for table, cols, data in (
            ("claims_claim", columns, rows),
            ("claims_payoutbatch", ("id", "number", "scheme_id", "union_id", "state",
                                    "created_by_id", "created_at", "closed_at"), batches),
            ("claims_payout", ("id", "batch_id", "claim_id", "amount", "state",
                               "failure_reason", "paid_on", "updated_at"), payouts)):
        for k in range(0, len(data), 200_000):
            copy_csv(table, cols, _csv(data[k:k + 200_000]))
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in ("claims_claim", "claims_payoutbatch", "claims_payout"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    print(f"built {len(rows):,} paid claims in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)


def audit() -> dict:
    from huzhu.claims import money_audit

    started = time.perf_counter()
    checks = money_audit.run()
    return {"total_s": round(time.perf_counter() - started, 1),
            "load": round(os.getloadavg()[0], 2),
            "checks": [{"name": c.name, "seconds": round(c.seconds, 1), "count": c.count,
                        "first": c.findings[:3]}
                       for c in checks]}


def child(args: argparse.Namespace) -> int:
    city.django_setup(args.database_url)
    if args.child == "build":
        city.build_members(args.members)
        build_claims(args.claims)
        return 0
    print(json.dumps(audit()))
    return 0


def _pad(text: str, width: int) -> str:
    """Left-aligned in a terminal, where a Chinese character takes two columns."""
    shown = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=2_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", choices=("build", "audit"))
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.rebuild and OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True, exist_ok=True)
    city.bench_keys()
    server = city.start_postgres(args.members)
    url = f"postgresql://postgres@127.0.0.1:{server.port}/huzhu"
    try:
        started = time.perf_counter()
        spawn(url, "--child", "build", "--members", str(args.members),
                   "--claims", str(args.claims))
        built = time.perf_counter() - started
        result = json.loads(spawn(url, "--child", "audit"))
    finally:
        server._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
    (OUT / "results.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"money audit on PostgreSQL: {args.members:,} members, {args.claims:,} claims "
          f"(set-up {built:.0f} s, not timed)")
    head = f"{_pad('check', 36)} {'seconds':>8} {'named':>8} {'planted':>8}"
    print(head)
    print("-" * len(head))
    for c in result["checks"]:
        print(f"{_pad(c['name'], 36)} {c['seconds']:>8} {c['count']:>8} "
              f"{PLANTED.get(c['name'], 0):>8}")
    for c in result["checks"]:
        for text in c["first"]:
            print(f"  {text}")
    verdict = "under" if result["total_s"] < TARGET_S else "OVER"
    print(f"total {result['total_s']} s ({verdict} the {TARGET_S} s target), "
          f"load average {result['load']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
