"""Settlement feed import at city scale: a feed of N rows against a registry of M members.

Builds a throwaway database — SQLite under bench/out/feeds/, or a PostgreSQL server this
script starts on a data directory there (initdb/pg_ctl, as the test suite does) — with M
members inserted raw (as bench_web.py does) but with real blind indexes, so that the
matched share of the feed (``--matched``, 90% by default) really matches. Writes the feed
once as Parquet and as a GBK CSV with Chinese headers, then times ``import_feed`` (validate,
stage, match, write) for each database and format, in a fresh process each (peak memory
is the import's own), and a re-import of the same file (every row already known). Prints a
table. The registries, feed files and keys are kept for the next run (``--rebuild``).

    .venv/bin/python bench/bench_feeds.py [--members 1000000] [--rows 1000000]
        [--db sqlite,postgresql|both] [--formats parquet,csv] [--matched 0.9]

The batch's target is a million rows from file to proactive claims in PostgreSQL in under
three minutes on a 2-core machine; the import is its first part. The machine is shared,
so each row of the table carries the load average at its end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "feeds"
BIRTH_BASE = dt.date(1966, 1, 1)
HOSPITALS = ["吉林大学第一医院", "吉林大学第二医院", "吉林大学中日联谊医院", "吉林省人民医院",
             "长春市中心医院", "吉林省肿瘤医院", "长春中医药大学附属医院", "长春市人民医院"]
DIAGNOSES = ["J18.900", "I10.x00", "K80.101", "M51.202", "I25.103", "E11.900", "C34.900",
             "I21.900", "I63.900", "C50.900", "K35.800", "S72.001"]


def member_id_number(i: int, region: str = "220102") -> str:
    from huzhu.members.idcard import make_id_number

    return make_id_number(region, BIRTH_BASE + dt.timedelta(days=(i // 1000) * 7), i % 1000)


# ---------------------------------------------------------------- database set-up

def django_setup(database_url: str) -> None:
    os.environ["HUZHU_VAR_DIR"] = str(OUT / "var")
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    import django

    django.setup()


def build_members(members: int) -> None:
    """Unions, units and ``members`` members with real blind indexes (sealed IDs are
    random bytes: sealing does not change how matching runs)."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from huzhu.lib import crypto
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, Unit
    from huzhu.orgs.uscc import make_uscc

    call_command("migrate", verbosity=0)
    if Member.objects.count() >= members:
        return
    rng = random.Random(7)
    city = Union.objects.create(code="C", name="基准市总工会", level="city")
    grassroots = []
    for d in range(10):
        district = Union.objects.create(code=f"D{d:02d}", name=f"第{d + 1}区总工会",
                                        level="district", parent=city)
        for g in range(20):
            grassroots.append(Union.objects.create(
                code=f"G{d:02d}{g:02d}", name=f"第{d + 1}区第{g + 1}基层工会",
                level="grassroots", parent=district))
    units = Unit.objects.bulk_create([
        Unit(name=f"基准单位{i:04d}有限公司", uscc=make_uscc(f"91220101MA{i:07d}"),
             union=grassroots[i % len(grassroots)]) for i in range(2000)])
    last4 = [crypto.last4_index(f"{n:04d}") for n in range(10000)]
    columns = ("name", "id_number_sealed", "id_number_hash", "id_last4_index", "birth_date",
               "gender", "phone", "unit_id", "union_id", "status", "occupation", "bank_last4",
               "bank_name", "created_at", "updated_at")
    started = time.perf_counter()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batch: list[tuple] = []

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
                    [(*v[:4], v[4].isoformat(), *v[5:13], v[13].isoformat(), v[14].isoformat())
                     for v in batch])
        batch.clear()

    for i in range(members):
        number = member_id_number(i)
        unit = units[rng.randrange(len(units))]
        batch.append(("会员", secrets.token_bytes(40), crypto.blind_index(number),
                      last4[i % 10000], BIRTH_BASE + dt.timedelta(days=(i // 1000) * 7),
                      "M" if int(number[16]) % 2 else "F", "", unit.id, unit.union_id,
                      "active", "other", "", "", now, now))
        if len(batch) == 20000:
            flush()
    flush()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {members:,} members in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)


# ---------------------------------------------------------------- the feed files

def feed_rows(rows: int, members: int, matched: float):
    rng = random.Random(11)
    for n in range(rows):
        if rng.random() < matched:
            number = member_id_number(rng.randrange(members))
        else:
            number = member_id_number(rng.randrange(1_000_000), region="110105")
        discharge = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300))
        admit = discharge - dt.timedelta(days=rng.randrange(1, 30))
        total = Decimal(rng.randrange(200_000, 30_000_000)) / 100
        fund = (total * Decimal(rng.randrange(50, 80)) / 100).quantize(Decimal("0.01"))
        account = min(total - fund, Decimal(rng.randrange(0, 200_000)) / 100)
        cash = total - fund - account
        burden = total - fund
        self_expense = (burden * Decimal("0.3")).quantize(Decimal("0.01"))
        yield {
            "结算ID": f"JS2201{n:012d}", "证件号码": number, "姓名": "会员",
            "定点医药机构名称": rng.choice(HOSPITALS), "入院日期": admit,
            "出院日期": discharge, "医疗费总额": total, "基金支付": fund,
            "个人账户支付": account, "个人现金支付": cash,
            "个人自付": burden - self_expense, "个人自费": self_expense,
            "主要诊断编码": rng.choice(DIAGNOSES), "其他诊断编码": "I10.x00" if n % 3 else "",
        }


