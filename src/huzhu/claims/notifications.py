"""SMS to the member when their claim moves: submitted, returned (what is missing),
approved (the amount), paid, rejected (the reason). Written to the outbox, once per
claim and step, by the receiver of :data:`huzhu.claims.signals.claim_transitioned`
(connected in ``ClaimsConfig.ready()``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from huzhu.claims.materials.required import labels
from huzhu.claims.models import Claim, Payout
from huzhu.notify.outbox import enqueue, register_kind
from huzhu.rules.money import yuan

KINDS = {"claims.submitted": "理赔已受理", "claims.returned": "理赔需补充材料",
         "claims.approved": "理赔已审批", "claims.paid": "理赔已给付",
         "claims.rejected": "理赔不予给付", "claims.payout_returned": "退票通知"}
_STEP_KIND = {"submit": "claims.submitted", "return": "claims.returned",
              "first_pass": "claims.approved", "approve": "claims.approved",
              "pay": "claims.paid", "reject": "claims.rejected",
              "payout_return": "claims.payout_returned"}


def register_kinds() -> None:
    for code, label in KINDS.items():
        register_kind(code, label)


def text_for(claim: Claim, kind: str) -> str | None:
    head = (f"【{claim.scheme.union.name}】{claim.member.name}您好，"
            f"您的{claim.benefit_name}申请（{claim.number}）")
    if kind == "claims.submitted":
        return f"{head}已受理，我们将尽快审核。"
    if kind == "claims.returned":
        missing = labels(claim.missing_materials) or claim.return_note
        return f"{head}需补充材料：{missing}，请联系单位工会经办人。"
    if kind == "claims.approved":
        return f"{head}已审批，核定给付 {yuan(claim.final)} 元，将尽快转入您的银行账户。"
    if kind == "claims.paid":
        paid = list(claim.payouts.filter(state=Payout.State.PAID).order_by("pk")
                    .values_list("amount", flat=True))
        if len(paid) > 1:
            # A 复核 raised a paid claim: this payment is the difference.
            return (f"{head}已补发差额 {yuan(paid[-1])} 元（累计给付 "
                    f"{yuan(sum(paid, Decimal(0)))} 元），请查收。")
        return f"{head}已给付 {yuan(claim.final)} 元，请查收。"
    if kind == "claims.rejected":
        return f"{head}经审核不予给付，原因：{claim.get_reject_code_display()}。"
    if kind == "claims.payout_returned":
        # The bank's reason of the latest 退票 (huzhu.claims.payouts.reconcile moved the
        # claim back to approved).
        returned = (claim.payouts.filter(state=Payout.State.RETURNED).order_by("-pk")
                    .values_list("amount", "failure_reason").first())
        amount, reason = returned if returned else (claim.final, "")
        why = f"（{reason}）" if reason else ""
        return (f"{head}给付的 {yuan(amount)} 元被银行退回{why}，请尽快到单位工会更正"
                "银行账号，更正后将重新给付。")
    return None


def on_transition(claim: Claim, step: str) -> None:
    kind = _STEP_KIND.get(step)
    if kind is None or (kind == "claims.approved" and claim.state != Claim.State.APPROVED):
        return  # a first review that sends the claim on to the second is not news yet
    text = text_for(claim, kind)
    if not text or not claim.member.phone:
        return
    enqueue(kind=kind, to=claim.member.phone, text=text[:500], member=claim.member,
            union=claim.member.union_id, dedupe_key=f"{kind}:{claim.pk}:{claim.history.count()}",
            params={"name": claim.member.name, "benefit": claim.benefit_name,
                    "number": claim.number,
                    "amount": yuan(claim.final) if claim.final is not None else ""})


def on_claim_transitioned(sender: type[Claim], *, claim: Claim, step: str,
                          **kwargs: Any) -> None:
    """The receiver of ``claim_transitioned``."""
    on_transition(claim, step)
