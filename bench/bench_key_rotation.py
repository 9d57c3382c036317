"""Key rotation at city scale: ``huzhu keys rotate`` on N members, timed whole (new keys,
re-seal every ID number and bank account, rebuild the three blind indexes, verify every
row and a sample of lookups by ID number, retire the old keys).

Each size runs in a fresh process on a throwaway database: SQLite under
bench/out/key_rotation/ (the default), or PostgreSQL (``HUZHU_BENCH_DB=postgresql``, a
server started on a data directory there as the test suite does). The members are
inserted raw (as bench_feeds.py does) but sealed and indexed for real, in the format
before rotation (under HUZHU_FIELD_KEY and HUZHU_INDEX_KEY), one in three with a bank
account. The machine is shared: each row carries the load average at its end.

    .venv/bin/python bench/bench_key_rotation.py [--members 20000,1000000] [--chunk 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "key_rotation"
BIRTH_BASE = dt.date(1966, 1, 1)


def _postgres():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    from tests.conftest import find_pg_bin, start_postgres

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("没有找到 PostgreSQL（initdb/pg_ctl）")
    server = start_postgres(bin_dir)
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")
    return server


def child(members: int, db: str, chunk: int) -> dict[str, object]:
    out = OUT / f"{db}-{members}"
    if out.exists():
        shutil.rmtree(out)
    (out / "var").mkdir(parents=True)
    os.environ["HUZHU_VAR_DIR"] = str(out / "var")
    os.environ["HUZHU_KEYRING_FILE"] = str(out / "keys" / "bench.keyring.json")
    server = None
    if db == "postgresql":
        server = _postgres()
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{server.port}/bench"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{out / 'var' / 'bench.sqlite3'}"
    from huzhu.config.secrets import new_keys

    for name, value in new_keys().items():  # a throwaway database: throwaway keys
        os.environ[name] = value
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    import django

    django.setup()
    try:
        build = _build(members)
        from huzhu.lib.keys.rotation import Rotator

        started = time.perf_counter()
        report = Rotator(chunk=chunk, sample=1000).rotate()
        seconds = time.perf_counter() - started
        assert report.rows == members and report.lookups == min(1000, members)
        return {"db": db, "members": members, "build": build, "seconds": seconds,
                "load": os.getloadavg()[0]}
    finally:
        if server is not None:
            server.stop()


def _build(members: int) -> float:
    """Unions, units and ``members`` members sealed and indexed as before rotation."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from huzhu.lib import crypto
    from huzhu.members.idcard import make_id_number
    from huzhu.orgs.models import Union, Unit
    from huzhu.orgs.uscc import make_uscc

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    rng = random.Random(7)
    city = Union.objects.create(code="C", name="基准市总工会", level="city")
    grassroots = [Union.objects.create(code=f"G{g:03d}", name=f"第{g + 1}基层工会",
                                       level="grassroots", parent=city) for g in range(50)]
    units = Unit.objects.bulk_create([
        Unit(name=f"基准单位{i:04d}有限公司", uscc=make_uscc(f"91220101MA{i:07d}"),
             union=grassroots[i % len(grassroots)]) for i in range(500)])
    seal_id = crypto.sealer(column=crypto.MEMBER_ID_NUMBER)
    seal_bank = crypto.sealer(column=crypto.MEMBER_BANK_ACCOUNT)
    index = crypto.blind_indexer()
    columns = ("name", "id_number_sealed", "id_number_hash", "id_last4_index", "birth_date",
               "gender", "phone", "unit_id", "union_id", "status", "occupation",
               "bank_account_sealed", "bank_account_hash", "bank_last4", "bank_name",
               "created_at", "updated_at")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batch: list[tuple[object, ...]] = []

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(
                        f"COPY members_member ({', '.join(columns)}) FROM STDIN") as copy:
                    for values in batch:
                        copy.write_row(values)
            else:
                cursor.executemany(
                    f"INSERT INTO members_member ({', '.join(columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})",
                    [(*v[:4], v[4].isoformat(), *v[5:15], now.isoformat(), now.isoformat())
                     for v in batch])
        batch.clear()

    for i in range(members):
        birth = BIRTH_BASE + dt.timedelta(days=(i // 1000) * 7)
        number = make_id_number("220102", birth, i % 1000)
        unit = units[rng.randrange(len(units))]
        account = f"6222{i:015d}" if i % 3 == 0 else None
        batch.append(("会员", seal_id(number), index(number),
                      index("last4:" + number[-4:]), birth,
                      "M" if int(number[16]) % 2 else "F", "", unit.id, unit.union_id,
                      "active", "other",
                      seal_bank(account) if account else None,
                      index("bank:" + account) if account else None,
                      account[-4:] if account else "", "", now, now))
        if len(batch) == 20000:
            flush()
    flush()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", default="20000,1000000")
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    db = os.environ.get("HUZHU_BENCH_DB", "sqlite").strip().lower() or "sqlite"
    if args.child:
        print(json.dumps(child(args.child, db, args.chunk)))
        return
    rows = []
    for n in (int(x) for x in args.members.split(",")):
        run = subprocess.run([sys.executable, __file__, "--child", str(n),
                              "--chunk", str(args.chunk)],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(run.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{n} 名会员的基准测试失败")
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
    print(f"{'数据库':<12}{'会员（行）':>12}{'建库秒':>10}{'轮换秒':>10}{'行/秒':>10}{'负载':>8}")
    for r in rows:
        print(f"{r['db']:<12}{r['members']:>12,}{r['build']:>10.1f}{r['seconds']:>10.1f}"
              f"{r['members'] / r['seconds']:>10,.0f}{r['load']:>8.2f}")


if __name__ == "__main__":
    main()
