"""The claims work queue and the reviewers' signals at 500,000 past claims.

Builds a throwaway SQLite database under bench/out/claims/ (the member registry as
bench_web.py builds it: 1 city, 10 districts, 200 grassroots unions, 2,000 units, N
members; then the claims by raw inserts), then times, per scope (city admin, district
reviewer, grassroots clerk), what the queue page and the claim page run: the queue (state
filter, newest 50 by id, the total), the queue filtered by each signal, the counts of
every signal, one claim's signals, and the follow-up list. Prints a table.

    .venv/bin/python bench/bench_claims_queue.py [--members 1000000] [--claims 500000]
        [--open 10000] [--repeat 5] [--without-indexes] [--postgres]

``--postgres`` runs the same on a throwaway PostgreSQL server (as the test suite starts
one), built afresh each time; ``--without-indexes`` drops the two indexes the signals'
migration adds, to show what they are for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "claims"
sys.path[:0] = [str(HERE), str(HERE.parent)]

# About 200 diagnosis categories, the commonest first (weights fall off like real case mix).
CATEGORIES = [f"{letter}{n:02d}" for letter in "CEIJKNS" for n in range(0, 100, 3)][:200]
BUILD_SEED = 11


def setup_django(members: int, claims: int, postgres_url: str | None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["HUZHU_VAR_DIR"] = str(OUT)
    os.environ["DATABASE_URL"] = postgres_url or (
        f"sqlite:///{OUT / f'claims-{members}-{claims}.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    from huzhu.config.secrets import new_keys

    for name, value in new_keys().items():  # throwaway data, throwaway keys
        os.environ.setdefault(name, value)
    import django

    django.setup()


def start_postgres():
    from tests.conftest import find_pg_bin
    from tests.conftest import start_postgres as start

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("没有找到 PostgreSQL（initdb / pg_ctl）")
    server = start(bin_dir)
    import subprocess

    subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(server.port),
                    "-U", "postgres", "bench"], check=True)
    return server, f"postgresql://postgres@127.0.0.1:{server.port}/bench"


# ------------------------------------------------------------------ building the data

def build_claims(total: int, open_claims: int) -> None:
    from django.db import connection

    from huzhu.claims.models import Claim
    from huzhu.coverage import schemes
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, User

    if Claim.objects.count() >= total + open_claims:
        return
    admin = User.objects.get(username="b_admin")
    scheme = schemes.create_scheme(admin, union=Union.objects.get(code="C"),
                                   policy_name="changchun-2023")
    low, high = (Member.objects.order_by(o).values_list("id", flat=True)[0]
                 for o in ("id", "-id"))
    rng = random.Random(BUILD_SEED)
    frequent = [rng.randint(low, high) for _ in range(20_000)]  # members who claim often
    weights = [1 / (rank + 1) for rank in range(len(CATEGORIES))]
    fields = [f for f in Claim._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    defaults |= {"scheme_id": scheme.pk, "filed_by_id": User.objects.get(username="b_clerk").pk,
                 "created_at": "2026-01-01 00:00:00", "updated_at": "2026-01-01 00:00:00"}
    columns = [f.column for f in fields]
    sql = (f"INSERT INTO {Claim._meta.db_table} ({', '.join(columns)}) VALUES "
           f"({', '.join(['%s'] * len(columns))})")
    started = time.perf_counter()
    invoices: list[str] = []
    batch = []
    with connection.cursor() as cursor:
        for i in range(total + open_claims):
            row = _claim(rng, i, i >= total, low, high, frequent, weights, invoices)
            batch.append([row.get(f.attname, defaults[f.attname]) for f in fields])
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
        cursor.execute("ANALYZE")
    print(f"built {total + open_claims:,} claims in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)


PAST_STATES = ["paid"] * 92 + ["rejected"] * 4 + ["withdrawn"] * 2 + ["approved"] * 1 + \
    ["in_batch"] * 1
OPEN_STATES = ["submitted"] * 6 + ["second_review"] * 2 + ["draft"] * 1 + ["returned"] * 1


def _claim(rng: random.Random, i: int, is_open: bool, low: int, high: int,
           frequent: list[int], weights: list[float], invoices: list[str]) -> dict:
    member = rng.choice(frequent) if rng.random() < 0.3 else rng.randint(low, high)
    event = (dt.date(2026, 4, 30) - dt.timedelta(days=rng.randrange(60)) if is_open
             else dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(1200)))
    state = rng.choice(OPEN_STATES if is_open else PAST_STATES)
    kind = rng.random()
    row = {"number": f"B{i:09d}", "member_id": member, "state": state,
           "event_date": event.isoformat()}
    if kind < 0.85:  # a hospital stay
        category = rng.choices(CATEGORIES, weights)[0]
        codes = [f"{category}.{rng.randrange(10)}"]
        if rng.random() < 0.2:
            codes.append(f"{rng.choices(CATEGORIES, weights)[0]}.{rng.randrange(10)}")
        invoice = (rng.choice(invoices) if invoices and rng.random() < 0.003
                   else f"FP{event:%Y}{i:08d}")
        if len(invoices) < 100_000:
            invoices.append(invoice)
        base = 800 + 40 * (CATEGORIES.index(category) % 50)
        amount = base * rng.lognormvariate(0, 0.5) * (rng.choice([5, 8]) if rng.random() < 0.01
                                                        else 1)
        days = rng.randrange(1, 21)
        row |= {"benefit": "hospital", "benefit_name": "住院医疗补贴",
                "admit_date": (event - dt.timedelta(days=days)).isoformat(), "days": days,
                "diagnosis": ";".join(codes), "invoice_number": invoice}
    else:  # an accident or a fire: no stay, no diagnosis
        row |= {"benefit": "accident", "benefit_name": "非工伤意外伤害"}
        amount = rng.choice([1000, 2000, 5000])
    money = Decimal(str(round(amount, 2))).quantize(Decimal("0.01"))
    row["computed"] = None if state == "draft" else money
    if state in ("approved", "in_batch", "paid"):
        row["final"] = money
        row["approved_at"] = f"{event + dt.timedelta(days=20)} 10:00:00"
    return row


def set_flag_indexes(enabled: bool) -> None:
    """Drop the signals' indexes (``--without-indexes``), or make sure they are there."""
    import importlib

    from django.db import connection

    import huzhu.claims.migrations as migrations
    from huzhu.claims.models import Claim

    indexes = []  # the migration that adds them, whatever number it has after the merge
    for path in sorted(Path(migrations.__file__).parent.glob("0*.py")):
        module = importlib.import_module(f"{migrations.__name__}.{path.stem}")
        indexes += getattr(module, "INDEXES", [])
    with connection.schema_editor() as editor:
        for index in indexes:
            editor.execute(f"DROP INDEX IF EXISTS {index.name}")
            if enabled:
                editor.add_index(Claim, index)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


