"""Claims at a city's size: submitting a claim (the materials check and the engine's
computation), approving it (the recomputation under the member's lock), the reviewer's work
queue page, and a payout batch of 10,000 claims, at N members and M past claims, on
SQLite and PostgreSQL.

    .venv/bin/python bench/bench_claims.py [--members 1000000] [--claims 500000]
        [--submits 200] [--batch 10000] [--db sqlite|postgresql|both] [--repeat 10]
        [--quiet-load 1.5] [--profile]

Targets (issue 10): submit under 150 ms median on PostgreSQL; the work queue under
200 ms; a payout batch of 10,000 claims built and exported under 10 s.

The city is bench_coverage.py's (1 city union, 10 districts, 200 grassroots unions, 2,000
units, N members, 80 % active), built the same way and kept the same way: a SQLite file
copied for each run, and a PostgreSQL cluster whose built database is the template of
each run's. On top of it, Changchun's free scheme (``changchun-2023``) at the city, with
the past claims written in bulk (COPY on PostgreSQL, executemany on SQLite): M claims
from 2023 on, most paid (30 % of them by 20,000 members who claim often, the diagnosis mix
and the duplicate invoices of bench_claims_queue.py), ``--batch`` approved claims ready
for a payout batch (their members with bank accounts), and 10,000 open claims in the
queues. Each run then files ``--submits`` hospital claims through the intake service,
for members of one district who claim often (so the engine reads their prior payouts), adds
their materials and times, one claim at a time, ``submit`` (the clerk), ``first_pass``
(a district reviewer) and ``approve`` (a second reviewer). The queue page is fetched by
Django's test client as a district and a city reviewer, plain and with each signal
filter. With --quiet-load each timed step waits until the 1-minute load average is below
that; the table shows the load each step ran at.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "claims-bench"
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

import bench_claims_queue  # noqa: E402  (the claim mix of the queue bench)
import bench_coverage  # noqa: E402  (the city, and the kept SQLite file / PostgreSQL template)

SCHEME_CODE = "bench-changchun"
OPEN_CLAIMS = 10_000
TARGETS = {"submit": 0.150, "queue": 0.200, "queue_city": 0.200, "batch_total": 10.0}
SECONDS = {"build_batch", "export_xlsx", "export_csv", "batch_total", "mark_paid"}
for _code in ("overlap", "invoice", "readmission", "unusual_amount"):
    TARGETS[f"queue_{_code}"] = 0.200


# ---------------------------------------------------------------- the parent: a table

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=500_000, help="past claims")
    parser.add_argument("--submits", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10_000, help="claims in the payout batch")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--quiet-load", type=float, default=None, metavar="LOAD")
    parser.add_argument("--max-wait", type=float, default=600, metavar="S")
    parser.add_argument("--profile", action="store_true",
                        help="write cProfiles of submit and approve to bench/out/claims-bench/")
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        results = ClaimsRun(args).run()
        Path(args.child).write_text(json.dumps(results))
        return 0
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {}
    for kind in kinds:
        with tempfile.NamedTemporaryFile(suffix=".json") as handle:
            command = [sys.executable, __file__, "--db", kind, "--child", handle.name]
            for name in ("members", "claims", "submits", "batch", "repeat", "max_wait"):
                command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            if args.quiet_load is not None:
                command += ["--quiet-load", str(args.quiet_load)]
            if args.profile:
                command.append("--profile")
            done = subprocess.run(command)
            if done.returncode:
                print(f"{kind}: the run failed (exit {done.returncode})", file=sys.stderr)
                return done.returncode
            results[kind] = json.loads(Path(handle.name).read_text())
    print_table(args, results)
    return 0


ROWS = [
    # key, label
    ("file", "file_claim (intake service), median"),
    ("submit", "submit: materials + engine (median)"),
    ("submit_p95", "  p95"),
    ("submit_queries", "  queries per submit"),
    ("first_pass", "first_pass, median"),
    ("approve", "approve: recompute under member lock (median)"),
    ("approve_p95", "  p95"),
    ("queue", "queue page /claims/, district reviewer (median)"),
    ("queue_overlap", "  ?flag=overlap"),
    ("queue_invoice", "  ?flag=invoice"),
    ("queue_readmission", "  ?flag=readmission"),
    ("queue_unusual_amount", "  ?flag=unusual_amount"),
    ("queue_city", "queue page /claims/, city reviewer (median)"),
    ("queue_city_max", "  slowest of the repeats"),
    ("claim_page", "claim page /claims/<id>/, reviewer (median)"),
    ("build_batch", "payout batch: build_batch"),
    ("export_xlsx", "  export_batch xlsx (full accounts)"),
    ("export_csv", "  export_batch csv (full accounts)"),
    ("batch_total", "  built and exported"),
    ("mark_paid", "  mark_paid (ledger, SMS)"),
]


def print_table(args, results: dict) -> None:
    kinds = list(results)
    facts = results[kinds[0]]["facts"]
    print(f"\nclaims at {args.members:,} members, {facts['past']:,} past claims "
          f"(+ {facts['ready']:,} approved, {OPEN_CLAIMS:,} open), changchun-2023 at the city; "
          f"{args.submits} submits; {os.cpu_count()} cores\n")
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    header = f"{'step':<50}{'target':>9}"
    for kind in kinds:
        header += f"{names[kind]:>12}{'load':>6}"
    print(header)
    print("-" * len(header))
    for key, label in ROWS:
        target = TARGETS.get(key)
        shown = "" if target is None else (f"< {target * 1000:.0f} ms" if target < 1
                                           else f"< {target:.0f} s")
        line = f"{label:<50}{shown:>9}"
        for kind in kinds:
            value, load = results[kind]["rows"].get(key, (None, None))
            if value is None:
                text = "—"
            elif key.endswith("_queries"):
                text = f"{value:.0f}"
            elif key in SECONDS:
                text = f"{value:.2f} s"
            else:
                text = f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"
            if target is not None and value is not None and value > target:
                text += " !"
            line += f"{text:>12}{'' if load is None else f'{load:.1f}':>6}"
        print(line)
    print()
    for kind in kinds:
        f = results[kind]["facts"]
        print(f"{names[kind]}: {f['version']}; city {f['city']}; submitters' prior claims "
              f"{f['prior_min']}–{f['prior_max']} (median {f['prior_median']}); "
              f"{f['second_review']} of {f['submitted']} went to second review; batch of "
              f"{f['batch']:,} payouts; queue: district {f['queue_rows']:,}, city "
              f"{f['queue_city_rows']:,} claims, {f['queue_queries']} queries per page")
    loads = [load for r in results.values() for _, load in r["rows"].values()
             if load is not None]
    print(f"1-minute load average at the timed steps: {min(loads):.1f} to {max(loads):.1f} "
          f"on {os.cpu_count()} cores (the run itself adds about 1; ! = target missed)")


# ---------------------------------------------------------------- the child: one database

class ClaimsRun(bench_coverage.Run):
    """bench_coverage's run (its kept city, its timing helpers), with the claims."""

    def __init__(self, args) -> None:
        # Kept apart from bench_coverage's own city: this one carries the claims.
        bench_coverage.OUT = OUT / f"claims-{args.claims}-batch-{args.batch}"
        super().__init__(args)
        self.facts = {"members": args.members}

    def run(self) -> dict:
        """bench_coverage throws its keys away each run; the kept claims hold sealed bank
        accounts (the payout batch unseals them), so the keys are kept beside the data."""
        from huzhu.config import secrets

        stored = bench_coverage.OUT / "keys.json"
        stored.parent.mkdir(parents=True, exist_ok=True)
        if not stored.exists():
            stored.write_text(json.dumps(secrets.new_keys()))
            stored.chmod(0o600)
        keys = json.loads(stored.read_text())
        secrets.new_keys = lambda: dict(keys)
        return super().run()

    def _prepare(self, built: bool) -> None:
        if not built:
            city = bench_coverage.build_city

            def city_and_claims(members, say):
                city(members, say)
                started = time.perf_counter()
                build_claims(self.args.claims, self.args.batch, say)
                say(f"built the claims in {time.perf_counter() - started:.0f} s")

            bench_coverage.build_city = city_and_claims
        try:
            super()._prepare(built)
        finally:
            if not built:
                bench_coverage.build_city = city

    def times(self, key: str, values: list[float], load: float) -> None:
        values = sorted(values)
        self.rows[key] = (statistics.median(values), load)
        self.rows[f"{key}_p95"] = (values[max(0, round(len(values) * 0.95) - 1)], load)
        self.say(f"{key}: median {statistics.median(values) * 1000:.1f} ms, "
                 f"p95 {self.rows[f'{key}_p95'][0] * 1000:.1f} ms over {len(values)}")

    def repeated(self, key: str, fn, repeat: int) -> None:
        fn()  # warm the caches once
        load = self.wait_quiet()
        spent = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - started)
        load = max(load, os.getloadavg()[0])
        self.rows[key] = (statistics.median(spent), load)
        self.rows[f"{key}_max"] = (max(spent), load)
        self.say(f"{key}: median {statistics.median(spent) * 1000:.0f} ms")

    def _bench(self) -> None:
        from huzhu.claims.models import Claim
        from huzhu.coverage.models import Scheme
        from huzhu.orgs.models import User

        self.users = {u.username: u for u in User.objects.filter(username__startswith="b_")}
        self.scheme = Scheme.objects.get(code=SCHEME_CODE)
        self.facts["past"] = Claim.objects.filter(number__startswith="B").count() - \
            OPEN_CLAIMS - self.args.batch
        self.facts["ready"] = self.args.batch
        self._queue()
        self._payouts()
        self._submit_and_approve()

    # ------------------------------------------------------------ the queue page

    def _queue(self) -> None:
        from django.db import connection
        from django.test import Client
        from django.urls import reverse

        from huzhu.claims import queue
        from huzhu.claims.flags import FLAG_LABELS

        url = reverse("claims:queue")
        for who, prefix in (("b_rev1", "queue"), ("b_rev_city", "queue_city")):
            client = Client()
            client.force_login(self.users[who])

            def get(params=None, client=client):
                def fetch():
                    response = client.get(url, params or {})
                    assert response.status_code == 200, response.status_code
                return fetch

            self.repeated(prefix, get(), self.args.repeat)
            f = queue.QueueFilter.from_params(self.users[who], {})
            self.facts[f"{prefix}_rows"] = queue.filtered(self.users[who], f).count()
            if prefix == "queue":
                with bench_coverage.counting(connection) as queries:
                    get()()
                self.facts["queue_queries"] = len(queries)
                for code in FLAG_LABELS:
                    self.repeated(f"queue_{code}", get({"flag": code}), self.args.repeat)

    # ------------------------------------------------------------ payouts

    def _payouts(self) -> None:
        from huzhu.claims import payouts

        finance = self.users["b_finance"]
        purpose = "基准测试：报送银行代发"
        batch = self.timed("build_batch", payouts.build_batch, finance, self.scheme)
        self.facts["batch"] = batch.payouts.count()
        self.timed("export_xlsx", payouts.export_batch, finance, batch, "xlsx", full=True,
                   purpose=purpose)
        self.timed("export_csv", payouts.export_batch, finance, batch, "csv", full=True,
                   purpose=purpose)
        total = sum(self.rows[k][0] for k in ("build_batch", "export_xlsx", "export_csv"))
        self.rows["batch_total"] = (total, max(self.rows[k][1] for k in (
            "build_batch", "export_xlsx", "export_csv")))
        self.timed("mark_paid", payouts.mark_paid, finance, batch, dt.date.today())

    # ------------------------------------------------------------ submit and approve

    def _submit_and_approve(self) -> None:
        from django.db import connection
        from django.db.models import Count, Q

        from huzhu.claims import intake, workflow
        from huzhu.claims.materials.required import missing
        from huzhu.claims.models import Claim, ClaimMaterial
        from huzhu.members.models import Member

        clerk, rev1, rev2 = (self.users[n] for n in ("b_clerk", "b_rev1", "b_rev2"))
        n = self.args.submits
        members = list(
            Member.objects.filter(union__path__startswith=clerk.union.path, status="active",
                                  birth_date__gt=dt.date(1967, 1, 1))
            .annotate(prior=Count("claims", filter=Q(claims__state__in=Claim.GIVEN)))
            .filter(prior__gt=0).order_by("-prior", "id")[:n])
        priors = sorted(m.prior for m in members)
        self.facts.update(prior_min=priors[0], prior_max=priors[-1],
                          prior_median=priors[len(priors) // 2])
        rng = random.Random(5)
        day = dt.date.today() - dt.timedelta(days=10)
        drafts, filing = [], []
        for i, member in enumerate(members):
            offer = next(o for o in intake.offers(member, day) if o.benefit.code == "hospital")
            stay = rng.randrange(2, 20)
            started = time.perf_counter()
            claim = intake.file_claim(clerk, member, offer, {
                "event_date": day, "admit_date": day - dt.timedelta(days=stay),
                "days": stay, "hospital": "基准市第一人民医院",
                "out_of_pocket": Decimal(rng.randrange(6_000, 250_000)).quantize(
                    Decimal("0.01")),
                "diagnosis": rng.choice(["I21.9", "C50.9", "K35.8", "J18.9", "S72.0"]),
                "invoice_number": f"BENCH{day:%Y%m%d}{i:05d}"})
            filing.append(time.perf_counter() - started)
            ClaimMaterial.objects.bulk_create([
                ClaimMaterial(claim=claim, kind=kind, file_name=f"{kind}.pdf",
                              stored_path="/nonexistent", content_type="application/pdf",
                              size=1, sha256="0" * 64, uploaded_by=clerk)
                for kind in missing(claim)])
            drafts.append(claim.pk)
        self.rows["file"] = (statistics.median(filing), os.getloadavg()[0])

        def each(name: str, user, ids: list[int], key: str) -> list[int]:
            load = self.wait_quiet()
            profile = None
            if self.args.profile:
                import cProfile

                profile = cProfile.Profile()
            spent, done = [], []
            for pk in ids:
                if profile is not None:
                    profile.enable()
                started = time.perf_counter()
                claim = workflow.apply(user, pk, name)
                spent.append(time.perf_counter() - started)
                if profile is not None:
                    profile.disable()
                done.append(claim)
            if profile is not None:
                profile.dump_stats(OUT / f"{name}-{self.kind}.prof")
            self.times(key, spent, max(load, os.getloadavg()[0]))
            return done

        with bench_coverage.counting(connection) as queries:
            workflow.apply(clerk, drafts[0], "submit")
        self.rows["submit_queries"] = (len(queries), None)
        each("submit", clerk, drafts[1:], "submit")
        passed = each("first_pass", rev1, drafts, "first_pass")
        self.rows.pop("first_pass_p95")
        second = [c.pk for c in passed if c.state == Claim.State.SECOND_REVIEW]
        self.facts.update(submitted=len(drafts), second_review=len(second))
        self._claim_page(rev2, second[0])
        each("approve", rev2, second, "approve")

    def _claim_page(self, user, claim_id: int) -> None:
        """What the second reviewer opens before approving: materials, computation,
        history, signals and the allowed steps."""
        from django.test import Client
        from django.urls import reverse

        client = Client()
        client.force_login(user)
        url = reverse("claims:detail", args=[claim_id])

        def fetch():
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        self.repeated("claim_page", fetch, self.args.repeat)


# ---------------------------------------------------------------- the claims

def build_claims(past: int, ready: int, say) -> None:
    """Changchun's free scheme at the city, its staff, and the claims, in bulk."""
    from django.db import connection, transaction

    from huzhu.claims.models import Claim
    from huzhu.coverage import schemes
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, User

    city = Union.objects.get(code="C")
    district = Union.objects.get(code="D00")
    admin = User.objects.get(username="b_admin")
    User.objects.create_user("b_clerk", password="x", role="clerk", union=district)
    User.objects.create_user("b_rev1", password="x", role="reviewer", union=district)
    User.objects.create_user("b_rev2", password="x", role="reviewer", union=district)
    User.objects.create_user("b_rev_city", password="x", role="reviewer", union=city)
    scheme = schemes.create_scheme(admin, union=city, policy_name="changchun-2023",
                                   code=SCHEME_CODE)
    year = dt.date.today().year
    schemes.create_period(admin, scheme, name=f"{year}年", start=dt.date(year, 1, 1),
                          end=dt.date(year, 12, 31), premium=Decimal("0"),
                          enrol_from=dt.date(year, 1, 1), enrol_until=dt.date(year, 12, 31))

    rng = random.Random(bench_claims_queue.BUILD_SEED)
    ids = list(Member.objects.order_by("id").values_list("id", flat=True))
    low, high = ids[0], ids[-1]
    # Those who claim often: 20,000 of the city, 500 of them in the clerk's district (the
    # members the timed submits are for, so the engine reads their prior payouts).
    local = list(Member.objects.filter(union__path__startswith=district.path, status="active",
                                       birth_date__gt=dt.date(1967, 1, 1))
                 .order_by("id").values_list("id", flat=True)[:500])
    frequent = local + [rng.randint(low, high) for _ in range(20_000 - len(local))]
    weights = [1 / (rank + 1) for rank in range(len(bench_claims_queue.CATEGORIES))]
    fields = [f for f in Claim._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: _default(f) for f in fields}
    defaults |= {"scheme_id": scheme.pk, "filed_by_id": User.objects.get(username="b_clerk").pk,
                 "created_at": "2026-01-01 00:00:00", "updated_at": "2026-01-01 00:00:00"}
    invoices: list[str] = []
    ready_members = rng.sample(ids, ready)

    def rows():
        for i in range(past + ready + OPEN_CLAIMS):
            row = bench_claims_queue._claim(rng, i, i >= past + ready, low, high, frequent,
                                            weights, invoices)
            if i < past and row["state"] in ("approved", "in_batch"):
                row["state"] = "paid"  # the only claims ready for a batch are the next ones
            if past <= i < past + ready:  # approved, waiting for the payout batch
                money = Decimal(rng.randrange(100_00, 20_000_00)) / 100
                row |= {"state": "approved", "member_id": ready_members[i - past],
                        "computed": money, "final": money,
                        "approved_at": f"{dt.date.today()} 09:00:00"}
            if row["benefit"] == "hospital" and row["computed"] is not None:
                row["out_of_pocket"] = (row["computed"] * 40).quantize(Decimal("0.01"))
            elif row["benefit"] == "accident":
                row["outcome"], row["work_related"] = "fracture", False
                row["fracture_site"] = "major" if row["computed"] == 2000 else "other"
            if row["state"] == "paid":
                row["paid_at"] = row["approved_at"].replace("10:00", "16:00")
            yield [row.get(f.attname, defaults[f.attname]) for f in fields]

    table, columns = Claim._meta.db_table, [f.column for f in fields]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
                   f"VALUES ({', '.join(['%s'] * len(columns))})")
            batch = []
            for row in rows():
                batch.append([str(v) if isinstance(v, Decimal) else v for v in row])
                if len(batch) == 20_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
    say(f"{past + ready + OPEN_CLAIMS:,} claims inserted")
    # Bank accounts for the members whose claims are ready (build_batch leaves out members
    # without one) and for the submitters.
    with transaction.atomic():
        wanted = Member.objects.filter(pk__in=set(ready_members) | set(local))
        changed = []
        for m in wanted.only("id").iterator(chunk_size=5000):
            m.set_bank_account(f"6222{m.pk:015d}")
            changed.append(m)
        Member.objects.bulk_update(changed, ["bank_account_sealed", "bank_account_hash",
                                             "bank_last4"], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    from huzhu.claims import usual_amounts as norms

    norms.refresh()  # the usual amounts, as the 10-minute job keeps them


def _default(field):
    """A column's default as COPY and executemany take it (JSON as its text)."""
    value = field.get_default()
    if field.get_internal_type() == "JSONField":
        return json.dumps(value)
    return value


if __name__ == "__main__":
    sys.exit(main())
