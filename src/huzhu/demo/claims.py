"""Demo steps for claims: claims in every state under both schemes, a few that raise
reviewers' signals, and a paid payout batch, so that reviewers and finance have real work
on their first login."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from huzhu.claims import duplicates, intake, payouts
from huzhu.claims.materials.required import missing
from huzhu.claims.materials.store import save_material
from huzhu.claims.models import Claim
from huzhu.claims.payouts import files
from huzhu.claims.workflow import ClaimRefused, apply
from huzhu.coverage.models import Scheme
from huzhu.demo.base import DemoContext, Step
from huzhu.members.models import Member
from huzhu.rules.schema import MATERIALS

D = dt.date
# A one-page PDF, valid enough for the content check: what a scanned invoice would be.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
# Which state each demo claim is left in, and how many of them.
PLAN = [("draft", 4), ("submitted", 6), ("second_review", 4), ("returned", 2),
        ("rejected", 2), ("withdrawn", 1), ("approved", 6), ("paid", 8)]


@contextmanager
def _clock(day: dt.date) -> Iterator[None]:
    """The demo pictures its city on ``ctx.as_of``: claims are filed, reviewed and paid on
    days of that world (filing deadlines and cycle times count from them), not on the day
    the demo happens to be generated."""
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def make_claims(ctx: DemoContext) -> int:
    rng = ctx.rng("claims")
    clerk, reviewer = ctx.staff["clerk"], ctx.staff["reviewer"]
    members = list(Member.objects.filter(union=clerk.union, status="active")
                   .order_by("id")[:60])
    ctx.progress.start("理赔", sum(n for _, n in PLAN))
    made = []
    for state, count in PLAN:
        for _ in range(count):
            member = rng.choice(members)
            day = D(2026, 2, 1) + dt.timedelta(days=rng.randint(0, 125))
            with _clock(day):
                claim = _file(rng, clerk, member, intake, day)
            if claim is None:
                continue
            _advance(claim, state, clerk, reviewer, ctx, rng)
            made.append(claim.pk)
            ctx.progress.advance()
    _signals(rng, clerk, members, intake)
    ctx.extra["claims"] = made
    return len(made)


def _file(rng: random.Random, clerk, member, intake, day: dt.date):
    offers = [o for o in intake.offers(member, day) if o.benefit.code in (
        "hospital", "hospital_aid", "hospital_allowance")]
    if not offers:
        return None
    offer = rng.choice(offers)
    stay = rng.randint(3, 20)
    cost = Decimal(rng.choice([6800, 9200, 15600, 28400, 62000, 135000])) + \
        Decimal(rng.randint(0, 99)) / 100
    claim = intake.file_claim(clerk, member, offer, {
        "event_date": day, "admit_date": day - dt.timedelta(days=stay), "days": stay,
        "out_of_pocket": cost, "diagnosis": rng.choice(["I21.9", "J18.9", "K80.2", "I63.9",
                                                        "S72.0", "C34.9"]),
        "hospital": rng.choice(["吉林大学第一医院", "长春市中心医院", "吉林省人民医院",
                                "长春市朝阳区中医院"]),
        "invoice_number": f"22010{rng.randint(10**8, 10**9 - 1)}"})
    _attach_materials(claim, clerk)
    return claim


def _attach_materials(claim, user) -> None:
    # Named as a clerk's scanner names them: 发票.pdf, 出院小结.pdf …
    for i, kind in enumerate(missing(claim)):
        save_material(user, claim, kind, SimpleUploadedFile(
            f"{MATERIALS[kind]}.pdf", PDF + f"%{claim.pk}-{i}\n".encode()))


def _advance(claim, state: str, clerk, reviewer, ctx: DemoContext, rng) -> None:
    steps = {
        "draft": [], "submitted": ["submit"], "second_review": ["submit", "first_pass"],
        "returned": ["submit", "return"], "rejected": ["submit", "reject"],
        "withdrawn": ["withdraw"], "approved": ["submit", "first_pass", "approve"],
        "paid": ["submit", "first_pass", "approve"],
    }[state]
    who = {"submit": clerk, "withdraw": clerk, "first_pass": reviewer, "return": reviewer,
           "reject": reviewer, "approve": ctx.staff["admin"]}
    extra = {"return": {"missing": ["invoice"], "note": "发票复印件不清晰，请补交原件照片"},
             "reject": {"reject_code": "not_covered", "note": "门诊费用不属于住院补贴范围"},
             "withdraw": {"note": "会员决定暂不申请"}}
    day = claim.event_date
    for step in steps:
        # A few days between steps, as a union's week goes; never past the demo's today.
        day = min(day + dt.timedelta(days=rng.randint(1, 6)), ctx.as_of - dt.timedelta(days=2))
        try:
            with _clock(day):
                apply(who[step], claim.pk, step, **extra.get(step, {}))
        except ClaimRefused:
            return  # e.g. below the threshold at approval: left where it stopped


def _signals(rng, clerk, members, intake) -> None:
    """A stay split in two within a week, and an invoice number used twice."""
    member, day = members[0], D(2026, 5, 18)
    with _clock(day + dt.timedelta(days=12)):
        first = _file(rng, clerk, member, intake, day)
        again = _file(rng, clerk, member, intake, day)
        if first is None or again is None:
            return
        Claim.objects.filter(pk=again.pk).update(
            admit_date=first.event_date + dt.timedelta(days=3),
            event_date=first.event_date + dt.timedelta(days=9), diagnosis=first.diagnosis,
            invoice_number=first.invoice_number)
        for claim in (first, again):
            apply(clerk, claim.pk, "submit")


def pay_a_batch(ctx: DemoContext) -> int:
    finance = ctx.staff["finance"]
    paid = 0
    for scheme_id in set(Claim.objects.filter(state="approved").values_list("scheme_id",
                                                                             flat=True)):
        # Finance can pay only members whose bank account is registered.
        # ... and none the duplicate rule holds back (a later overlapping claim).
        wanted = [c.pk for c in Claim.objects.filter(
            scheme_id=scheme_id, state="approved", member__bank_account_hash__isnull=False)
            .order_by("id")[:20] if duplicates.refusal(c) is None][:8]
        if not wanted:
            continue
        with _clock(ctx.as_of - dt.timedelta(days=1)):
            batch = payouts.build_batch(finance, Scheme.objects.get(pk=scheme_id),
                                        claim_ids=wanted)
            # As the bank file does (numbering its rows): each payout records the account
            # it goes to, which the member's page names by its last four digits.
            files.number_rows(batch)
            paid += payouts.mark_paid(finance, batch, ctx.as_of - dt.timedelta(days=1))
    return paid


STEPS = [
    Step("claims", "理赔", make_claims),
    Step("payouts", "给付", pay_a_batch),
]
