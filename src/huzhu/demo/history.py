"""Demo step: the city's past, month by month, from January 2025 to May 2026.

Each month the bureau's settlement data of the month's discharges arrives (imported as a
file, :func:`huzhu.feeds.importing.import_feed`), the admin runs 免申即享 under both schemes
(:func:`huzhu.feeds.proactive.run.execute`: one engine call, set-based writes), and the
claims go the way a union office takes them: submitted by the admin, a first review by
the member's district reviewer, the second by the city admin, then finance builds a
payout batch and marks it paid (:mod:`huzhu.claims.payouts`, set-based). So the
statistics have two years of paid claims across benefits, districts and tiers.

The review steps are the workflow's (:data:`huzhu.claims.workflow.TRANSITIONS`): each
claim passes ``workflow.why_not`` (role, scope, four eyes) and, to be approved, the
duplicate rule (:mod:`huzhu.claims.duplicates`); thousands of ``workflow.apply`` calls,
each recomputing its claim with the engine, took minutes, so the states move set-based
with the payouts' writers (:mod:`huzhu.claims.payouts.writes`) and each claim's history
row, audit entry and SMS are written as ``apply`` writes them.
No amount is made up here: every claim is given what the run's engine call computed
(the run counts everything given before it, and its own claims in event order, against
the caps; a claim left out only leaves more room for the others).

What stays open, as in an office: a claim whose member has no bank card on file waits in
免申即享待审核 for the card (the run's follow-up list names them), and a claim the
duplicate rule holds back waits in 待复审 for a reviewer's decision. The stays discharged
in June 2026 are in the demo's settlement file only (not imported: :mod:`.feeds`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db.models import Count, F, Max
from django.utils import timezone

from huzhu.audit.bulk import AuditRows
from huzhu.audit.models import AuditEntry
from huzhu.claims import duplicates, notifications, payouts, workflow
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.payouts import files
from huzhu.claims.payouts.writes import chunks, db_money, db_now, insert, move
from huzhu.demo import feeds
from huzhu.demo.base import DemoContext, Step
from huzhu.demo.claims import _attach_materials, _clock
from huzhu.feeds.importing import import_feed
from huzhu.feeds.models import Feed
from huzhu.feeds.models.proactive import StayOutcome
from huzhu.feeds.proactive.run import execute, start_run
from huzhu.notify.models import OutboxMessage
from huzhu.notify.outbox import Draft, enqueue_many
from huzhu.orgs.models import User
from huzhu.rules.money import yuan

S = Claim.State
FIRST_MONTH = dt.date(2025, 1, 1)
# Days after the month's data arrives (the 5th of the next month) for each step.
SUBMIT, FIRST, SECOND, BATCH, PAID = 1, 3, 6, 10, 12
_FETCH = ("member__union", "scheme")


def months(ctx: DemoContext) -> list[dt.date]:
    """The first day of each month whose discharges are history: from January 2025 to
    the last month whose claims are paid before the demo's day."""
    out, month = [], FIRST_MONTH
    while _next_month(month) + dt.timedelta(days=4 + PAID) < ctx.as_of:
        out.append(month)
        month = _next_month(month)
    return out


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def make_history(ctx: DemoContext) -> int:
    """The step: every month's import, runs, reviews and payouts; returns claims paid."""
    rows = ctx.extra.setdefault("feed_rows", feeds.demo_rows(ctx, ctx.rng("feeds")))
    schemes = ctx.extra["schemes"]
    reviewers = _district_reviewers(ctx)
    plan = months(ctx)
    ctx.progress.start("历史理赔", len(plan))
    paid = 0
    before = OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0
    for month in plan:
        month_rows = [r for r in rows if r["出院日期"].startswith(f"{month:%Y-%m}")]
        if month_rows:
            paid += _month(ctx, month, month_rows, schemes, reviewers)
        ctx.progress.advance()
    # The members were told at the time: the past's SMS are in the outbox as sent, not
    # thousands waiting for a newcomer's first `huzhu notify` (the demo's pending SMS
    # are today's: reminders and the latest steps).
    OutboxMessage.objects.filter(pk__gt=before, state=OutboxMessage.State.PENDING,
                                 kind__startswith="claims.").update(
        state=OutboxMessage.State.SENT, attempts=1, sent_at=F("created_at"))
    ctx.extra["history_paid"] = paid
    return paid