def write_feeds(rows: int, members: int, matched: float, formats: list[str]) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = {"parquet": OUT / f"feed-{rows}.parquet", "csv": OUT / f"feed-{rows}.csv"}
    if all(paths[f].exists() for f in formats):
        return paths
    started = time.perf_counter()
    data = list(feed_rows(rows, members, matched))
    money = pa.decimal128(14, 2)
    types = {"入院日期": pa.date32(), "出院日期": pa.date32()}
    for name in ("医疗费总额", "基金支付", "个人账户支付", "个人现金支付", "个人自付", "个人自费"):
        types[name] = money
    schema = pa.schema([(k, types.get(k, pa.string())) for k in data[0]])
    table = pa.Table.from_pylist(data, schema=schema)
    pq.write_table(table, paths["parquet"], row_group_size=100_000)
    with paths["csv"].open("w", encoding="gbk", newline="") as fh:
        fh.write(",".join(data[0]) + "\r\n")
        for r in data:
            fh.write(",".join(str(v) for v in r.values()) + "\r\n")
    print(f"wrote the feed ({rows:,} rows) in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return paths


# ---------------------------------------------------------------- one measured import

def run_import(path: Path) -> dict:
    import resource

    from django.db import connection

    from huzhu.feeds.importing import import_feed

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int | None) -> None:
        marks[f"{phase}:{done}"] = time.perf_counter() - started

    outcome = import_feed(path, progress=progress)
    elapsed = time.perf_counter() - started
    validated = marks.get(f"importing:{0}", elapsed)
    return {
        "db": connection.vendor, "format": path.suffix.lstrip("."), "rows": outcome.rows,
        "validate_s": round(validated, 1), "load_s": round(elapsed - validated, 1),
        "total_s": round(elapsed, 1), "rows_per_s": round(outcome.rows / elapsed),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "new": outcome.new, "known": outcome.already_known, "matched": outcome.matched,
        "not_member": outcome.unmatched_not_member, "invalid": outcome.invalid,
        "load": round(os.getloadavg()[0], 1),
    }


def reset_feeds() -> None:
    """Empty the feed tables. TRUNCATE on PostgreSQL: a DELETE of a million stays checks
    each against feeds_feedrow.stay_id, which has no index (inserts are faster without
    one), and took more than ten minutes."""
    from django.db import connection

    tables = ("feeds_feedrow", "feeds_settlement", "feeds_feed")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
            return
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")


# ---------------------------------------------------------------- the child processes

def child(args: argparse.Namespace) -> int:
    django_setup(args.database_url)
    if args.child == "build":
        build_members(args.members)
        return 0
    if args.child == "reset":
        reset_feeds()
        return 0
    print(json.dumps(run_import(Path(args.file))))
    return 0


def spawn(database_url: str, *extra: str) -> str:
    command = [sys.executable, __file__, "--database-url", database_url, *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(extra)} failed:\n{done.stderr}")
    sys.stderr.write(done.stderr)
    return done.stdout


