"""The claim workflow: one small transition table, and one function that applies it.

Every transition names the states it leaves, the state it reaches, the roles that may
take it (a capability of the role table, :mod:`huzhu.orgs.roles`) and whether the
four-eyes rule applies (never the person who filed the claim, never the one who did the
first review). Scope is the claim's member's union subtree. Each step is written to the
claim's history and to the audit log, and :data:`huzhu.claims.signals.claim_transitioned`
is sent (the member's SMS is its receiver); a refused step changes nothing and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.access import in_scope
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.signals import claim_transitioned
from huzhu.lib.errors import Refused
from huzhu.orgs import roles
from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything

S = Claim.State
R = User.Role
FILE, REVIEW, PAY = "claims.file", "claims.review", "claims.pay"
# The system account a member's own claim (会员自助申请, filed on the member pages) stands
# under until a clerk of the member's union checks and submits it: the submitter then
# becomes its filer, so the four-eyes rules bind the person who vouched for its facts
# (a reviewer who submitted it may not review it), as for a claim they filed themselves.
MEMBER_FILER = "huzhu-member"


class ClaimRefused(Refused):
    """A step that may not be taken; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the claim stays in its state (a record, not a move)
    capability: str  # the role table's capability: who may take the step
    not_filer: bool = False
    not_first_reviewer: bool = False
    only_filer: bool = False  # the filer (or an admin) only
    filer_side: bool = False  # a reviewer takes it only on a claim they filed themselves
    style: str = "outline-secondary"
    needs: tuple[str, ...] = field(default=())  # form inputs the step asks for
    role_refusal: str = ""  # what a role without the capability is told, if not the default

    @property
    def roles(self) -> frozenset[str]:
        return roles.roles_with(self.capability)


TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    Transition("submit", "提交审核", frozenset({S.DRAFT, S.RETURNED, S.PROACTIVE}), S.SUBMITTED,
               FILE, style="danger", filer_side=True),
    Transition("first_pass", "初审通过", frozenset({S.SUBMITTED}), S.SECOND_REVIEW, REVIEW,
               not_filer=True, style="danger", needs=("amount", "note")),
    Transition("approve", "复审通过", frozenset({S.SECOND_REVIEW}), S.APPROVED, REVIEW,
               not_filer=True, not_first_reviewer=True, style="danger",
               needs=("amount", "note")),
    Transition("return", "退回补充材料", frozenset({S.SUBMITTED, S.SECOND_REVIEW}), S.RETURNED,
               REVIEW, not_filer=True, needs=("missing", "note")),
    Transition("reject", "不予给付", frozenset({S.PROACTIVE, S.SUBMITTED, S.SECOND_REVIEW}),
               S.REJECTED, REVIEW, not_filer=True, style="outline-danger",
               needs=("reject_code", "note")),
    Transition("withdraw", "撤回", frozenset({S.DRAFT, S.SUBMITTED, S.RETURNED, S.PROACTIVE}),
               S.WITHDRAWN, FILE, only_filer=True, needs=("note",)),
    # A reviewer records why a claim past its filing deadline may still be submitted
    # (submit refuses a late claim without it). In any state, as it always could be; the
    # claim page offers it on a form of its own (views.late_exception).
    Transition("late_exception", "批准逾期申请", frozenset(S), None, REVIEW, not_filer=True,
               needs=("reason",), role_refusal="只有审核员可以批准逾期申请"),
    # A reviewer records that a claim the duplicate rule holds back (claims.duplicates)
    # is not a duplicate; the claim keeps its state. Offered in the review hints panel.
    Transition("override_duplicate", "确认非重复",
               frozenset({S.SUBMITTED, S.SECOND_REVIEW, S.APPROVED}), None, REVIEW,
               not_filer=True, needs=("reason",), role_refusal="只有审核员可以确认非重复"),
    Transition("batch", "加入给付批次", frozenset({S.APPROVED}), S.IN_BATCH, PAY),
    Transition("pay", "确认已付款", frozenset({S.IN_BATCH}), S.PAID, PAY),
    Transition("fail", "付款失败退回", frozenset({S.IN_BATCH}), S.APPROVED, PAY,
               needs=("note",)),
)}
# Steps taken with the claim page's step forms (the late exception has a form of its
# own); the batch steps are taken on the payouts page.
CLAIM_PAGE = ("submit", "first_pass", "approve", "return", "reject", "withdraw")


