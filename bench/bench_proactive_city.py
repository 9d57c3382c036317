"""免申即享 to the bank at city scale on PostgreSQL, in one chain: a city of N members
(every one with a bank account and a mobile number) and a feed of N settlement rows →
``huzhu feed run`` → a 1% sample drawn → the sample approved → the rest approved in one
decision → payout batches built (per paying union, at most 50,000 each) → every batch's
bank file written → the bank's result file of every batch, 1% failed, reconciled → a
second reconcile of one file (changes nothing) → ``huzhu ledger check`` and the money
audit. Prints a table: step, rows, seconds, peak RSS of the step, and the total.

The people's review of the sample is not measured: the sampled claims are set approved
for the run's amount by one UPDATE, as 初审 and 复审 by two people would leave them (as
``bench_proactive_review.py`` does). The bank's side (reading each bank file and writing
its result file) is timed apart and not counted.

Reuses, by import, ``bench_feeds.py``'s feed generator and throwaway PostgreSQL server,
``bench_payouts_city.py``'s registry builder (members with sealed bank accounts, by
COPY) and its per-step peak-memory meter, ``bench_feed_run.py``'s timed feed run and
``bench_proactive_review.py``'s people and column defaults; its files live under
``bench/out/proactive_city/`` (the server is kept for the next run; ``--rebuild`` starts
over). The timed steps run in a fresh process through the same services as
``huzhu feed run``, ``huzhu proactive sample|approve`` and ``huzhu payouts
build|file|reconcile``.

    .venv/bin/python bench/bench_proactive_city.py [--members 1000000] [--rows 1000000]

``BENCH_PROFILE=reconcile`` prints a cProfile of the step whose name holds that word.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_feed_run as feed_run  # noqa: E402  (the timed feed run)
import bench_feeds as city  # noqa: E402  (feed files, PostgreSQL server, keys)
import bench_payouts_city as payouts_city  # noqa: E402  (members with bank accounts, Peak)
import bench_proactive_review as review_bench  # noqa: E402  (reviewers, column defaults)

OUT = ROOT / "bench" / "out" / "proactive_city"
city.OUT = OUT
feed_run.OUT = OUT
review_bench.OUT = OUT
payouts_city.OUT = OUT
FAIL_SHARE = 0.01
PROFILE = os.environ.get("BENCH_PROFILE", "")  # cProfile the step whose name holds this


def build(members: int) -> None:
    """The registry (once per server), the scheme the feed runs under, two reviewers and
    a finance officer at the city's node."""
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, User

    review_bench.column_defaults()
    if Member.objects.count() != members:
        started = time.perf_counter()
        payouts_city._members(members)
        print(f"built {members:,} members in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    feed_run.prepare_scheme()
    review_bench.prepare_people()
    root = Union.objects.get(parent__isnull=True)
    User.objects.get_or_create(username="bench_finance", defaults={"role": "finance",
                                                                  "union": root})


def reset() -> None:
    """A run on the kept database starts over: no claims, payouts, ledger or outbox."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE claims_payout, claims_payoutbatch CASCADE")
        # The ledger refuses deletes by trigger (append-only); a throwaway database may.
        cursor.execute("ALTER TABLE coverage_ledgerentry DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM coverage_ledgerentry")
        cursor.execute("ALTER TABLE coverage_ledgerentry ENABLE TRIGGER USER")
    review_bench.reset()


def timed_steps(feed_path: Path, files_dir: Path) -> list[dict]:
    from django.db import connection
    from django.db.models import Count, F
    from django.utils import timezone

    from huzhu.claims import money_audit
    from huzhu.claims.models import Claim, Payout
    from huzhu.claims.payouts import build as payout_build
    from huzhu.claims.payouts import files, reconcile
    from huzhu.coverage import ledger
    from huzhu.feeds.models.proactive import BatchRun, ProactiveSampleClaim
    from huzhu.feeds.proactive import review
    from huzhu.orgs.models import User

    users = {u.username: u for u in User.objects.select_related("union").filter(
        username__in=("bench_reviewer1", "bench_reviewer2", "bench_finance"))}
    steps: list[dict] = []

    def step(name: str, fn: Callable[[], tuple[int, object]], counted: bool = True) -> object:
        with payouts_city.Peak() as peak:
            started = time.perf_counter()
            if PROFILE and PROFILE in name:
                import cProfile
                import pstats

                profile = cProfile.Profile()
                rows, result = profile.runcall(fn)
                pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
            else:
                rows, result = fn()
            seconds = time.perf_counter() - started
        steps.append({"step": name, "rows": rows, "seconds": round(seconds, 1),
                      "peak_mb": round(peak.mb), "counted": counted})
        print(f"{name}: {rows:,} rows, {seconds:.1f} s, {peak.mb:.0f} MB", file=sys.stderr)
        return result

    def feed():
        result = feed_run.measure(feed_path, "duckdb", False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return result["rows"], result

    fed = step("huzhu feed run（导入结算数据并测算）", feed)
    run = BatchRun.objects.select_related("scheme__union", "union", "feed").latest("pk")
    print(f"feed run: {fed['counts']}", file=sys.stderr)

    def sample():
        drawn = review.draw(users["bench_reviewer1"], run, percent="1", seed=20261208)
        return drawn.size, drawn

    drawn = step("huzhu proactive sample（1% 抽样）", sample)

    def shortcut():
        # The people's review, not measured: one set-based UPDATE, as two reviewers'
        # 初审 and 复审 of each sampled claim would leave it (approved at its amount).
        sampled = ProactiveSampleClaim.objects.filter(sample=drawn).values("claim_id")
        n = Claim.objects.filter(pk__in=sampled).update(
            state=Claim.State.APPROVED, final=F("computed"), approved_at=timezone.now())
        return n, None

    step("（捷径）样本按原金额一次置为已审批，不计入", shortcut, counted=False)

    def approve():
        decision = review.approve(users["bench_reviewer2"], run)
        if decision.refusal:
            raise SystemExit(f"approve refused: {decision.refusal}")
        return decision.approved, decision

    step("huzhu proactive approve（其余直通理赔一次核准）", approve)

    def build_all():
        built = payout_build.build_batches(users["bench_finance"], run.scheme)
        return Payout.objects.count(), built.batches

    batches = step("huzhu payouts build（每批至多 50,000 笔）", build_all)

    def write_all():
        written = []
        for batch in batches:
            data = files.write_bank_file(users["bench_finance"], batch, "csv",
                                         encoding="gbk")
            path = files_dir / f"{batch.number}.csv"
            path.write_bytes(data)
            written.append(path)
        return Payout.objects.count(), written

    written = step(f"huzhu payouts file（{len(batches)} 个，CSV，GBK）", write_all)

    def bank_side():
        """What the bank sends back: every row of each file by its 序号, 1% failed."""
        rng = random.Random(101)
        results, n = [], 0
        today = timezone.localdate().isoformat()
        for path in written:
            rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"))))
            head, body = rows[0], [r for r in rows[1:] if r and r[0].isdigit()]
            seq, amount = head.index("序号"), next(i for i, h in enumerate(head)
                                                  if h.startswith("金额"))
            out = io.StringIO()
            w = csv.writer(out)
            w.writerow(["序号", "交易金额", "交易日期", "处理结果", "失败原因"])
            for row in body:
                failed = rng.random() < FAIL_SHARE
                w.writerow([row[seq], row[amount], today, "失败" if failed else "成功",
                            "账户不存在" if failed else ""])
                n += 1
            result = path.with_name(path.stem + "-回盘.csv")
            result.write_bytes(out.getvalue().encode("gbk"))
            results.append(result)
        return n, results

    results = step("（银行方）生成回盘文件，不计入", bank_side, counted=False)

    def reconcile_all():
        n = 0
        for batch, path in zip(batches, results, strict=True):
            plan = reconcile.reconcile(users["bench_finance"], batch, path.read_bytes(),
                                       path.name)
            n += len(plan.moves)
        return n, None

    step("huzhu payouts reconcile（1% 失败）", reconcile_all)

    def again():
        plan = reconcile.reconcile(users["bench_finance"], batches[0], results[0].read_bytes(),
                                   results[0].name)
        if not plan.changes_nothing:
            raise SystemExit("a second reconcile of the same file changed something")
        return plan.unchanged, None

    step("同一回盘文件再次核对（不变更）", again)

    def check():
        checks = ledger.check_all()
        bad = [c.detail for c in checks if not c.ok]
        if bad:
            raise SystemExit(f"huzhu ledger check: {bad}")
        return len(checks), None

    step("huzhu ledger check", check)

    def audit():
        checks = money_audit.run()
        bad = [c for c in checks if not c.ok]
        if bad:
            raise SystemExit(f"huzhu audit money: {bad}")
        return Claim.objects.count(), None

    step("huzhu audit money", audit)
    counts = dict(Payout.objects.values_list("state").annotate(n=Count("pk")).order_by())
    print(f"payouts by state: {counts}", file=sys.stderr)
    return steps


def child(args: argparse.Namespace) -> int:
    os.environ["HUZHU_VAR_DIR"] = str(OUT / "var")
    city.django_setup(args.database_url)
    if args.child == "build":
        build(args.members)
        return 0
    if args.child == "reset":
        reset()
        return 0
    files_dir = OUT / "files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    files_dir.mkdir(parents=True)
    print(json.dumps(timed_steps(Path(args.file), files_dir)))
    return 0


def spawn(url: str, *extra: str) -> str:
    command = [sys.executable, __file__, "--database-url", url, *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr[-6000:])
    if done.returncode:
        raise SystemExit(f"{' '.join(extra)} failed")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--matched", type=float, default=0.9)
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
        steps = json.loads(spawn(url, "--child", "run", "--file", str(path)
                                 ).strip().splitlines()[-1])
    finally:
        server._run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
    (OUT / "results.json").write_text(json.dumps(steps, indent=1, ensure_ascii=False))
    print(f"免申即享 to the bank on PostgreSQL: {args.members:,} members, a feed of "
          f"{args.rows:,} rows ({args.matched:.0%} matched)")
    head = f"{payouts_city._pad('step', 52)} {'rows':>10} {'seconds':>8} {'peak RSS MB':>12}"
    print(head)
    print("-" * len(head))
    total = 0.0
    for s in steps:
        print(f"{payouts_city._pad(s['step'], 52)} {s['rows']:>10,} {s['seconds']:>8} "
              f"{s['peak_mb']:>12}")
        if s["counted"]:
            total += s["seconds"]
    print(f"total (the people's review and the bank's side apart): {total:.1f} s; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
