"""The engine's amount for one claim, from the registry and the claims history.

Only :mod:`huzhu.rules` computes money. This module turns a claim into the engine's
inputs — the member, the event, the member's enrolments in the scheme, and their
earlier claims that count against caps (approved, in a batch, paid) as prior payouts —
and keeps the output row as the claim's 计算过程.
"""

from __future__ import annotations

from decimal import Decimal

from huzhu.claims.models import Claim
from huzhu.coverage.models import Enrolment
from huzhu.members.models import Member
from huzhu.rules import evaluate_claim

COUNTED = (Claim.State.APPROVED, Claim.State.IN_BATCH, Claim.State.PAID)
EVENT_FIELDS = ("admit_date", "days", "out_of_pocket", "total_cost", "diagnosis", "outcome",
                "disability_grade", "fracture_site", "work_related", "loss_amount",
                "certificate_no", "on_duty", "relation", "co_resident")


def member_row(member: Member) -> dict:
    return {"member_id": str(member.pk), "birth_date": member.birth_date,
            "gender": member.gender, "status": member.status,
            "occupation": member.occupation,
            "family_id": str(member.family_head_id or member.pk)}


def event_row(claim: Claim) -> dict:
    row = {"event_id": claim.number or f"draft-{claim.pk}", "member_id": str(claim.member_id),
           "benefit": claim.benefit, "event_date": claim.event_date}
    for name in EVENT_FIELDS:
        value = getattr(claim, name)
        if value not in (None, ""):
            row[name] = value
    if claim.relative_key:
        row["relative_id"] = claim.relative_key
    return row


def enrolment_rows(claim: Claim) -> list[dict]:
    rows = Enrolment.objects.filter(member_id=claim.member_id, period__scheme=claim.scheme,
                                    coverage_from__isnull=False)
    return [{"member_id": str(claim.member_id), "period_start": e.coverage_from,
             "period_end": e.coverage_to, "first_enrolled": e.first_enrolled} for e in rows]


def prior_rows(claim: Claim) -> list[dict]:
    """The member's other claims in the scheme that count against caps, as paid."""
    earlier = (Claim.objects.filter(member_id=claim.member_id, scheme=claim.scheme,
                                    state__in=COUNTED).exclude(pk=claim.pk))
    rows = []
    for other in earlier:
        row = event_row(other)
        row["paid"] = other.amount or Decimal("0.00")
        days = (other.computation or {}).get("days_paid")
        if days is not None:
            row["days_paid"] = days
        rows.append(row)
    return rows


def compute(claim: Claim) -> dict:
    """The engine's output row for ``claim`` now (money as Decimal)."""
    policy = claim.scheme.policy()
    return evaluate_claim(policy, member_row(claim.member), event_row(claim),
                          enrolment_rows(claim), prior_rows(claim))


def record(claim: Claim, row: dict) -> None:
    """Keep the computation on the claim (JSON-safe: money and dates as text), with the
    content hash of the policy that computed it."""
    claim.computed = row["payable"]
    claim.policy_hash = claim.scheme.policy().content_hash
    claim.computation = {k: (str(v) if v is not None and not isinstance(v, int | bool)
                             else v) for k, v in row.items()}
