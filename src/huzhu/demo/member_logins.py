"""Demo members who sign in to the members' pages (会员服务, ``/member/``).

Three members of the clerk's grassroots union in 朝阳区 (where the demo's clerk and
reviewer work), each with a phone no other member shares: one with a paid claim (its
计算过程 and the account's last four show), one with a claim rejected recently enough to
申请复核, one with nothing but their cover. The rejected claim is made here, through the
intake and the workflow, when the claims step left none that may still be appealed.

The 60 days of 申请复核 count from the rejection to the day a person signs in, on the
calendar, not in the demo's pictured world (``ctx.as_of``): the rejection is dated today
when the demo's day is further back than that, so that a freshly generated demo can try
it. The members are found again from the database (a rerun of ``huzhu demo`` prints them):
the rejection by its note, the others by what they have.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from huzhu.claims import appeals, intake
from huzhu.claims.models import Claim, ClaimEvent, Payout
from huzhu.claims.workflow import apply
from huzhu.demo.base import DemoContext, Step
from huzhu.demo.claims import _attach_materials, _clock
from huzhu.members.models import Member
from huzhu.orgs.models import User

# The rejection's note: what the member reads, and how a rerun finds this member again.
REJECT_NOTE = "出院小结未写明住院天数，无法核实住院情况"
REJECT_CODE = "not_eligible"


@dataclass(frozen=True)
class MemberLogin:
    name: str
    phone: str
    id_tail: str  # 身份证号后六位: the first sign-in on a phone asks it
    shows: str


def _clerk_union_members() -> QuerySet[Member]:
    """Members the demo's clerk files for, who may sign in (not those who left), whose
    phone no other member shares (the sign-in then names exactly them)."""
    clerk = User.objects.filter(username="clerk").select_related("union").first()
    if clerk is None or clerk.union is None:
        return Member.objects.none()
    shared = (Member.objects.exclude(phone="").values("phone")
              .annotate(n=Count("pk")).filter(n__gt=1).values("phone"))
    return (Member.objects.filter(union=clerk.union).exclude(phone="")
            .exclude(status=Member.Status.LEFT).exclude(phone__in=shared))


def _paid_member() -> tuple[Member, Claim] | None:
    """The first member with a claim paid to the account still on file."""
    # Paid through a bank file, which recorded the account (the page names its last four).
    paid = (Payout.objects.filter(claim=OuterRef("pk"), state=Payout.State.PAID)
            .exclude(account_hash=""))
    claim = (Claim.objects.filter(state=Claim.State.PAID, member__in=_clerk_union_members())
             .filter(Exists(paid))
             .select_related("member").order_by("pk").first())
    return (claim.member, claim) if claim else None


def _rejected_claim() -> Claim | None:
    """This step's rejection; else one the claims step made that may still be appealed."""
    members = _clerk_union_members()
    event = (ClaimEvent.objects.filter(action="reject", note=REJECT_NOTE,
                                       claim__member__in=members)
             .select_related("claim__member").order_by("-pk").first())
    if event is not None:
        return event.claim
    rejected = (Claim.objects.filter(state=Claim.State.REJECTED, member__in=members)
                .select_related("member").order_by("pk"))
    return next((c for c in rejected if appeals.why_not_appealable(c) is None), None)


def _member_with_nothing(taken: set[int]) -> Member | None:
    return (_clerk_union_members().filter(status=Member.Status.ACTIVE)
            .exclude(pk__in=taken).exclude(Exists(Claim.objects.filter(member=OuterRef("pk"))))
            .order_by("pk").first())


def make_rejected(ctx: DemoContext) -> int:
    """The step: a hospital claim filed by the clerk, submitted and rejected by the
    district's reviewer, for a member with no claim yet (unless the claims step left an
    appealable rejection in the clerk's union, or this step already ran)."""
    ctx.progress.start("会员服务", 1)
    ctx.progress.advance()
    if _rejected_claim() is not None:
        return 0
    clerk, reviewer = ctx.staff["clerk"], ctx.staff["reviewer"]
    paid = _paid_member()
    member = _member_with_nothing({paid[0].pk} if paid else set())
    if member is None:
        return 0
    day = ctx.as_of - dt.timedelta(days=12)
    offer = next((o for o in intake.offers(member, day) if o.benefit.code == "hospital"), None)
    if offer is None:
        return 0
    with _clock(day + dt.timedelta(days=2)):
        claim = intake.file_claim(clerk, member, offer, {
            "event_date": day, "admit_date": day - dt.timedelta(days=9), "days": 9,
            "out_of_pocket": Decimal("18600.00"), "diagnosis": "J18.9",
            "hospital": "长春市朝阳区中医院", "invoice_number": "2201098765432"})
        _attach_materials(claim, clerk)
        apply(clerk, claim.pk, "submit")
    # Rejected on the day the demo is made when the demo's own day is further back than
    # the 60 days of 申请复核 allow (the module's docstring says why).
    latest = timezone.localdate() - dt.timedelta(days=1)
    decided = max(ctx.as_of - dt.timedelta(days=2), latest)
    with _clock(decided):
        apply(reviewer, claim.pk, "reject", reject_code=REJECT_CODE, note=REJECT_NOTE)
    return 1


def member_logins() -> list[MemberLogin]:
    """The demo's members who sign in, as they are in the database now."""
    rows: list[MemberLogin] = []
    paid = _paid_member()
    if paid is not None:
        member, claim = paid
        rows.append(MemberLogin(member.name, member.phone, member.id_number[-6:],
                                f"已给付的{claim.benefit_name} {claim.number}：计算过程、"
                                "给付日期、账号尾号"))
    rejected = _rejected_claim()
    if rejected is not None:
        until = appeals.appeal_until(rejected)
        state = ("可申请复核" + (f"（{until:%Y-%m-%d} 前）" if until else "")
                 if appeals.why_not_appealable(rejected) is None
                 else rejected.get_state_display())
        member = rejected.member
        rows.append(MemberLogin(member.name, member.phone, member.id_number[-6:],
                                f"不予给付的{rejected.benefit_name} {rejected.number}："
                                f"{state}"))
    taken = {paid[0].pk} if paid else set()
    if rejected is not None:
        taken.add(rejected.member_id)
    nothing = _member_with_nothing(taken)
    if nothing is not None:
        rows.append(MemberLogin(nothing.name, nothing.phone, nothing.id_number[-6:],
                                "没有理赔：我的保障、申请理赔、登记银行账号"))
    return rows


STEPS = [Step("member_logins", "会员服务", make_rejected)]
