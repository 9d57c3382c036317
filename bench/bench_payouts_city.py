"""Payouts at city scale on PostgreSQL: N approved claims (one per member, every member
with a bank account and a mobile number) → batches built per paying union (at most
50,000 each), every batch's bank file written (full numbers, CSV), the bank's result
file of every batch reconciled with 1% failures and a few 退票, then ``huzhu ledger
check``. Prints a table: step, rows, seconds, peak RSS of the step.

The registry and the claims are written with COPY (as ``bench_money_audit.py`` does) on
a throwaway PostgreSQL server under ``bench/out/payouts_city/`` (kept for the next run;
``--rebuild`` starts over); the timed steps run in a fresh process, through the same
services as ``huzhu payouts build|file|reconcile``. The bank's side (reading the bank
file and writing its result file) is timed apart and not counted.

    HUZHU_BENCH_DB=postgresql .venv/bin/python bench/bench_payouts_city.py [--claims 1000000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_feeds as city  # noqa: E402  (its PostgreSQL server and keys)

OUT = ROOT / "bench" / "out" / "payouts_city"
city.OUT = OUT
SCHEME = "changchun-2023"
FAIL_SHARE = 0.01
RETURNS = 100  # 退票 among the transfers, paid and returned in the same result file


def _cell(value: object) -> str:
    """COPY's CSV: an unquoted empty field is NULL, a quoted one the empty string."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    from huzhu.lib.sql import copy_csv

    for k in range(0, len(rows), 100_000):
        out = io.StringIO()
        for row in rows[k:k + 100_000]:
            out.write(",".join(map(_cell, row)))
            out.write("\n")
        copy_csv(table, columns, out.getvalue().encode())


def build(claims: int) -> None:
    """The city (10 districts of 20 grassroots unions), ``claims`` members with sealed ID
    numbers and bank accounts, and one approved claim each."""
    from django.core.management import call_command
    from django.db import connection

    from huzhu.claims.models import Claim
    from huzhu.coverage.models import Scheme
    from huzhu.coverage.schemes import create_period, create_scheme
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, User

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:  # a run on the kept database starts over
        cursor.execute("TRUNCATE claims_payout, claims_payoutbatch, claims_claimevent, "
                       "claims_claim, notify_outboxmessage CASCADE")
        cursor.execute("ALTER TABLE coverage_ledgerentry DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM coverage_ledgerentry")
        cursor.execute("ALTER TABLE coverage_ledgerentry ENABLE TRIGGER USER")
    if Member.objects.count() < claims:
        _members(claims)
    root = Union.objects.get(parent__isnull=True)
    admin, _ = User.objects.get_or_create(username="bench_admin",
                                          defaults={"role": "admin", "union": root})
    finance, _ = User.objects.get_or_create(username="bench_finance",
                                            defaults={"role": "finance", "union": root})
    scheme = Scheme.objects.filter(code=SCHEME).first() or create_scheme(
        admin, union=root, policy_name=SCHEME)
    period = scheme.periods.first() or create_period(
        admin, scheme, name="2026年", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31),
        premium=Decimal("0"), enrol_from=dt.date(2026, 1, 1), enrol_until=dt.date(2026, 12, 31))
    member_ids = list(Member.objects.order_by("id").values_list("id", flat=True)[:claims])
    now = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    columns = ("number", "member_id", "scheme_id", "period_id", "benefit", "benefit_name",
               "source", "state", "event_date", "admit_date", "days", "out_of_pocket",
               "diagnosis", "outcome", "fracture_site", "certificate_no", "relation",
               "relative_name", "relative_key", "hospital", "invoice_number", "computed",
               "final", "reduction_reason", "computation", "policy_hash", "filed_by_id",
               "late_exception_reason", "duplicate_override_reason", "missing_materials",
               "return_note", "reject_code", "reject_text", "created_at", "submitted_at",
               "approved_at", "updated_at")
    rng = random.Random(23)
    rows = []
    for i, member in enumerate(member_ids, start=1):
        amount = Decimal(rng.randrange(20_000, 1_000_000)) / 100
        discharge = dt.date(2026, 1, 10) + dt.timedelta(days=rng.randrange(300))
        rows.append((f"LP2026{i:07d}", member, scheme.pk, period.pk, "hospital", "住院医疗补贴",
                     "proactive", Claim.State.APPROVED, discharge,
                     discharge - dt.timedelta(days=5), 5, amount * 20, "I21.9", "", "", "", "",
                     "", "", "", f"INV{i:09d}", amount, amount, "", "{}", scheme.policy_hash,
                     admin.pk, "", "", "[]", "", "", "", now, now, now, now))
    _copy("claims_claim", columns, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {len(rows):,} approved claims in {time.perf_counter() - started:.1f} s "
          f"(finance user {finance.username})", file=sys.stderr)