class _QmarkAsFormat:
    """bench_web.py writes SQLite's ``?`` placeholders; PostgreSQL's driver wants ``%s``."""

    def __enter__(self):
        from django.db.backends.utils import CursorWrapper

        self.original = original = CursorWrapper.executemany
        CursorWrapper.executemany = lambda cur, sql, rows: original(cur, sql.replace("?", "%s"),
                                                                     rows)

    def __exit__(self, *exc):
        from django.db.backends.utils import CursorWrapper

        CursorWrapper.executemany = self.original


# ------------------------------------------------------------------ the cases

def cases(queue_states: list[str]):
    from huzhu.claims import flags
    from huzhu.claims import usual_amounts as norms
    from huzhu.claims.followup import service as followup
    from huzhu.claims.models import Claim
    from huzhu.lib.paging import keyset_page
    from huzhu.orgs.models import User

    users = {u.username: u for u in User.objects.filter(username__startswith="b_")}
    scopes = [("city admin", users["b_admin"]), ("district reviewer", users["b_reviewer"]),
              ("grassroots clerk", users["b_clerk"])]

    def queue(user, code=""):
        def run():
            qs = Claim.objects.visible_to(user).filter(state__in=queue_states)
            qs = flags.with_flag(qs, code) if code else qs
            page = keyset_page(qs.select_related("member__unit", "scheme"), count=True)
            return page.total
        return run

    def counts(user):
        def run():
            found = flags.flag_counts(Claim.objects.visible_to(user).filter(
                state__in=queue_states))
            return sum(found.values())
        return run

    def every_state(user, code):
        def run():
            return flags.with_flag(Claim.objects.visible_to(user), code).order_by().count()
        return run

    def follow_up(user):
        def run():
            return keyset_page(followup.follow_up(user), count=True).total
        return run

    probe = (Claim.objects.filter(state="submitted", benefit="hospital")
             .order_by("id").first())

    def one_claim():
        return len(flags.flags_for(Claim.objects.get(pk=probe.pk)))

    rows = []
    for label, user in scopes:
        rows.append((f"{label}: queue", queue(user)))
        rows += [(f"{label}: queue + {code}", queue(user, code)) for code in flags.FLAG_LABELS]
        rows.append((f"{label}: flag_counts(queue)", counts(user)))
        if user.has_perm("claims.read_followup"):
            rows.append((f"{label}: follow-up list", follow_up(user)))
    rows += [(f"city admin: every state, {code}", every_state(users["b_admin"], code))
             for code in flags.FLAG_LABELS]
    rows.append(("claim page: flags_for(one claim)", one_claim))
    rows.append(("refresh the usual amounts (every 10 min)", norms.refresh))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=500_000, help="past claims")
    parser.add_argument("--open", type=int, default=10_000, help="claims in the queues")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--without-indexes", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    server, url = start_postgres() if args.postgres else (None, None)
    try:
        setup_django(args.members, args.claims, url)
        import bench_web
        from django.db import connection

        if connection.vendor == "postgresql":
            with _QmarkAsFormat():
                bench_web.build(args.members)
        else:
            bench_web.build(args.members)
        build_claims(args.claims, args.open)
        set_flag_indexes(not args.without_indexes)
        report(args, connection.vendor)
    finally:
        if server is not None:
            server.stop()
    return 0


def report(args, vendor: str) -> None:
    indexes = "without" if args.without_indexes else "with"
    print(f"\nclaims queue and signals: {args.members:,} members, {args.claims:,} past claims "
          f"+ {args.open:,} open, {vendor}, {indexes} the signals' indexes, median of "
          f"{args.repeat} runs\n")
    print(f"{'query':<46} {'rows':>7} {'median ms':>10} {'max ms':>8}")
    print("-" * 74)
    for label, run in cases(["submitted", "second_review"]):
        run()  # warm the page cache once
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            n = run()
            times.append((time.perf_counter() - started) * 1000)
        print(f"{label:<46} {n:>7,} {statistics.median(times):>10.1f} {max(times):>8.1f}")


if __name__ == "__main__":
    sys.exit(main())
