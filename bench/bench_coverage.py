"""Coverage at a city's size: enrolling every unit, the period page, payments, the engine
export and the ledger check, at N members in 2,000 units, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_coverage.py [--members 1000000] [--db sqlite|postgresql|both]
                                             [--repeat 5] [--quiet-load 1.5]

The city (1 city union, 10 districts, 200 grassroots unions, 2,000 units of skewed size —
a few large enterprises, many small ones — and N members, 80 % active) is built with raw
inserts as in bench_web.py; sealed columns hold random bytes. A Ningshan-style premium
scheme (``ningshan-2024``, at least half of a unit's staff) runs at the city with a 2026
period. SQLite: the built city is kept under bench/out/coverage/ and copied for each run.
PostgreSQL: a throwaway server is started as the test suite does (tests/conftest.py) and
the city is loaded with COPY. Each database runs in a process of its own, so its peak RSS
is its own. With --quiet-load each timed step waits (up to --max-wait s) until the
1-minute load average is below that; the table shows the load each step ran at.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "coverage"
BUILD = 1  # bump when the generated city changes: older copies are then rebuilt
UNITS = 2000
ENROL_DAY = dt.date(2026, 1, 15)
SCHEME_CODE = "bench-ningshan"
TARGETS = {"enrol": 60.0, "export": 10.0, "export_cli": 10.0, "page": 0.2,
           "page_unpaid": 0.2}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏辉斌国志海"


# ---------------------------------------------------------------- the parent: a table

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quiet-load", type=float, default=None, metavar="LOAD",
                        help="wait before each timed step until the 1-minute load is below")
    parser.add_argument("--max-wait", type=float, default=600, metavar="S")
    parser.add_argument("--only", choices=("enrol",), help="time the enrolment only")
    parser.add_argument("--profile", action="store_true",
                        help="write a cProfile of the enrolment to bench/out/coverage/")
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        results = Run(args).run()
        Path(args.child).write_text(json.dumps(results))
        return 0
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {}
    for kind in kinds:
        with tempfile.NamedTemporaryFile(suffix=".json") as handle:
            command = [sys.executable, __file__, "--members", str(args.members), "--db", kind,
                       "--repeat", str(args.repeat), "--max-wait", str(args.max_wait),
                       "--child", handle.name]
            if args.only:
                command += ["--only", args.only]
            if args.profile:
                command.append("--profile")
            if args.quiet_load is not None:
                command += ["--quiet-load", str(args.quiet_load)]
            done = subprocess.run(command)
            if done.returncode:
                print(f"{kind}: the run failed (exit {done.returncode})", file=sys.stderr)
                return done.returncode
            results[kind] = json.loads(Path(handle.name).read_text())
    print_table(args, results)
    return 0


ROWS = [
    # key, label, unit of the value
    ("enrol", "enrol every unit (enrol_units, city admin)", "s"),
    ("enrol_rss", "  peak RSS of that call", "MB"),
    ("enrol_again", "enrol every unit again (nothing new)", "s"),
    ("page", "period page, city admin (median)", "ms"),
    ("page_max", "  slowest of the repeats", "ms"),
    ("payments", "register_payment, every other notice (median)", "ms"),
    ("page_unpaid", "period page ?state=unpaid (median)", "ms"),
    ("pay_large", "register_payment, the largest unit", "ms"),
    ("export", "export_engine() (the function)", "s"),
    ("export_cli", "huzhu export engine (the command)", "s"),
    ("ledger", "ledger.check_all() (the function)", "s"),
    ("ledger_cli", "huzhu ledger check (the command)", "s"),
    ("renew", "renew the city into 2027 (enrolment.renew)", "s"),
]


def print_table(args, results: dict) -> None:
    kinds = list(results)
    first = results[kinds[0]]["facts"]
    print(f"\ncoverage at {first['members']:,} members ({first['active']:,} active) in "
          f"{UNITS:,} units (largest {first['largest']:,} members, median "
          f"{first['median_unit']:,}); premium scheme ningshan-2024 at the city; "
          f"{os.cpu_count()} cores\n")
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    header = f"{'step':<48}{'target':>9}"
    for kind in kinds:
        header += f"{names[kind]:>12}{'load':>6}"
    print(header)
    print("-" * len(header))
    for key, label, unit in ROWS:
        target = TARGETS.get(key)
        shown = "" if target is None else (f"< {target * 1000:.0f} ms" if unit == "ms"
                                           else f"< {target:.0f} s")
        line = f"{label:<48}{shown:>9}"
        for kind in kinds:
            value, load = results[kind]["rows"].get(key, (None, None))
            text = "—" if value is None else _fmt(value, unit)
            if target is not None and value is not None and value > target:
                text += " !"
            line += f"{text:>12}{'' if load is None else f'{load:.1f}':>6}"
        print(line)
    print()
    for kind in kinds:
        facts = results[kind]["facts"]
        print(f"{names[kind]}: {facts['version']}; {facts['enrolments']:,} enrolments, "
              f"{facts['notices']:,} notices ({facts['unpaid']:,} unpaid, "
              f"{facts['partial']:,} partly paid), {facts['payments']:,} payments, "
              f"{facts['ledger']:,} ledger entries; city {facts['city']}")
        line = f"  enrolment: {facts['enrol_queries']:,} queries"
        if "page_queries" in facts:
            line += (f"; period page {facts['page_queries']} queries; the largest unit's "
                     f"payment covered {facts['large_covered']:,} members; export wrote "
                     f"{facts['exported_members']:,} members, "
                     f"{facts['exported_enrolments']:,} enrolments")
        print(line)
    loads = [load for r in results.values() for _, load in r["rows"].values()
             if load is not None]
    print(f"1-minute load average at the timed steps: {min(loads):.1f} to {max(loads):.1f} "
          f"on {os.cpu_count()} cores (the run itself adds about 1; ! = target missed)")


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:,.0f} ms" if value >= 0.1 else f"{value * 1000:.1f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.1f} s" if value >= 1 else f"{value:.2f} s"


# ---------------------------------------------------------------- the child: one database

class Run:
    def __init__(self, args) -> None:
        self.args, self.kind = args, args.db
        self.rows: dict[str, tuple[float, float]] = {}
        self.facts: dict = {"members": args.members}

    def say(self, text: str) -> None:
        print(f"[{self.kind} {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def run(self) -> dict:
        OUT.mkdir(parents=True, exist_ok=True)
        os.environ["HUZHU_VAR_DIR"] = str(OUT / f"var-{self.kind}")
        os.environ.setdefault("HUZHU_DEBUG", "0")  # production: no query log
        # Throwaway keys, in the environment (as the test settings do): the sealed columns
        # hold random bytes anyway, and no key file is written.
        sys.path.insert(0, str(ROOT / "src"))
        from huzhu.config.secrets import new_keys

        for name, value in new_keys().items():
            os.environ[name] = value
        self.server = None
        try:
            built = self._postgres() if self.kind == "postgresql" else self._sqlite()
            from huzhu.lib.django_setup import setup_django

            setup_django()
            self._prepare(built)
            self._bench()
        finally:
            if self.server is not None:
                from django.db import connection

                connection.close()
                self.server._run("pg_ctl", "-D", str(self.server.data), "-m", "fast", "-w",
                                 "stop")
        return {"rows": self.rows, "facts": self.facts}

    # ------------------------------------------------------------ databases

    def _sqlite(self) -> bool:
        """Point at this run's copy of the built city; False when it must be built."""
        base = OUT / f"city-{self.args.members}-b{BUILD}.sqlite3"
        self.db_file = OUT / f"run-{self.args.members}.sqlite3"
        self.base_file = base
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db_file}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{self.db_file}"
        self.facts["city"] = f"reused {base.name}" if base.exists() else f"built {base.name}"
        if base.exists():
            shutil.copyfile(base, self.db_file)
            return True
        return False

    def _postgres(self) -> bool:
        """Start the kept cluster (made once, as the test suite makes its server) and point
        at a fresh copy of its ``city`` database; False when the city must be built."""
        sys.path.insert(0, str(ROOT))
        import pwd

        from tests.conftest import PostgresServer, _free_port, find_pg_bin, start_postgres

        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise SystemExit("PostgreSQL is not installed (no initdb/pg_ctl found)")
        base = OUT / f"pg-{self.args.members}-b{BUILD}"
        built = (base / "built").exists()
        if not built:
            shutil.rmtree(base, ignore_errors=True)
            made = start_postgres(bin_dir)  # initdb in a temporary directory …
            made.stop()
            base.mkdir(parents=True)
            shutil.move(str(made.data), str(base / "data"))  # … kept here
            shutil.rmtree(made.base, ignore_errors=True)
            if made.run_as:
                owner = pwd.getpwnam(made.run_as)
                os.chown(base, owner.pw_uid, owner.pw_gid)
        server = PostgresServer(bin_dir=bin_dir, base=base, port=_free_port(),
                                run_as="postgres" if os.geteuid() == 0 else None)
        # The test server's settings: durability off, the data can be built again.
        options = (f"-p {server.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        done = server._run("pg_ctl", "-D", str(server.data), "-l", str(base / "server.log"),
                           "-w", "-t", "120", "-o", options, "start")
        if done.returncode:
            raise SystemExit(f"PostgreSQL did not start: {done.stderr}")
        self.server = server
        self.facts["version"] = server.version().replace("pg_ctl (PostgreSQL)", "PostgreSQL")
        if built:
            self.facts["city"] = f"reused {base.name}/city (copied from it as a template)"
            self._pg_admin("DROP DATABASE IF EXISTS run", "CREATE DATABASE run TEMPLATE city")
            name = "run"
        else:
            self.facts["city"] = f"built into {base.name}/city (COPY)"
            self._pg_admin("DROP DATABASE IF EXISTS city", "CREATE DATABASE city")
            name = "city"
        os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{server.port}/{name}"
        return built

    def _pg_admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.server.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql)

    def _prepare(self, built: bool) -> None:
        from django.core.management import call_command
        from django.db import connection

        # A reused city is migrated too, so a new migration reaches it.
        call_command("migrate", verbosity=0, interactive=False)
        if not built:
            started = time.perf_counter()
            build_city(self.args.members, self.say)
            self.say(f"built the city in {time.perf_counter() - started:.0f} s")
            if self.kind == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                connection.close()
                shutil.copyfile(self.db_file, self.base_file)
            else:
                # The built city stays as a template; this run works on a copy.
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
                connection.close()
                self._pg_admin("DROP DATABASE IF EXISTS run",
                               "CREATE DATABASE run TEMPLATE city")
                (self.server.base / "built").touch()
                connection.settings_dict["NAME"] = "run"
                os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].replace("/city", "/run")
        if self.kind == "sqlite":
            self.facts["version"] = f"SQLite {connection.Database.sqlite_version}"

    # ------------------------------------------------------------ timing

    def wait_quiet(self) -> float:
        limit = self.args.quiet_load
        if limit is not None:
            deadline = time.monotonic() + self.args.max_wait
            while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
                time.sleep(5)
        return os.getloadavg()[0]

    def timed(self, key: str, fn, *args, **kwargs):
        load = self.wait_quiet()
        profile = None
        if self.args.profile and key == "enrol":
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        started = time.perf_counter()
        value = fn(*args, **kwargs)
        seconds = time.perf_counter() - started
        if profile is not None:
            profile.disable()
            profile.dump_stats(OUT / f"{key}-{self.kind}.prof")
        self.rows[key] = (seconds, max(load, os.getloadavg()[0]))
        self.say(f"{key}: {seconds:.3f} s")
        return value

    def repeated(self, key: str, fn, repeat: int) -> None:
        fn()  # warm the caches once
        load = self.wait_quiet()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        self.rows[key] = (statistics.median(times), max(load, os.getloadavg()[0]))
        if key == "page":
            self.rows["page_max"] = (max(times), self.rows[key][1])
        self.say(f"{key}: median {statistics.median(times) * 1000:.0f} ms")

    def _bench(self) -> None:
        from django.db import connection
        from django.db.models import Count
        from django.test import Client
        from django.urls import reverse

        from huzhu.coverage import enrolment, ledger, premiums, schemes
        from huzhu.coverage.bulk_enrolment import enrol_units
        from huzhu.coverage.engine_inputs import export_engine
        from huzhu.coverage.models import Enrolment, PremiumNotice
        from huzhu.members.models import Member
        from huzhu.orgs.models import Union, Unit, User

        admin = User.objects.get(username="b_admin")
        finance = User.objects.get(username="b_finance")
        city = Union.objects.get(code="C")
        scheme = schemes.create_scheme(admin, union=city, policy_name="ningshan-2024",
                                       code=SCHEME_CODE, min_share=Decimal("0.5"))
        period = schemes.create_period(
            admin, scheme, name="2026年度", start=dt.date(2026, 1, 1),
            end=dt.date(2026, 12, 31), premium=Decimal("150.00"),
            enrol_from=dt.date(2025, 12, 1), enrol_until=dt.date(2026, 3, 31))
        active = Member.objects.filter(status=Member.Status.ACTIVE).count()
        sizes = sorted(Member.objects.values_list("unit_id").annotate(n=Count("id"))
                       .values_list("n", flat=True).order_by())
        self.facts.update(active=active, largest=sizes[-1], median_unit=sizes[len(sizes) // 2])

        # The whole city at once, as the city admin does it (and the renewal and the demo).
        units = list(Unit.objects.select_related("union").order_by("id"))
        reset_peak_rss()
        with counting(connection) as queries:
            outcome = self.timed("enrol", enrol_units, admin, period, units, on=ENROL_DAY)
        self.rows["enrol_rss"] = (peak_rss_mb(), None)
        self.facts["enrol_queries"] = len(queries)
        if outcome.enrolled != active or outcome.refused:
            raise SystemExit(f"enrolled {outcome.enrolled} of {active} active members, "
                             f"refused {outcome.refused[:3]}")
        again = self.timed("enrol_again", enrol_units, admin, period, units, on=ENROL_DAY)
        assert again.enrolled == 0 and not again.refused
        if self.args.only == "enrol":
            return self._count(period)

        client = Client()
        client.force_login(admin)
        url = reverse("coverage:period", args=[period.pk])

        def page(**params):
            def get():
                response = client.get(url, params)
                assert response.status_code == 200, response.status_code
            return get

        self.repeated("page", page(), self.args.repeat)
        with counting(connection) as queries:
            page()()
        self.facts["page_queries"] = len(queries)

        # Finance registers the units' transfers: most in full, some in part, one in ten
        # not yet; the largest unit is kept for the timed payment below.
        rng = random.Random(11)
        notices = list(PremiumNotice.objects.filter(period=period).order_by("id")
                       .values_list("id", "unit_id", "amount_due"))
        largest = max(notices, key=lambda n: n[2])
        times = []
        for pk, _, due in notices:
            if pk == largest[0] or rng.random() < 0.1:
                continue
            amount = due if rng.random() < 0.93 else (due / 2).quantize(Decimal("1"))
            started = time.perf_counter()
            premiums.register_payment(finance, pk, amount=amount,
                                      paid_on=dt.date(2026, 2, rng.randint(1, 27)),
                                      bank_reference=f"ICBC2026{pk:06d}")
            times.append(time.perf_counter() - started)
        self.rows["payments"] = (statistics.median(times), os.getloadavg()[0])
        self.say(f"{len(times)} payments in {sum(times):.1f} s")
        self.repeated("page_unpaid", page(state="unpaid"), self.args.repeat)

        covered_before = Enrolment.objects.filter(notice_id=largest[0],
                                                  paid_on__isnull=False).count()
        self.timed("pay_large", premiums.register_payment, finance, largest[0],
                   amount=largest[2], paid_on=dt.date(2026, 3, 2),
                   bank_reference="ICBC2026-LARGEST")
        self.facts["large_covered"] = Enrolment.objects.filter(
            notice_id=largest[0], paid_on__isnull=False).count() - covered_before

        out = OUT / f"engine-{self.kind}"
        counts = self.timed("export", export_engine, scheme, out)
        self.facts.update(exported_members=counts["members"],
                          exported_enrolments=counts["enrolments"])
        self.timed("export_cli", self.command, "export", "engine", "--scheme", SCHEME_CODE,
                   "--out", str(OUT / f"engine-cli-{self.kind}"))
        checks = self.timed("ledger", ledger.check_all)
        if not all(c.ok for c in checks):
            raise SystemExit(f"ledger check failed: {[c for c in checks if not c.ok]}")
        self.timed("ledger_cli", self.command, "ledger", "check")
        self._count(period)

        # Next year: last year's members again, carrying their first-enrolment dates over
        # (the earlier-coverage path the first year does not take).
        nxt = schemes.create_period(
            admin, scheme, name="2027年度", start=dt.date(2027, 1, 1),
            end=dt.date(2027, 12, 31), premium=Decimal("150.00"),
            enrol_from=dt.date(2026, 12, 1), enrol_until=dt.date(2027, 3, 31))
        renewed = self.timed("renew", enrolment.renew, admin, period, nxt,
                             on=dt.date(2027, 1, 10))
        kept = Enrolment.objects.filter(period=nxt, first_enrolled__lt=nxt.start).count()
        carried = Enrolment.objects.filter(period=period, coverage_from__isnull=False).count()
        if renewed.enrolled != active or kept != carried:
            raise SystemExit(f"renewed {renewed.enrolled} of {active}; {kept} kept their "
                             f"first-enrolment date, {carried} had coverage to carry over")
        self.facts["renewed"] = renewed.enrolled

    def _count(self, period) -> None:
        from django.db.models import Count

        from huzhu.coverage.models import Enrolment, LedgerEntry, Payment, PremiumNotice

        states = dict(PremiumNotice.objects.filter(period=period).values_list("state")
                      .annotate(n=Count("id")).order_by())
        self.facts.update(
            enrolments=Enrolment.objects.filter(period=period).count(),
            notices=sum(states.values()), unpaid=states.get("unpaid", 0),
            partial=states.get("partial", 0), payments=Payment.objects.count(),
            ledger=LedgerEntry.objects.count())

    def command(self, *argv: str) -> None:
        from django.db import connection

        if self.kind == "sqlite":
            connection.close()  # nothing of ours held open while the command runs
        huzhu = Path(sys.executable).parent / "huzhu"
        done = subprocess.run([str(huzhu), *argv], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"huzhu {' '.join(argv)} failed: {done.stderr}{done.stdout}")


# ---------------------------------------------------------------- the city

def build_city(members: int, say) -> None:
    """Unions, 2,000 units, the city's staff users and ``members`` members, by raw inserts."""
    from django.db import connection, transaction

    from huzhu.orgs.models import Union, Unit, User
    from huzhu.orgs.uscc import make_uscc

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
             union=grassroots[i % len(grassroots)])
        for i in range(UNITS)
    ], batch_size=500)
    User.objects.create_user("b_admin", password="x", role="admin", union=city)
    User.objects.create_user("b_finance", password="x", role="finance", union=city)
    # A city's employers are skewed: a few enterprises of tens of thousands (the largest
    # about 3 % of the city), most of a few hundred. Weights 1/rank^0.7, shuffled over ids.
    weights = [1 / (r + 1) ** 0.7 for r in range(UNITS)]
    rng.shuffle(weights)
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    placed = rng.choices(units, cum_weights=cum, k=members)
    columns = ("name", "id_number_sealed", "id_number_hash", "id_last4_index", "birth_date",
               "gender", "phone", "unit_id", "union_id", "status", "occupation", "bank_last4",
               "created_at", "updated_at")
    statuses = ["active"] * 8 + ["retired", "left"]
    occupations = ["other"] * 18 + ["medical", "cdc"]
    births = [dt.date(1966, 1, 1) + dt.timedelta(days=d) for d in range(0, 40 * 365, 7)]
    now = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

    def rows():
        for i, unit in enumerate(placed):
            yield (rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                   secrets.token_bytes(40), f"{i:064x}", f"{rng.randrange(10000):064x}",
                   rng.choice(births), rng.choice("MF"),
                   f"1{rng.randrange(3, 10)}{rng.randrange(10**9):09d}", unit.id,
                   unit.union_id, rng.choice(statuses), rng.choice(occupations), "", now, now)

    table = "members_member"
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
                   f"VALUES ({', '.join(['%s'] * len(columns))})")
            date = connection.ops.adapt_datefield_value
            stamp = connection.ops.adapt_datetimefield_value(now)
            batch = []
            for row in rows():
                batch.append((*row[:4], date(row[4]), *row[5:12], stamp, stamp))
                if len(batch) == 20000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    say(f"{members:,} members inserted")


# ---------------------------------------------------------------- queries and memory

class counting:
    """Count the statements run (an executemany is one), without Django's debug cursor,
    which would keep every statement's text."""

    def __init__(self, connection) -> None:
        self.connection, self.n = connection, 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._cm = self.connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def __len__(self) -> int:
        return self.n


def reset_peak_rss() -> None:
    """Start this process's high-water mark afresh (Linux: clear_refs 5 resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