# Sized for a city, as a production server on this machine would be (README, "Running in
# production"): PostgreSQL's defaults (128 MB of buffers, a checkpoint every 1 GB of WAL)
# are for a laptop; a feed of a million stays writes a few GB.
SERVER_SETTINGS = ("-c shared_buffers=4GB -c max_wal_size=16GB -c checkpoint_timeout=30min "
                   "-c work_mem=64MB -c maintenance_work_mem=1GB")


def start_postgres(members: int):
    """A server on bench/out/feeds/pg-<members>/, made on the first run and kept (the
    registry takes minutes to build); the tests' helper starts it."""
    sys.path.insert(0, str(ROOT))
    from tests.conftest import PostgresServer, _free_port, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (no initdb/pg_ctl)")
    base = OUT / f"pg-{members}"
    fresh = not (base / "data").exists()
    base.mkdir(exist_ok=True)
    run_as = "postgres" if os.geteuid() == 0 else None
    if run_as:
        shutil.chown(base, user=run_as)
    server = PostgresServer(bin_dir=bin_dir, base=base, port=_free_port(), run_as=run_as,
                            settings=SERVER_SETTINGS)
    if fresh:
        server.start()
    else:
        options = (f"-p {server.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={base} -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off {SERVER_SETTINGS}")
        done = server._run("pg_ctl", "-D", str(server.data), "-l", str(base / "server.log"),
                           "-w", "-t", "60", "-o", options, "start")
        if done.returncode:
            raise SystemExit(f"PostgreSQL did not start: {done.stderr}")
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'huzhu'").fetchone():
            conn.execute("CREATE DATABASE huzhu")
    return server


def bench_keys() -> None:
    """Keys kept beside the databases: the registry's blind indexes must match the feed's."""
    from huzhu.config.secrets import new_keys

    path = OUT / "keys.json"
    if not path.exists():
        path.write_text(json.dumps(new_keys()))
        path.chmod(0o600)
    for name, value in json.loads(path.read_text()).items():
        os.environ[name] = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--matched", type=float, default=0.9)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--formats", default="parquet,csv")
    parser.add_argument("--rebuild", action="store_true",
                        help="start over: new keys, registry, feed files")
    parser.add_argument("--child", choices=("build", "reset", "import"))
    parser.add_argument("--database-url")
    parser.add_argument("--file")
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.rebuild and OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True, exist_ok=True)
    bench_keys()
    formats = args.formats.split(",")
    databases = ["sqlite", "postgresql"] if args.db == "both" else args.db.split(",")
    paths = write_feeds(args.rows, args.members, args.matched, formats)
    results = []
    for db in databases:
        server = None
        if db == "postgresql":
            server = start_postgres(args.members)
            url = f"postgresql://postgres@127.0.0.1:{server.port}/huzhu"
        else:
            url = f"sqlite:///{OUT / f'feeds-{args.members}.sqlite3'}"
        try:
            spawn(url, "--child", "build", "--members", str(args.members))
            for fmt in formats:
                spawn(url, "--child", "reset")
                first = json.loads(spawn(url, "--child", "import", "--file", str(paths[fmt])))
                again = json.loads(spawn(url, "--child", "import", "--file", str(paths[fmt])))
                results += [first, {**again, "format": f"{fmt} (again)"}]
                for r in results[-2:]:  # as they come: a long run may be stopped
                    print(json.dumps(r), file=sys.stderr, flush=True)
        finally:
            if server is not None:
                server._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    print_table(results, args)
    return 0


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    print(f"feed of {args.rows:,} rows, registry of {args.members:,} members, "
          f"{args.matched:.0%} of rows members")
    head = (f"{'database':<11} {'format':<16} {'validate s':>10} {'load s':>7} {'total s':>8} "
            f"{'rows/s':>9} {'peak MB':>8} {'new':>9} {'known':>9} {'matched':>9} "
            f"{'not member':>10} {'load':>5}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['db']:<11} {r['format']:<16} {r['validate_s']:>10} {r['load_s']:>7} "
              f"{r['total_s']:>8} {r['rows_per_s']:>9,} {r['peak_mb']:>8,} {r['new']:>9,} "
              f"{r['known']:>9,} {r['matched']:>9,} {r['not_member']:>10,} {r['load']:>5}")


if __name__ == "__main__":
    sys.exit(main())
