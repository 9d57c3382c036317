"""The work queue: each role's claims to act on, with filters and counts per state, a
search by the member's name or ID number (the registry's own search) or the 理赔编号, and
the list as an xlsx file."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Count, QuerySet
from django.http import QueryDict
from django.utils import timezone

from huzhu.claims import appeals, flags
from huzhu.claims.models import Appeal, Claim
from huzhu.coverage.models import Scheme
from huzhu.lib.params import id_param
from huzhu.members.search import MemberQuery, search_members
from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything, subtree_ids_in_scope

S = Claim.State
OPEN = [S.DRAFT, S.PROACTIVE, S.RETURNED, S.SUBMITTED, S.SECOND_REVIEW, S.APPROVED,
        S.IN_BATCH]
# What each role works on first: the queue opens on these states.
DEFAULT_STATES: dict[str, list[Claim.State]] = {
    User.Role.CLERK: [S.DRAFT, S.PROACTIVE, S.RETURNED],
    User.Role.REVIEWER: [S.SUBMITTED, S.SECOND_REVIEW],
    User.Role.FINANCE: [S.APPROVED, S.IN_BATCH],
}


@dataclass(frozen=True)
class QueueFilter:
    states: tuple[str, ...]
    benefit: str = ""
    union_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    flag: str = ""
    q: str = ""  # a member's name or ID number, or a 理赔编号
    # A proactive run's review sample (第 N 号抽样复核决定): the run page links to its claims.
    sample: int | None = None
    # Where the claims came from (来源): 会员自助申请 — the members' own drafts, which the
    # clerk checks, completes and submits.
    source: str = ""

    @classmethod
    def from_params(cls, user: User, params: QueryDict, q: str = "") -> QueueFilter:
        """The filter in ``params``; the search text ``q`` comes apart (the page keeps it
        out of the address: an ID number must not land in logs and browser history)."""
        raw = params.get("state", "")
        if raw == "all":
            states = tuple(S.values)
        elif raw in S.values:
            states = (raw,)
        elif raw == "open":
            states = tuple(OPEN)
        else:
            states = tuple(_default(user))
        return cls(states, params.get("benefit", "")[:64], id_param(params, "union"),
                   _date(params.get("from")), _date(params.get("to")),
                   _money(params.get("min")), _money(params.get("max")),
                   params.get("flag", "")[:32], (q or "").strip()[:50],
                   id_param(params, "sample"),
                   source if (source := params.get("source", "")) in Claim.Source.values
                   else "")

    @property
    def member_query(self) -> MemberQuery | None:
        """The search as the member registry reads it (None: a 理赔编号, or no search)."""
        if not self.q or CLAIM_NUMBER.match(self.q.replace(" ", "")):
            return None
        return MemberQuery(q=self.q)


def _default(user: User) -> list[Claim.State]:
    return OPEN if sees_everything(user) else DEFAULT_STATES.get(user.role, OPEN)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _money(value: str | None) -> Decimal | None:
    try:
        return Decimal(value).quantize(Decimal("0.01")) if value else None
    except InvalidOperation:
        return None


# A 理赔编号 or its beginning (LP2026…): LP, then digits.
CLAIM_NUMBER = re.compile(r"^[Ll][Pp]\d*$")


def filtered(user: User, f: QueueFilter) -> QuerySet[Claim]:
    qs: QuerySet[Claim] = Claim.objects.visible_to(user).filter(state__in=f.states)
    if f.q:
        qs = _searched(user, qs, f)
    if f.benefit:
        qs = qs.filter(benefit=f.benefit)
    if f.union_id:
        qs = qs.filter(member__union_id__in=subtree_ids_in_scope(user, f.union_id))
    if f.date_from:
        qs = qs.filter(event_date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(event_date__lte=f.date_to)
    if f.amount_min is not None:
        qs = qs.filter(computed__gte=f.amount_min)
    if f.amount_max is not None:
        qs = qs.filter(computed__lte=f.amount_max)
    if f.flag:
        qs = flags.with_flag(qs, f.flag)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.sample:
        # The sample's rows (feeds.ProactiveSampleClaim) by their reverse relation: the
        # claims app does not import the feeds app above it.
        qs = qs.filter(proactive_samples__sample_id=f.sample)
    return qs


def _searched(user: User, qs: QuerySet[Claim], f: QueueFilter) -> QuerySet[Claim]:
    """A 理赔编号 by its beginning (an index range, like a name); anything else is the
    member registry's search — a name's beginning, a full ID number, its last four, a
    mobile number — and the claims of the members it finds."""
    query = f.member_query
    if query is None:
        number = f.q.replace(" ", "").upper()
        return qs.filter(number__gte=number, number__lt=number + "\uffff")
    members = search_members(user, query).order_by().values("pk")
    return qs.filter(member_id__in=members)


def benefit_choices(user: User) -> list[tuple[str, str]]:
    """The benefits of the schemes in ``user``'s scope, code and Chinese name, for the
    queue's dropdown; one code named differently by two schemes shows both names."""
    names: dict[str, list[str]] = {}
    for scheme in Scheme.objects.visible_to(user).order_by("id"):
        for benefit in scheme.policy().benefits:
            known = names.setdefault(benefit.code, [])
            if benefit.name not in known:
                known.append(benefit.name)
    return sorted(((code, "／".join(n)) for code, n in names.items()), key=lambda c: c[1])


def state_counts(user: User) -> dict[str, int]:
    """How many claims in scope are in each open state (the work to do). The closed
    states — paid, rejected, withdrawn: almost the whole history — are not counted: at
    500,000 claims that count read every claim on each queue page (300–800 ms), for
    numbers no one acts on; their tabs are shown without one."""
    rows = (Claim.objects.visible_to(user).filter(state__in=OPEN).values_list("state")
            .annotate(n=Count("id")).order_by())
    return dict(rows)


def total_from_counts(f: QueueFilter, counts: dict[str, int]) -> int | None:
    """The queue's total when only open states filter it: the sum of their counts (the
    page has them anyway), which spares a second count over the user's scope — at a
    district of 100,000 members each is a join with all of them. None otherwise."""
    if f == QueueFilter(f.states) and all(s in OPEN for s in f.states):
        return sum(counts.get(s, 0) for s in f.states)
    return None


# ------------------------------------------------------------------ the 复核 tab

APPEALS_LISTED = 1000  # open appeals are a handful a week; the tab lists at most these


@dataclass(frozen=True)
class AppealRow:
    appeal: Appeal
    overdue: bool


def appeal_rows(user: User, today: dt.date | None = None) -> list[AppealRow]:
    """The open appeals (复核) of claims in ``user``'s scope by due date, so the overdue
    ones come first, each marked overdue when its due date has passed."""
    today = today or timezone.localdate()
    return [AppealRow(a, a.due_on < today)
            for a in appeals.open_appeals(user)[:APPEALS_LISTED]]

