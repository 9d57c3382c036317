"""Payout batches: build a batch of N approved claims, export its bank file (xlsx and
CSV, full accounts), then confirm it paid (one ledger entry and one SMS per payout).

Target: a batch of 10,000 claims built and exported in under 10 s. Each database runs in
its own process: a throwaway SQLite file under bench/out/payouts/, and a throwaway
PostgreSQL server (started like the test suite's, when its binaries are installed).
The claims are written straight in the approved state (the review is not what is timed).
Prints a table.

    .venv/bin/python bench/bench_payouts.py [--claims 10000] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "payouts"
TARGET_SECONDS = 10.0


def setup_django(db: str) -> object | None:
    """Point Django at a fresh database of the kind asked; returns the PostgreSQL server
    to stop afterwards (None for SQLite)."""
    out = OUT / db
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    os.environ["HUZHU_VAR_DIR"] = str(out)
    server = None
    if db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{out / 'payouts.sqlite3'}"
    else:
        server = _postgres()
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{server.port}/bench"
    from huzhu.config.secrets import new_keys

    for name, value in new_keys().items():  # a throwaway database: throwaway keys
        os.environ.setdefault(name, value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return server


def _postgres():
    sys.path.insert(0, str(ROOT))
    from tests.conftest import find_pg_bin, start_postgres

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("没有找到 PostgreSQL（initdb/pg_ctl），跳过")
    server = start_postgres(bin_dir)
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")
    return server


def make_claims(n: int):
    """A city with one grassroots union and unit, n members with bank accounts and
    phones, Changchun's free scheme with a 2026 period, and n approved claims."""
    import datetime as dt
    from decimal import Decimal

    from huzhu.claims.models import Claim
    from huzhu.coverage import schemes
    from huzhu.members.idcard import make_id_number
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, Unit, User
    from huzhu.orgs.uscc import make_uscc

    city = Union.objects.create(code="C01", name="基准市总工会", level=Union.Level.CITY)
    base = Union.objects.create(code="G01", name="基准基层工会", level="grassroots", parent=city)
    unit = Unit.objects.create(name="基准有限公司", uscc=make_uscc("91220101MA0000001"),
                               union=base)
    admin = User.objects.create_user(username="admin", password="x", role="admin", union=city)
    finance = User.objects.create_user(username="finance", password="x", role="finance",
                                       union=city)
    clerk = User.objects.create_user(username="clerk", password="x", role="clerk", union=base)
    scheme = schemes.create_scheme(admin, union=city, policy_name="changchun-2023")
    day = dt.date(2026, 1, 1)
    period = schemes.create_period(admin, scheme, name="2026年", start=day,
                                   end=dt.date(2026, 12, 31), premium=Decimal("0"),
                                   enrol_from=day, enrol_until=dt.date(2026, 12, 31))
    members = []
    for i in range(n):
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=i // 900)
        m = Member(name=f"会员{i}", unit=unit, union=base, birth_date=birth, gender="M",
                   phone=f"139{i:08d}")
        m.set_id_number(make_id_number("220102", birth, i % 900 + 1))
        m.set_bank_account(f"6222{i:015d}")
        members.append(m)
    members = Member.objects.bulk_create(members, batch_size=1000)
    claims = [Claim(number=f"LP2026{i:07d}", member=m, scheme=scheme, period=period,
                    benefit="hospital", benefit_name="住院医疗补贴", state="approved",
                    event_date=dt.date(2026, 3, 1), out_of_pocket=Decimal("12000.00"),
                    computed=Decimal(f"{100 + i % 5000}.{i % 100:02d}"),
                    final=Decimal(f"{100 + i % 5000}.{i % 100:02d}"), filed_by=clerk)
              for i, m in enumerate(members)]
    Claim.objects.bulk_create(claims, batch_size=1000)
    return finance, scheme


def run(db: str, n: int) -> list[tuple[str, float, str]]:
    server = setup_django(db)
    try:
        return _timed(n)
    finally:
        if server is not None:
            from django.db import connections

            connections.close_all()
            server.stop()
            shutil.rmtree(server.base, ignore_errors=True)


def _timed(n: int) -> list[tuple[str, float, str]]:
    import datetime as dt

    from huzhu.claims import payouts
    from huzhu.coverage import ledger

    rows: list[tuple[str, float, str]] = []

    def timed(label: str, fn):
        started = time.perf_counter()
        result = fn()
        rows.append((label, time.perf_counter() - started, _describe(result)))
        return result

    finance, scheme = timed(f"准备 {n:,} 件已审批理赔", lambda: make_claims(n))
    batch = timed("build_batch", lambda: payouts.build_batch(finance, scheme))
    purpose = "基准测试：报送银行代发"
    timed("export_batch xlsx（完整账号）",
          lambda: payouts.export_batch(finance, batch, "xlsx", full=True, purpose=purpose))
    timed("export_batch csv（完整账号）",
          lambda: payouts.export_batch(finance, batch, "csv", full=True, purpose=purpose))
    target = sum(seconds for label, seconds, _ in rows[1:4])
    rows.append(("生成并导出合计（目标 < 10 秒）", target,
                 "达标" if target < TARGET_SECONDS else "未达标"))
    timed("mark_paid（记账、短信）", lambda: payouts.mark_paid(finance, batch, dt.date.today()))
    timed("mark_paid 再次（不重复付款）",
          lambda: payouts.mark_paid(finance, batch, dt.date.today()))
    timed("huzhu ledger check", lambda: all(c.ok for c in ledger.check_all()))
    return rows


def _describe(result) -> str:
    if isinstance(result, bytes):
        return f"{len(result) / 1024:,.0f} KB"
    if isinstance(result, tuple):
        return ""
    if hasattr(result, "payouts"):
        return f"{result.payouts.count():,} 笔"
    if isinstance(result, bool):
        return "通过" if result else "未通过"
    return f"{result:,}" if isinstance(result, int) else str(result)


def print_table(results: dict[str, list]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="给付批次基准")
    table.add_column("数据库")
    table.add_column("步骤")
    table.add_column("用时（秒）", justify="right")
    table.add_column("结果", justify="right")
    for db, rows in results.items():
        for label, seconds, note in rows:
            table.add_row(db, label, f"{seconds:.2f}", note)
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.db != "both":
        rows = run(args.db, args.claims)
        if args.json:
            print(json.dumps(rows))
        else:
            print_table({args.db: rows})
        return 0
    results = {}
    for db in ("sqlite", "postgresql"):  # one process each: Django is set up once
        done = subprocess.run([sys.executable, __file__, "--db", db, "--claims",
                               str(args.claims), "--json"], capture_output=True, text=True)
        if done.returncode:
            print(f"{db}: {(done.stderr or done.stdout).strip().splitlines()[-1]}",
                  file=sys.stderr)
            continue
        results[db] = json.loads(done.stdout.strip().splitlines()[-1])
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
