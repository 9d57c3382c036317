"""Demo steps for claims: claims in every state under both schemes, a few that raise
reviewers' signals, and a paid payout batch, so that reviewers and finance have real work
on their first login."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from huzhu.demo.base import DemoContext, Step

D = dt.date
# A one-page PDF, valid enough for the content check: what a scanned invoice would be.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
# Which state each demo claim is left in, and how many of them.
PLAN = [("draft", 4), ("submitted", 6), ("second_review", 4), ("returned", 2),
        ("rejected", 2), ("withdrawn", 1), ("approved", 6), ("paid", 8)]


def make_claims(ctx: DemoContext) -> int:
    from huzhu.claims import intake
    from huzhu.members.models import Member

    rng = ctx.rng("claims")
    clerk, reviewer = ctx.staff["clerk"], ctx.staff["reviewer"]
    members = list(Member.objects.filter(union=clerk.union, status="active")
                   .order_by("id")[:60])
    ctx.progress.start("理赔", sum(n for _, n in PLAN))
    made = []
    for state, count in PLAN:
        for _ in range(count):
            member = rng.choice(members)
            claim = _file(rng, clerk, member, intake)
            if claim is None:
                continue
            _advance(claim, state, clerk, reviewer, ctx.staff["admin"], rng)
            made.append(claim.pk)
            ctx.progress.advance()
    _signals(rng, clerk, members, intake)
    ctx.extra["claims"] = made
    return len(made)


def _file(rng: random.Random, clerk, member, intake):
    day = D(2026, rng.randint(3, 6), rng.randint(1, 28))
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
    from django.core.files.uploadedfile import SimpleUploadedFile

    from huzhu.claims.material_store import save_material
    from huzhu.claims.materials import missing

    for i, kind in enumerate(missing(claim)):
        save_material(user, claim, kind,
                      SimpleUploadedFile(f"{kind}.pdf", PDF + f"%{claim.pk}-{i}\n".encode()))


def _advance(claim, state: str, clerk, reviewer, admin, rng) -> None:
    from huzhu.claims.workflow import ClaimRefused, apply

    steps = {
        "draft": [], "submitted": ["submit"], "second_review": ["submit", "first_pass"],
        "returned": ["submit", "return"], "rejected": ["submit", "reject"],
        "withdrawn": ["withdraw"], "approved": ["submit", "first_pass", "approve"],
        "paid": ["submit", "first_pass", "approve"],
    }[state]
    who = {"submit": clerk, "withdraw": clerk, "first_pass": reviewer, "return": reviewer,
           "reject": reviewer, "approve": admin}
    extra = {"return": {"missing": ["invoice"], "note": "发票复印件不清晰，请补交原件照片"},
             "reject": {"reject_code": "not_covered", "note": "门诊费用不属于住院补贴范围"},
             "withdraw": {"note": "会员决定暂不申请"}}
    for step in steps:
        try:
            apply(who[step], claim.pk, step, **extra.get(step, {}))
        except ClaimRefused:
            return  # e.g. below the threshold at approval: left where it stopped


def _signals(rng, clerk, members, intake) -> None:
    """A stay split in two within a week, and an invoice number used twice."""
    from huzhu.claims.models import Claim
    from huzhu.claims.workflow import apply

    member = members[0]
    first = _file(rng, clerk, member, intake)
    if first is None:
        return
    again = _file(rng, clerk, member, intake)
    if again is None:
        return
    Claim.objects.filter(pk=again.pk).update(
        admit_date=first.event_date + dt.timedelta(days=3),
        event_date=first.event_date + dt.timedelta(days=9), diagnosis=first.diagnosis,
        invoice_number=first.invoice_number)
    for claim in (first, again):
        apply(clerk, claim.pk, "submit")


def pay_a_batch(ctx: DemoContext) -> int:
    from huzhu.claims import payouts
    from huzhu.claims.models import Claim

    finance = ctx.staff["finance"]
    paid = 0
    for scheme_id in set(Claim.objects.filter(state="approved").values_list("scheme_id",
                                                                             flat=True)):
        wanted = list(Claim.objects.filter(scheme_id=scheme_id, state="approved")
                      .order_by("id").values_list("id", flat=True)[:8])
        from huzhu.coverage.models import Scheme

        batch = payouts.build_batch(finance, Scheme.objects.get(pk=scheme_id),
                                    claim_ids=wanted)
        paid += payouts.mark_paid(finance, batch, D(2026, 6, 20))
    return paid


STEPS = [
    Step("claims", "理赔", make_claims),
    Step("payouts", "给付", pay_a_batch),
]