def _members(n: int) -> None:
    from django.db import connection

    from huzhu.lib import crypto
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, Unit
    from huzhu.orgs.uscc import make_uscc

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE members_member CASCADE")
    if not Union.objects.exists():
        root = Union.objects.create(code="C", name="基准市总工会", level="city")
        for d in range(10):
            district = Union.objects.create(code=f"D{d:02d}", name=f"第{d + 1}区总工会",
                                            level="district", parent=root)
            for g in range(20):
                Union.objects.create(code=f"G{d:02d}{g:02d}", name=f"第{d + 1}区第{g + 1}基层工会",
                                     level="grassroots", parent=district)
        grassroots = list(Union.objects.filter(level="grassroots").order_by("id"))
        Unit.objects.bulk_create([
            Unit(name=f"基准单位{i:04d}有限公司", uscc=make_uscc(f"91220101MA{i:07d}"),
                 union=grassroots[i % len(grassroots)]) for i in range(2000)])
    units = list(Unit.objects.order_by("id").values_list("id", "union_id"))
    seal_id = crypto.sealer(column=crypto.MEMBER_ID_NUMBER)
    seal_bank = crypto.sealer(column=crypto.MEMBER_BANK_ACCOUNT)
    index = crypto.blind_indexer()
    columns = ("name", "id_number_sealed", "id_number_hash", "id_last4_index", "birth_date",
               "gender", "phone", "unit_id", "union_id", "status", "occupation",
               "bank_account_sealed", "bank_account_hash", "bank_last4", "bank_name",
               "created_at", "updated_at")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    # As bench_feeds does: the last-four index is not what this bench reads.
    last4 = [crypto.last4_index(f"{n:04d}") for n in range(10000)]
    rng = random.Random(7)
    rows = []
    for i in range(n):
        number = city.member_id_number(i)
        unit_id, union_id = units[rng.randrange(len(units))]
        account = f"6222{i:015d}"
        rows.append((f"会员{i}", seal_id(number), index(number), last4[i % 10000],
                     city.BIRTH_BASE + dt.timedelta(days=(i // 1000) * 7),
                     "M" if int(number[16]) % 2 else "F", f"139{i:08d}", unit_id, union_id,
                     "active", "other", seal_bank(account), index("bank:" + account),
                     account[-4:], "中国工商银行长春分行", now, now))
        if len(rows) == 200_000:
            _copy(Member._meta.db_table, columns, rows)
            rows.clear()
    _copy(Member._meta.db_table, columns, rows)


class Peak:
    """The peak resident memory of one step: the kernel's high-water mark, reset first."""

    def __enter__(self) -> Peak:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False
        return self

    def __exit__(self, *exc: object) -> None:
        hwm = next((line for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("VmHWM:")), None)
        kb = int(hwm.split()[1]) if hwm and self.reset else \
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.mb = kb / 1024


def timed_steps(files_dir: Path) -> list[dict]:
    from django.db.models import Count
    from django.utils import timezone

    from huzhu.claims.models import Payout
    from huzhu.claims.payouts import build, files, reconcile
    from huzhu.coverage import ledger
    from huzhu.coverage.models import Scheme
    from huzhu.orgs.models import User

    finance = User.objects.select_related("union").get(username="bench_finance")
    scheme = Scheme.objects.get(code=SCHEME)
    steps: list[dict] = []

    def step(name: str, fn) -> object:
        with Peak() as peak:
            started = time.perf_counter()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                import pstats

                profile = cProfile.Profile()
                rows, result = profile.runcall(fn)
                pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
            else:
                rows, result = fn()
            seconds = time.perf_counter() - started
        steps.append({"step": name, "rows": rows, "seconds": round(seconds, 1),
                      "peak_mb": round(peak.mb)})
        print(f"{name}: {rows:,} rows, {seconds:.1f} s, {peak.mb:.0f} MB", file=sys.stderr)
        return result

    def build_all():
        batches = build.build_batches(finance, scheme).batches
        return Payout.objects.count(), batches

    batches = step("生成给付批次（按付款工会，每批至多 50,000 笔）", build_all)

    def write_all():
        written = []
        for batch in batches:
            data = files.write_bank_file(finance, batch, "csv", full=True,
                                         purpose="基准测试：报送银行代发")
            path = files_dir / f"{batch.number}.csv"
            path.write_bytes(data)
            written.append(path)
        return Payout.objects.count(), written

    written = step(f"写出银行代发文件（{len(batches)} 个，CSV，完整账号）", write_all)

    def bank_side():
        """What the bank sends back: every row of the file, 1% failed, a few 退票."""
        rng = random.Random(101)
        results, n = [], 0
        today = timezone.localdate().isoformat()  # Beijing's day: batches are made today
        for path in written:
            rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))[1:-1]
            out = io.StringIO()
            w = csv.writer(out)
            w.writerow(["序号", "户名", "理赔编号", "交易金额", "交易日期", "处理结果", "失败原因"])
            for seq, name, _id, _account, _bank, amount, _memo, number, _unit in rows:
                draw = rng.random()
                if draw < FAIL_SHARE:
                    status, why = "失败", "户名与账号不符"
                elif draw < FAIL_SHARE + RETURNS / 1_000_000:
                    status, why = "退票", "账户已销户"
                else:
                    status, why = "成功", ""
                w.writerow([seq, name, number, amount, today, status, why])
                n += 1
            result = path.with_name(path.stem + "-回盘.csv")
            result.write_bytes(out.getvalue().encode("gbk"))
            results.append(result)
        return n, results

    results = step("（银行方）生成回盘文件，不计入", bank_side)

    def reconcile_all():
        n = 0
        for batch, path in zip(batches, results, strict=True):
            plan = reconcile.reconcile(finance, batch, path.read_bytes(), path.name)
            n += len(plan.moves)
        return n, None

    step("核对回盘文件（1% 失败，少量退票）", reconcile_all)

    def again():
        batch, path = batches[0], results[0]
        plan = reconcile.reconcile(finance, batch, path.read_bytes(), path.name)
        assert plan.changes_nothing
        return plan.unchanged, None

    step("同一回盘文件再次核对（不变更）", again)

    def check():
        checks = ledger.check_all()
        bad = [c.detail for c in checks if not c.ok]
        if bad:
            raise SystemExit(f"huzhu ledger check: {bad}")
        return len(checks), None

    step("huzhu ledger check", check)
    counts = dict(Payout.objects.values_list("state").annotate(n=Count("pk")).order_by())
    print(f"payouts by state: {counts}", file=sys.stderr)
    return steps