def who_may(t: Transition) -> str:
    """The roles that may take ``t``, in words (审核员或管理员)."""
    labels = [label for value, label in R.choices if value in t.roles]
    return "或".join(["、".join(labels[:-1]), labels[-1]]) if len(labels) > 1 else labels[0]


def why_not(user: User, claim: Claim, name: str) -> str | None:
    """Why ``user`` may not take step ``name`` on ``claim`` now (None: they may). Each
    refusal says what stands in the way and, where another person could take the step,
    who (a reviewer reading it knows whom to hand the claim to)."""
    t = TRANSITIONS[name]
    if claim.state not in t.sources:
        if already_done(claim, name):  # the same step sent twice (a page sent again)
            return f"已是“{claim.get_state_display()}”状态，未重复办理"
        return f"理赔当前为“{claim.get_state_display()}”，不能{t.label}"
    if not (sees_everything(user) or user.role in t.roles):
        return t.role_refusal or f"您的角色不能{t.label}，须由{who_may(t)}办理"
    if not in_scope(user, claim):
        return "该理赔不在您的管辖范围内"
    if t.not_filer and claim.filed_by_id == user.pk:
        return (f"这笔理赔由您登记，不能对自己提交的理赔{t.label}，"
                "须由另一位审核人员办理（双人审核）")
    if t.not_first_reviewer and claim.first_reviewed_by_id == user.pk:
        return "您已做过初审，复审须由另一位审核人员办理（双人审核）"
    if t.filer_side and (reason := reviewer_off_filers_desk(user, claim)):
        return reason
    if t.only_filer and claim.filed_by_id != user.pk and not (
            sees_everything(user) or user.role == R.ADMIN or awaiting_clerk(claim)):
        return f"只有经办人本人（{claim.filed_by}）或管理员可以{t.label}"
    return None


def reviewer_off_filers_desk(user: User, claim: Claim, what: str = "补充材料并提交"
                             ) -> str | None:
    """Why a reviewer may not do the filer's part (submit, delete materials) of another
    person's claim: a returned claim goes back to the clerk who filed it, not to the
    reviewer who returned it (who would then review what they completed). Proactive
    claims (免申即享), filed by the system, are anybody's to submit."""
    if (user.role == R.REVIEWER and claim.source in (Claim.Source.MANUAL, Claim.Source.MEMBER)
            and claim.filed_by_id is not None and claim.filed_by_id != user.pk
            and not awaiting_clerk(claim)):
        return f"这笔理赔由经办人（{claim.filed_by}）登记，须由经办人{what}"
    return None


def awaiting_clerk(claim: Claim) -> bool:
    """A member's own claim not yet taken by a clerk (still under :data:`MEMBER_FILER`):
    any clerk of the member's union may submit or withdraw it."""
    return claim.source == Claim.Source.MEMBER and claim.filed_by.username == MEMBER_FILER


def who_else_may(claim: Claim, name: str, candidates: list[User]) -> list[User]:
    """Those of ``candidates`` (users with their union loaded) who may take step ``name``
    on ``claim`` now: whom a reviewer barred by four eyes hands the claim to."""
    return [u for u in candidates if u.is_active and why_not(u, claim, name) is None]


def step_candidates(name: str) -> list[User]:
    """The active users whose role may take step ``name`` (a handful per city)."""
    return list(User.objects.filter(is_active=True, role__in=TRANSITIONS[name].roles)
                .select_related("union").order_by("username"))


def allowed(user: User, claim: Claim, names: tuple[str, ...] = CLAIM_PAGE
            ) -> list[Transition]:
    return [TRANSITIONS[n] for n in names if why_not(user, claim, n) is None]


