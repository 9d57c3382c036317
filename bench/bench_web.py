"""Member list and search queries at a million members, as the web pages run them.

Builds a throwaway SQLite database (1 city, 10 districts, 200 grassroots unions, 2,000
units, N members) under bench/out/web/, then times each query the member list can
issue — per scope (city admin, district reviewer, grassroots clerk) and per search kind —
and prints a table. The sensitive columns hold random bytes: sealing does not change how
the queries run, and it would make the set-up take minutes.

    .venv/bin/python bench/bench_web.py [--members 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "web"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
LAST4_PROBE = "0042"  # what a clerk types; the search hashes it like the stored column
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬鹏辉斌建国建华志强海燕"  # noqa: E501


def setup_django(members: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    db_file = OUT / f"members-{members}.sqlite3"
    os.environ["HUZHU_VAR_DIR"] = str(OUT)
    os.environ["DATABASE_URL"] = f"sqlite:///{db_file}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.config.settings")
    import django

    django.setup()


def build(members: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from huzhu.lib import crypto
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, Unit, User
    from huzhu.orgs.uscc import make_uscc

    call_command("migrate", verbosity=0)
    if Member.objects.count() >= members:
        return
    last4 = [crypto.last4_index(f"{n:04d}") for n in range(10000)]
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
        for i in range(2000)
    ])
    User.objects.create_user("b_admin", password="x", role="admin", union=city)
    User.objects.create_user("b_reviewer", password="x", role="reviewer",
                             union=grassroots[0].parent)
    User.objects.create_user("b_clerk", password="x", role="clerk", union=grassroots[0])
    sql = (
        "INSERT INTO members_member (name, id_number_sealed, id_number_hash, id_last4_index, "
        "birth_date, gender, phone, unit_id, union_id, joined_on, status, occupation, "
        "bank_last4, created_at, updated_at) VALUES "
        "(?, ?, ?, ?, '1980-01-01', 'M', ?, ?, ?, NULL, ?, 'other', '', "
        "'2024-01-01', '2024-01-01')"
    )
    statuses = ["active"] * 8 + ["retired", "left"]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        batch = []
        for i in range(members):
            unit = units[rng.randrange(len(units))]
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            batch.append((
                name, secrets.token_bytes(40), f"{i:064x}", last4[rng.randrange(10000)],
                f"1{rng.randrange(3, 10)}{rng.randrange(10**9):09d}", unit.id, unit.union_id,
                rng.choice(statuses),
            ))
            if len(batch) == 20000:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
        cursor.execute("ANALYZE")
    print(f"built {members:,} members in {time.perf_counter() - started:.1f} s", file=sys.stderr)


# Indexes this bench shows the registry needs (proposed for the members migrations).
PROPOSED_INDEXES = {
    "bench_member_union_status": "members_member (union_id, status)",
    "bench_member_union_occupation": "members_member (union_id, occupation)",
    "bench_member_occupation": "members_member (occupation, id)",
}


def set_proposed_indexes(enabled: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name, target in PROPOSED_INDEXES.items():
            if enabled:
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
            else:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute("ANALYZE")


def cases():
    from huzhu.lib.paging import keyset_page
    from huzhu.members.models import Member
    from huzhu.members.search import MemberQuery, search_members
    from huzhu.orgs.models import User

    some = Member.objects.order_by("id")[500]
    users = {u.username: u for u in User.objects.filter(username__startswith="b_")}

    def listing(username, **params):
        def run():
            query = MemberQuery.from_params({k: str(v) for k, v in params.items()})
            after = params.get("after")
            # What the list view runs: the page and its total ("共 N 条").
            qs = search_members(users[username], query).prefetch_related("unit", "union")
            return len(keyset_page(qs, after=after, count=True).items)
        return run

    deep = Member.objects.order_by("id")[1000].id
    return [
        ("city admin, newest page", listing("b_admin")),
        ("city admin, deep page (after=…)", listing("b_admin", after=deep)),
        ("district reviewer, newest page", listing("b_reviewer")),
        ("grassroots clerk, newest page", listing("b_clerk")),
        ("grassroots clerk, deep page", listing("b_clerk", after=deep)),
        ("city admin, name prefix 张", listing("b_admin", q="张")),
        ("city admin, name prefix 张伟", listing("b_admin", q="张伟")),
        ("district reviewer, name prefix 张", listing("b_reviewer", q="张")),
        ("grassroots clerk, name prefix 欧", listing("b_clerk", q="欧")),
        ("city admin, phone", listing("b_admin", q=some.phone)),
        ("city admin, last 4 of ID", listing("b_admin", q=LAST4_PROBE)),
        ("district reviewer, last 4 of ID", listing("b_reviewer", q=LAST4_PROBE)),
        ("city admin, status=left", listing("b_admin", status="left")),
        ("district reviewer, status=left", listing("b_reviewer", status="left")),
        ("city admin, unit filter", listing("b_admin", unit=some.unit_id)),
        ("city admin, occupation=medical (none)", listing("b_admin", occupation="medical")),
        ("district reviewer, occupation=medical", listing("b_reviewer", occupation="medical")),
    ]


def home_counts():
    from django.test import Client

    client = Client()
    client.login(username="b_admin", password="x")

    def run():
        assert client.get("/").status_code == 200
        return 0
    return run


def bench_export(rows: int) -> None:
    """Write ``rows`` sealed members (unsaved, so no database time) to xlsx."""
    import datetime as dt
    import resource
    import tempfile

    from huzhu.members.export import write_members_xlsx
    from huzhu.members.idcard import make_id_number
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, Unit

    union = Union(id=1, name="基准基层工会", path="/1/")
    unit = Unit(id=1, name="基准单位有限公司", uscc="91220101MA00000001", union=union)

    def members():
        for i in range(rows):
            member = Member(name="张三", unit=unit, union=union, birth_date=dt.date(1980, 1, 1),
                            gender="M", phone="13800138000", status="active")
            member.set_id_number(make_id_number("220102", dt.date(1980, 1, 1), i % 1000))
            member.set_bank_account(f"6222{i:015d}")
            yield member

    for full in (False, True):
        started = time.perf_counter()
        with tempfile.TemporaryFile() as handle:
            write_members_xlsx(members(), handle, full=full)
            size = handle.tell()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"export {rows:,} rows ({'full' if full else 'masked'} numbers): {seconds:.1f} s, "
              f"{rows / seconds:,.0f} rows/s, {size / 1e6:.1f} MB, peak RSS {peak:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--export", type=int, default=0, metavar="ROWS",
                        help="also time an xlsx export of ROWS members")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="add the indexes proposed for the members table first")
    args = parser.parse_args()
    setup_django(args.members)
    build(args.members)
    set_proposed_indexes(args.proposed_indexes)
    rows = [*cases(), ("home page (full request, city admin)", home_counts())]
    indexes = "with" if args.proposed_indexes else "without"
    print(f"\nmember queries, {args.members:,} members, SQLite, {indexes} the proposed "
          f"indexes, median of {args.repeat} runs\n")
    print(f"{'query':<42} {'rows':>5} {'median ms':>10} {'max ms':>8}")
    print("-" * 68)
    for label, run in rows:
        run()  # warm the page cache once
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            n = run()
            times.append((time.perf_counter() - started) * 1000)
        print(f"{label:<42} {n:>5} {statistics.median(times):>10.1f} {max(times):>8.1f}")
    if args.export:
        print()
        bench_export(args.export)
    return 0


if __name__ == "__main__":
    sys.exit(main())