def child(args: argparse.Namespace) -> int:
    os.environ["HUZHU_VAR_DIR"] = str(OUT / "var")
    city.django_setup(args.database_url)
    if args.child == "build":
        build(args.claims)
        return 0
    files_dir = OUT / "files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    files_dir.mkdir(parents=True)
    print(json.dumps(timed_steps(files_dir)))
    return 0


def spawn(database_url: str, *extra: str) -> str:
    command = [sys.executable, __file__, "--database-url", database_url, *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr)
    if done.returncode:
        raise SystemExit(f"{' '.join(extra)} failed")
    return done.stdout


def _pad(text: str, width: int) -> str:
    shown = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", choices=("build", "run"))
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if os.environ.get("HUZHU_BENCH_DB", "postgresql") != "postgresql":
        raise SystemExit("这个基准只在 PostgreSQL 上运行（HUZHU_BENCH_DB=postgresql）")
    if args.rebuild and OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True, exist_ok=True)
    city.bench_keys()
    server = city.start_postgres(args.claims)
    url = f"postgresql://postgres@127.0.0.1:{server.port}/huzhu"
    try:
        started = time.perf_counter()
        spawn(url, "--child", "build", "--claims", str(args.claims))
        built = time.perf_counter() - started
        steps = json.loads(spawn(url, "--child", "run").strip().splitlines()[-1])
    finally:
        server._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
    (OUT / "results.json").write_text(json.dumps(steps, indent=1, ensure_ascii=False))
    print(f"payouts at city scale on PostgreSQL: {args.claims:,} approved claims "
          f"(set-up {built:.0f} s, not timed)")
    head = f"{_pad('step', 52)} {'rows':>10} {'seconds':>8} {'peak RSS MB':>12}"
    print(head)
    print("-" * len(head))
    total = 0.0
    for s in steps:
        print(f"{_pad(s['step'], 52)} {s['rows']:>10,} {s['seconds']:>8} {s['peak_mb']:>12}")
        if "不计入" not in s["step"]:
            total += s["seconds"]
    print(f"total (the bank's side apart): {total:.1f} s; load average "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