# Where each state's work is done when the claim page offers no step for it.
_ELSEWHERE: dict[str, str] = {
    S.APPROVED: "已审批，等待财务人员在“给付批次”页面加入批次",
    S.IN_BATCH: "已在给付批次中，由财务人员在“给付批次”页面确认付款",
    S.PAID: "已给付，办理完毕",
    S.REJECTED: "已不予给付，办理完毕",
    S.WITHDRAWN: "已撤回，办理完毕",
}


def refusals(user: User, claim: Claim) -> list[tuple[Transition, str]]:
    """The claim page's steps that someone could take in the claim's state but ``user``
    may not, each with why (role, scope, four eyes): the page shows them, rather than
    only "您目前不能办理这笔理赔"."""
    return [(TRANSITIONS[n], reason) for n in CLAIM_PAGE
            if claim.state in TRANSITIONS[n].sources
            and (reason := why_not(user, claim, n)) is not None]


def state_note(claim: Claim) -> str:
    """What the claim's state leaves to do when no step of the claim page applies."""
    return _ELSEWHERE.get(claim.state, f"理赔当前为“{claim.get_state_display()}”")


def already_done(claim: Claim, name: str) -> bool:
    """Whether the claim already stands where step ``name`` takes it (the same form sent
    twice): its state is the step's target — or, for 初审, approved by one review. The
    claim page's (and the queue's bulk) steps only: the payout steps say where the claim
    stands in their own words."""
    t = TRANSITIONS[name]
    if name not in CLAIM_PAGE:
        return False
    reached = {t.target} | ({S.APPROVED} if name == "first_pass" else set())
    return t.target is not None and claim.state in reached and claim.state not in t.sources


# Each step's own work, after the table's checks: (user, claim, data) -> (note for the
# history, the state to reach when it is not the table's: one review may suffice).
Effect = Callable[[User, Claim, dict[str, Any]], tuple[str, str | None]]
EFFECTS: dict[str, Effect] = {}


def effect(name: str) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[name] = fn
        return fn

    return register


def apply(user: User, claim_id: int, name: str, **data: object) -> Claim:
    """Take step ``name``; the claim row is locked for the step (two reviewers clicking at
    once: the second finds the claim already moved and is refused)."""
    t = TRANSITIONS[name]
    with transaction.atomic():
        # Lock the claim only: a FOR UPDATE over the join would also lock the scheme's
        # row and serialise every claim of the scheme. The member is locked where the
        # money is decided (steps._approve).
        # ClaimQuerySet's manager does not carry the model type: name it.
        claim: Claim = (Claim.objects.select_for_update(of=("self",))
                 .select_related("member__union", "scheme").get(pk=claim_id))
        problem = why_not(user, claim, name)
        if problem:
            raise ClaimRefused(problem)
        before = claim.state
        if name == "submit" and awaiting_clerk(claim):
            claim.filed_by = user  # the clerk vouches for the member's facts (MEMBER_FILER)
        note, target = EFFECTS[name](user, claim, data) if name in EFFECTS else ("", None)
        claim.state = target or t.target or before
        claim.save()
        # 办理记录 names the step, then what was said: "退回补充材料：需补充病历" and
        # "复审通过：同意；核定 880.00 元", not a bare "同意" or a list of papers.
        said = note if note.startswith(t.label) else f"{t.label}：{note}" if note else t.label
        ClaimEvent.objects.create(claim=claim, actor=user, action=name, from_state=before,
                                  to_state=claim.state, note=said[:300], amount=claim.amount)
        # A step taken without a note records its own name as the note (办理记录 shows
        # it): the summary names the step once, not "初审通过，初审通过".
        detail = note.removeprefix(t.label).lstrip("，；")
        log.record(user, AuditEntry.Action.CLAIM_CHANGED, claim, union_path=claim.member.union.path,
                   summary=f"理赔 {claim.number}（{claim.member.name} {claim.benefit_name}）："
                           f"{t.label}" + (f"，{detail}" if detail else ""),
                   changes={"state": [Claim.State(before).label, claim.get_state_display()],
                            "amount": str(claim.amount) if claim.amount is not None else None})
        claim_transitioned.send(sender=Claim, claim=claim, step=name, user=user)
    return claim


def stamp(claim: Claim, field_name: str) -> None:
    setattr(claim, field_name, timezone.now())