def _district_reviewers(ctx: DemoContext) -> dict[int, User]:
    """Each district's reviewer, by the district's id: the demo's ``reviewer`` for its own
    district; for the others a reviewer account of the past years that does not log in
    (one login per role: the demo's logins stay the five)."""
    own = ctx.staff["reviewer"]
    assert own.union_id is not None  # the demo's reviewer belongs to a district
    found: dict[int, User] = {own.union_id: own}
    for district in ctx.districts:
        if district.pk in found:
            continue
        found[district.pk] = User.objects.create(
            username=f"reviewer-{district.code}", role=User.Role.REVIEWER, union=district,
            display_name=f"{district.name.removesuffix('总工会')}审核员", is_active=False,
            password=make_password(None))
    return found


def _month(ctx: DemoContext, month: dt.date, rows: list[dict[str, Any]],
           schemes: dict[str, Any],
           reviewers: dict[int, User]) -> int:
    arrived = _next_month(month) + dt.timedelta(days=4)
    admin, finance = ctx.staff["admin"], ctx.staff["finance"]
    with _clock(arrived):
        feed = _import(rows, f"settlement-{month:%Y-%m}.csv", admin, arrived)
        runs = []
        for scheme in (schemes["free"], schemes["premium"]):
            run = start_run(feed, scheme, user=admin)
            execute(run)
            runs.append(run)
    paid = 0
    for run in runs:
        ids = list(StayOutcome.objects.filter(run=run, claim__isnull=False,
                                              outcome=StayOutcome.Outcome.PROPOSED)
                   .values_list("claim_id", flat=True))
        approved = _review(ctx, ids, arrived, reviewers)
        if not approved:
            continue
        with _clock(arrived + dt.timedelta(days=BATCH)):
            batch = payouts.build_batch(finance, run.scheme, claim_ids=approved)
            # The bank file's numbering: each payout records the account it goes to,
            # which the member's page names by its last four digits.
            files.number_rows(batch)
        with _clock(arrived + dt.timedelta(days=PAID)):
            paid += payouts.mark_paid(finance, batch, arrived + dt.timedelta(days=PAID))
    return paid


def _import(rows: list[dict[str, Any]], name: str, user: User, today: dt.date) -> Feed:
    """The month's file as the bureau sends it, imported, then deleted (it holds ID
    numbers; the month's stays are in the database now)."""
    path = feeds.demo_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    feeds.write_rows(rows, path)
    try:
        outcome = import_feed(path, user=user, today=today)
    finally:
        path.unlink(missing_ok=True)
    if not outcome.imported:
        raise RuntimeError(f"演示数据有误：{outcome.summary()}")
    return outcome.feed


def _claims(ids: Iterable[int], state: str) -> list[Claim]:
    return [c for chunk in chunks(sorted(ids))
            for c in Claim.objects.filter(pk__in=chunk, state=state).select_related(*_FETCH)
            .order_by("pk")]


def _review(ctx: DemoContext, ids: list[int], arrived: dt.date,
            reviewers: dict[int, User]) -> list[int]:
    """提交审核, 初审通过, 复审通过 for the run's claims that may take them; the ids
    approved."""
    admin = ctx.staff["admin"]
    with _clock(arrived + dt.timedelta(days=SUBMIT)):
        # A claim still waiting for the member's bank card cannot be submitted; one that
        # needs papers the settlement does not give (a critical illness's diagnosis
        # certificate) gets them from the union's office, as a clerk uploads them.
        ready = [c for c in _claims(ids, S.PROACTIVE) if "bank_card" not in c.missing_materials]
        for claim in ready:
            if claim.missing_materials:
                _attach_materials(claim, admin)
        _step(admin, ready, "submit", submitted_at=timezone.now(), final=None,
              missing_materials=[])
    with _clock(arrived + dt.timedelta(days=FIRST)):
        by_reviewer: dict[int, list[Claim]] = {}
        for claim in _claims(ids, S.SUBMITTED):
            reviewer = reviewers[_district(claim)]
            by_reviewer.setdefault(reviewer.pk, []).append(claim)
        for claims in by_reviewer.values():
            reviewer = reviewers[_district(claims[0])]
            _step(reviewer, claims, "first_pass", first_reviewed_by=reviewer)
    with _clock(arrived + dt.timedelta(days=SECOND)):
        waiting = _claims(ids, S.SECOND_REVIEW)
        held = duplicates.refusals(waiting)
        # The engine's amount, computed by the run (see the module's docstring).
        return _step(admin, [c for c in waiting if c.pk not in held], "approve",
                     second_reviewed_by=admin, approved_at=timezone.now(),
                     final=F("computed"))


