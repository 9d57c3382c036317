"""A claim as its member sees it: the steps of its history without staff names (who
acted is said by role: 单位工会, 审核人员, 财务人员), what is missing when it was
returned, and where the money went (the payment day and the account's last four)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from huzhu.claims.materials import required as materials
from huzhu.claims.models import Claim, Payout
from huzhu.lib import crypto

S = Claim.State

# Each history step in the member's words, and who takes it.
STEPS: dict[str, tuple[str, str]] = {
    "file": ("提交申请", "单位工会"),
    "submit": ("提交审核", "单位工会"),
    "first_pass": ("初审通过", "审核人员"),
    "approve": ("审核通过，待给付", "审核人员"),
    "return": ("退回补充材料", "审核人员"),
    "reject": ("不予给付", "审核人员"),
    "withdraw": ("撤回申请", "单位工会"),
    "batch": ("已安排给付", "财务人员"),
    "pay": ("已给付", "财务人员"),
    "fail": ("付款未成功，待重新给付", "财务人员"),
    "appeal_open": ("申请复核", "本人"),
    "appeal": ("复核改变原决定", "审核人员"),
    "appeal_upheld": ("复核维持原决定", "审核人员"),
}
# Steps whose note the member should read: what to add, why not paid, why a 复核 decided so.
NOTED = frozenset({"return", "reject", "appeal", "appeal_upheld"})


@dataclass
class Step:
    at: dt.datetime
    label: str
    who: str
    note: str = ""


def timeline(claim: Claim) -> list[Step]:
    steps = []
    for event in claim.history.all():
        label, who = STEPS.get(event.action, (Claim.State(event.to_state).label
                                               if event.to_state in S.values else "办理",
                                               "审核人员"))
        if event.action == "file" and claim.source == Claim.Source.MEMBER:
            who = "本人"
        if event.action in ("late_exception", "override_duplicate"):
            continue  # the reviewers' own records, not a step of the member's claim
        note = event.note.split("：", 1)[-1] if event.action in NOTED else ""
        steps.append(Step(timezone.localtime(event.at), label, who, note))
    return steps


def missing(claim: Claim) -> list[str]:
    """What a returned claim still needs, by name."""
    if claim.state != S.RETURNED:
        return []
    return [materials.labels([code]) for code in materials.missing(claim)]


@dataclass
class Paid:
    on: dt.date | None
    amount: Decimal
    last4: str  # "" when the account has changed since, or was not recorded
    # The account paid to is known and is no longer the member's (not merely unrecorded:
    # a payout confirmed without a bank file keeps no account).
    changed: bool = False


def payments(claim: Claim) -> list[Paid]:
    """Each payment of the claim (a 复核 that raised a paid amount pays the difference
    later, as a payment of its own), with the account's last four while it is still the
    account paid to."""
    member = claim.member
    current = set()
    if member.bank_account_sealed is not None:
        # The payout keeps the blind index of the account it was paid to; the member's
        # own index (or, while keys rotate, either of the account's) says it is that one.
        current = {member.bank_account_hash,
                   *crypto.blind_indexes("bank:" + member.bank_account)}
    return [Paid(p.paid_on, p.amount, member.bank_last4 if p.account_hash in current else "",
                 changed=bool(p.account_hash) and p.account_hash not in current)
            for p in Payout.objects.filter(claim=claim, state=Payout.State.PAID)
            .order_by("paid_on", "pk")]
