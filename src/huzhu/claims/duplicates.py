"""Duplicates that hold a claim back (重复给付): the same hospital stay or invoice paid twice.

The review hints (:mod:`huzhu.claims.flags`) show reviewers what looks alike; this rule
stops money: a claim cannot be approved or put in a payout batch while another *live*
claim of the same member (anything but rejected or withdrawn) covers

- the same settlement under the same benefit (医保结算记录),
- an overlapping stay under the same scheme and benefit (stays as the hints count them,
  算入不算出; a claim without a stay occupies its day), or
- the same invoice number,

unless a second person has recorded that it is not a duplicate, with the reason
(the ``override_duplicate`` step). The person who approves it may not be the one who
recorded that override.
"""

from __future__ import annotations

from huzhu.claims.flags import stays_overlap
from huzhu.claims.models import Claim
from huzhu.orgs.models import User

DEAD = (Claim.State.REJECTED, Claim.State.WITHDRAWN)


FIELDS = ("pk", "number", "state", "member_id", "scheme_id", "benefit", "event_date",
          "admit_date", "settlement_id", "invoice_number")
CHUNK = 500  # members per query: under SQLite's bound-parameter limit


def why(claim: Claim, other: Claim) -> str:
    """Why ``other`` (a live claim of the same member) duplicates ``claim``, or ""."""
    found = []
    # One stay may pay several benefits (a hospital subsidy and a critical-illness
    # one): the same settlement is a duplicate under the same benefit only.
    if claim.settlement_id and other.settlement_id == claim.settlement_id and \
            other.benefit == claim.benefit:
        found.append("同一医保结算记录")
    if other.scheme_id == claim.scheme_id and other.benefit == claim.benefit and \
            stays_overlap(claim, other):
        found.append("同一保障项目住院期间重叠" if claim.admit_date or other.admit_date
                     else "同一保障项目同一天")
    if claim.invoice_number and other.invoice_number == claim.invoice_number:
        found.append(f"同一发票号 {claim.invoice_number}")
    return "、".join(found)


def _live(member_ids: list[int]) -> dict[int, list[Claim]]:
    """The live claims of these members, by member, in event order."""
    by_member: dict[int, list[Claim]] = {}
    for i in range(0, len(member_ids), CHUNK):
        rows = (Claim.objects.filter(member_id__in=member_ids[i:i + CHUNK])
                .exclude(state__in=DEAD).only(*FIELDS).order_by("event_date", "pk"))
        for row in rows:
            by_member.setdefault(row.member_id, []).append(row)
    return by_member


def holding(claim: Claim) -> list[tuple[Claim, str]]:
    """The live claims of the member that make ``claim`` a duplicate, each with why."""
    return _held(claim, _live([claim.member_id]).get(claim.member_id, []))


def _held(claim: Claim, live: list[Claim]) -> list[tuple[Claim, str]]:
    found = [(other, why(claim, other)) for other in live if other.pk != claim.pk]
    return [(other, reason) for other, reason in found if reason]


def refusals(claims: list[Claim]) -> dict[int, str]:
    """:func:`refusal` for many claims at once (a payout batch of ten thousand): one
    query per 500 members, not one per claim. Claim id → why it is held back."""
    live = _live(sorted({c.member_id for c in claims}))
    out = {}
    for claim in claims:
        problem = _refusal(claim, _held(claim, live.get(claim.member_id, [])), None)
        if problem:
            out[claim.pk] = problem
    return out


def refusal(claim: Claim, user: User | None = None) -> str | None:
    """Why ``claim`` may not be approved (by ``user``) or batched now, or None."""
    return _refusal(claim, holding(claim), user)


def _refusal(claim: Claim, held: list[tuple[Claim, str]], user: User | None) -> str | None:
    if not held:
        return None
    if claim.duplicate_override_by_id is not None:
        if user is None or claim.duplicate_override_by_id != user.pk:
            return None
        return "确认非重复的人不能再审批这笔理赔：请由另一位审核人员审批"
    listed = "；".join(f"{other.number}（{other.get_state_display()}，{why}）"
                      for other, why in held[:5])
    more = f" 等 {len(held)} 笔" if len(held) > 5 else ""
    return (f"与本会员的理赔 {listed}{more} 重复：请先撤回或不予给付重复的一笔；"
            "确属不同的住院或发票的，由另一位审核人员“确认非重复”并写明理由")