def _district(claim: Claim) -> int:
    """The district a claim's member belongs to (its grassroots union's parent)."""
    district = claim.member.union.parent_id
    assert district is not None  # a grassroots union always has its district above it
    return district


def _step(user: User, claims: list[Claim], name: str, **values: Any) -> list[int]:
    """Step ``name`` for each of ``claims`` that ``user`` may take it on (one state), as
    ``workflow.apply`` records it; the ids moved."""
    t = workflow.TRANSITIONS[name]
    assert t.target is not None  # submit, first_pass, approve: each moves the claim
    claims = [c for c in claims if workflow.why_not(user, c, name) is None]
    if not claims:
        return []
    before = claims[0].state
    moved = move([c.pk for c in claims], before, state=t.target, **values)
    if moved != len(claims):
        raise RuntimeError(f"演示数据有误：{t.label} 移动了 {moved} / {len(claims)} 件理赔")
    for c in claims:
        c.state = t.target
        for field, value in values.items():
            # final=F("computed") in the database: the same amount on the instance.
            setattr(c, field, c.computed if isinstance(value, F) else value)
    _record(user, claims, name, before)
    return [c.pk for c in claims]


def _record(user: User, claims: list[Claim], name: str, before: str) -> None:
    """What ``workflow.apply`` writes for each claim: the history row (with the amount),
    the audit entry, then ``claim_transitioned`` (the member's SMS)."""
    t = workflow.TRANSITIONS[name]
    assert t.target is not None
    note = {"submit": "免申即享：资料齐全，提交审核", "first_pass": "初审通过",
            "approve": "复审通过"}[name]
    now = db_now()
    insert(ClaimEvent, ("claim_id", "at", "actor_id", "action", "from_state", "to_state",
                        "note", "amount"),
           [(c.pk, now, user.pk, name, before, c.state, note, db_money(c.amount))
            for c in claims])
    states = [S(before).label, S(t.target).label]
    rows = AuditRows(user)
    for c in claims:
        rows.add(AuditEntry.Action.CLAIM_CHANGED, "claim", c.pk, c.member.union.path,
                 f"理赔 {c.number}（{c.member.name} {c.benefit_name}）：{t.label}，{note}",
                 {"state": states,
                  "amount": str(c.amount) if c.amount is not None else None})
        if len(rows.pending) >= 2000:
            rows.flush()
    rows.flush()
    _tell_members(claims, name)


# The member's SMS of a step, as huzhu.claims.notifications writes it on
# claim_transitioned (a first review that sends the claim on to the second is not news).
_SMS = {"submit": "claims.submitted", "approve": "claims.approved"}


def _tell_members(claims: list[Claim], name: str) -> None:
    """The SMS ``claim_transitioned`` would enqueue for each claim — the same kind, text
    and deduplication key (the claim's number of history steps) — in one bulk write:
    sent claim by claim they were a third of the history's time. (The signal has no other
    receiver; the payout steps, huzhu.claims.payouts, still send it claim by claim.)"""
    kind = _SMS.get(name)
    if kind is None:
        return
    steps: dict[int, int] = {}
    for chunk in chunks([c.pk for c in claims]):
        steps.update(ClaimEvent.objects.filter(claim_id__in=chunk).values("claim_id")
                     .annotate(n=Count("pk")).values_list("claim_id", "n"))
    enqueue_many(
        Draft(kind, c.member.phone, text[:500], f"{kind}:{c.pk}:{steps[c.pk]}",
              member=c.member, union=c.member.union_id,
              params={"name": c.member.name, "benefit": c.benefit_name, "number": c.number,
                      "amount": yuan(c.final) if c.final is not None else ""})
        for c in claims if c.member.phone and (text := notifications.text_for(c, kind)))


STEPS = [Step("history", "历史理赔", make_history)]
