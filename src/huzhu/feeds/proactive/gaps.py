"""应享未享 (no one missed): who under a proactive scheme has not been given what the
settlement feeds say is theirs, by union, with the take-up rate (受益率).

Three groups of gaps, each kind one set-based query (never a loop over members):

a. settled stays of covered members with no claim for a benefit the engine says applies:
   ``unclaimed`` (a run proposed a payment, no claim stands for it: withdrawn, or never
   written), ``not_run`` (the stay is matched to a member but no run of the scheme has
   evaluated it) and ``unmatched`` (no member was matched, yet a covered member has the
   ID number now: registered after the import, or outside the importing node's scope —
   both fixed by importing the feed again from a node that sees the member);
b. proactive claims that cannot be paid: ``no_bank`` (no account in the registry),
   ``payout_failed`` / ``payout_returned`` (the claim's latest payout failed, or the bank
   returned it — 退票);
c. ``rejected``: claims rejected for a reason a clerk can fix (:data:`FIXABLE_REJECTS`),
   with no later claim for the same event.

The take-up rate of a union: given ÷ eligible, by count and by amount. Given: claims of
the scheme's proactive benefits approved, in a payout batch or paid (``Claim.GIVEN``, any
source: a member who filed by hand was not missed). Eligible: given plus the gaps of
group a, counted each once, with the engine's amount where a run computed one (a stay no
run has evaluated adds to the count, not to the amount: the rate by amount is therefore
an upper bound until those stays are run).

Every query groups by the member's union (``GROUP BY union``); the page and the
statistics page roll the unions up to the children of the node shown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.db import transaction
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from rich.console import Console
from rich.table import Table

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim, Payout
from huzhu.coverage.models import Enrolment, Scheme
from huzhu.feeds.models import Settlement
from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.feeds.proactive.inputs import applicable
from huzhu.lib import crypto, csvsafe, xlsx
from huzhu.lib.money import MoneySum
from huzhu.members.models import Member
from huzhu.notify.outbox import Draft, enqueue_many
from huzhu.orgs.models import Union, User
from huzhu.orgs.scope import union_path
from huzhu.rules.money import percent, to_fen, yuan

ZERO = Decimal("0.00")
S = Claim.State
REJECT = Claim.RejectCode

# Rejections a clerk can put right: a late claim gets a reviewer's 逾期例外 and is filed
# again; 其他 names its reason in the note (a missing document, a wrong account) — the
# clerk reads it. Not covered, not eligible, a duplicate or false materials are verdicts.
# Codes another change may add (a missing material, no account) count once they exist.
FIXABLE_REJECTS: tuple[str, ...] = tuple(
    c for c in ("late", "other", "missing_materials", "no_bank_account")
    if c in REJECT.values)
# A proactive claim still on its way to payment: one the registry's missing account
# would stop at the payout batch.
PAYABLE: tuple[str, ...] = (S.PROACTIVE, S.SUBMITTED, S.SECOND_REVIEW, S.RETURNED,
                            S.APPROVED)
# A payout that did not reach the member. 'returned' (退票) is matched only if the
# Payout model has that state: the same code works before and after it is added.
UNPAID_PAYOUTS: tuple[str, ...] = tuple(
    s for s in ("failed", "returned") if s in Payout.State.values)

NOTIFY_KIND = "feeds.bank_account_missing"
QS = QuerySet[Any]  # the kinds' rows are of several models
Values = dict[str, Any]  # one gap's values, as the detail line reads them


class GapsRefused(Exception):
    """Bad input for the list (Chinese message for the user); nothing was done."""


# ----------------------------------------------------------------- the scope


@dataclass(frozen=True)
class Scope:
    """Whose gaps: the members below ``node`` (the scheme's union or a node under it),
    as ``user`` may see them (None: the system, the command line), with an event
    between ``start`` and ``end`` when given (the statistics page's range)."""

    scheme: Scheme
    node: Union
    user: User | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def union_ids(self) -> QS:
        """The unions below the node, as a subquery (one statement, no id list)."""
        return Union.objects.filter(path__startswith=self.node.path).values("id")

    def base(self, model: Any) -> QS:
        """``model``'s rows the user may see (``visible_to``), or all for the system."""
        if self.user is None:
            return cast(QS, model._default_manager.all())
        return cast(QS, model._default_manager.visible_to(self.user))

    def dated(self, qs: QS, field_name: str) -> QS:
        if self.start is not None:
            qs = qs.filter(**{f"{field_name}__gte": self.start})
        if self.end is not None:
            qs = qs.filter(**{f"{field_name}__lte": self.end})
        return qs

    @cached_property
    def codes(self) -> list[str]:
        """The scheme's proactive benefits (those a settlement row can be judged under)."""
        return applicable(self.scheme.policy()).codes

    @cached_property
    def benefit_names(self) -> dict[str, str]:
        return {b.code: b.name for b in self.scheme.policy().benefits}


def proactive_schemes(user: User | None = None) -> list[Scheme]:
    """Schemes with benefits a settlement feed is run under, that the user may see."""
    qs = Scheme.objects.visible_to(user) if user is not None else Scheme.objects.all()
    return [s for s in qs.select_related("union").order_by("code")
            if not applicable(s.policy()).empty]


def scope_for(scheme: Scheme, *, user: User | None = None, union: Union | None = None,
              start: dt.date | None = None, end: dt.date | None = None) -> Scope:
    """The scope shown: ``union`` (default: the user's node when it lies below the
    scheme's, else the scheme's). A node outside the scheme's tree or the user's scope
    is refused."""
    root = scheme.union
    prefix = union_path(user) if user is not None else None
    if union is None:
        own = getattr(user, "union", None) if user is not None else None
        union = own if own is not None and prefix and own.path.startswith(root.path) else root
    if not union.path.startswith(root.path):
        raise GapsRefused(f"工会“{union.name}”不在保障项目“{scheme.name}”的范围内")
    if prefix is not None and not union.path.startswith(prefix):
        raise GapsRefused(f"工会“{union.name}”不在您的管辖范围内")
    return Scope(scheme, union, user, start, end)


# ----------------------------------------------------------------- the kinds


def _no_amount() -> Any:
    """A stay no run has priced: NULL, typed (PostgreSQL sums no untyped NULL)."""
    return Cast(Value(None), output_field=DecimalField(max_digits=14, decimal_places=2))


def _no_live_claim(scope: Scope, member: str, benefit: str | None, day: str) -> Q:
    """A claim of the scheme for the member's event (not withdrawn)."""
    qs = Claim.objects.filter(scheme=scope.scheme, member_id=OuterRef(member),
                              event_date=OuterRef(day)).exclude(state=S.WITHDRAWN)
    qs = qs.filter(benefit=OuterRef(benefit)) if benefit else qs.filter(benefit__in=scope.codes)
    return ~Q(Exists(qs))


def _covered(scope: Scope, member: dict[str, Any], day: str) -> Q:
    """The member is covered on ``day``: below the scheme's union, and enrolled for that
    day when every proactive benefit of the scheme asks for an enrolment."""
    policy = scope.scheme.policy()
    benefits = [b for b in policy.benefits if b.code in set(scope.codes)]
    if not all(b.eligibility.enrolment for b in benefits):
        return Q()
    return Q(Exists(Enrolment.objects.filter(
        **member, period__scheme=scope.scheme, state=Enrolment.State.ACTIVE,
        coverage_from__lte=OuterRef(day), coverage_to__gte=OuterRef(day))))


def _unclaimed(scope: Scope) -> QS:
    later = StayOutcome.objects.filter(
        stay_id=OuterRef("stay_id"), benefit=OuterRef("benefit"), run__scheme=scope.scheme,
        outcome=StayOutcome.Outcome.PROPOSED, run_id__gt=OuterRef("run_id"))
    stay_claim = Claim.objects.filter(settlement_id=OuterRef("stay_id"),
                                      benefit=OuterRef("benefit")).exclude(state=S.WITHDRAWN)
    qs = (scope.base(StayOutcome)
          .filter(run__scheme=scope.scheme, run__status=BatchRun.Status.DONE,
                  outcome=StayOutcome.Outcome.PROPOSED, amount__gt=0,
                  member__union_id__in=scope.union_ids())
          .filter(~Exists(stay_claim), ~Exists(later))
          .filter(_no_live_claim(scope, "member_id", "benefit", "stay__discharge_date")))
    return cast(QS, scope.dated(qs, "stay__discharge_date").annotate(
        gap_member=F("member_id"), gap_union=F("member__union_id"),
        gap_amount=F("amount")))


def _not_run(scope: Scope) -> QS:
    evaluated = StayOutcome.objects.filter(stay=OuterRef("pk"), run__scheme=scope.scheme) \
        .exclude(outcome=StayOutcome.Outcome.UNMATCHED)
    qs = (scope.base(Settlement)
          .filter(member__isnull=False, member__union_id__in=scope.union_ids())
          .filter(~Exists(evaluated))
          .filter(~Exists(Claim.objects.filter(settlement=OuterRef("pk"))))
          .filter(_no_live_claim(scope, "member_id", None, "discharge_date"))
          .filter(_covered(scope, {"member_id": OuterRef("member_id")}, "discharge_date")))
    return cast(QS, scope.dated(qs, "discharge_date").annotate(
        gap_member=F("member_id"), gap_union=F("member__union_id"),
        gap_amount=_no_amount()))


def _unmatched(scope: Scope) -> QS:
    # The member the ID number belongs to now (the blind index is unique): in the node's
    # subtree and, on the page, in the user's scope. Scoped by that member, not by the
    # feed: the member's clerk is the one to act, whoever imported the feed.
    members = scope.base(Member).filter(id_number_hash=OuterRef("id_number_hash"),
                                        union_id__in=scope.union_ids())
    qs = (Settlement.objects.filter(member__isnull=True)
          .annotate(gap_member=Subquery(members.values("id")[:1]),
                    gap_union=Subquery(members.values("union_id")[:1]),
                    gap_registered=Subquery(members.values("created_at")[:1]),
                    gap_amount=_no_amount())
          .filter(gap_member__isnull=False)
          .filter(_covered(scope, {"member__id_number_hash": OuterRef("id_number_hash")},
                           "discharge_date")))
    return scope.dated(qs, "discharge_date")


def _claims(scope: Scope) -> QS:
    return scope.base(Claim).filter(scheme=scope.scheme, member__union_id__in=scope.union_ids())


def _claim_amount() -> Any:
    return Coalesce("final", "computed")


def _no_bank(scope: Scope) -> QS:
    qs = _claims(scope).filter(source=Claim.Source.PROACTIVE, state__in=PAYABLE,
                               member__bank_account_sealed__isnull=True)
    return cast(QS, scope.dated(qs, "event_date").annotate(
        gap_member=F("member_id"), gap_union=F("member__union_id"),
        gap_amount=_claim_amount()))


def _payouts(states: tuple[str, ...]) -> Callable[[Scope], QS]:
    def kind(scope: Scope) -> QS:
        claims = _claims(scope).filter(source=Claim.Source.PROACTIVE).exclude(state=S.PAID)
        later = Payout.objects.filter(claim_id=OuterRef("claim_id"), id__gt=OuterRef("pk"))
        qs = (Payout.objects.filter(state__in=states, claim__in=claims.values("id"))
              .filter(~Exists(later)))
        return cast(QS, scope.dated(qs, "claim__event_date").annotate(
            gap_member=F("claim__member_id"), gap_union=F("claim__member__union_id"),
            gap_amount=F("amount")))
    return kind


def _rejected(scope: Scope) -> QS:
    refiled = Claim.objects.filter(
        scheme=scope.scheme, member_id=OuterRef("member_id"), benefit=OuterRef("benefit"),
        event_date=OuterRef("event_date")).exclude(state__in=(S.REJECTED, S.WITHDRAWN))
    qs = (_claims(scope).filter(state=S.REJECTED, reject_code__in=FIXABLE_REJECTS)
          .filter(~Exists(refiled)))
    return cast(QS, scope.dated(qs, "event_date").annotate(
        gap_member=F("member_id"), gap_union=F("member__union_id"),
        gap_amount=_claim_amount()))


def _never(scope: Scope) -> QS:
    """A payout state the model does not have (yet): no gaps of that kind."""
    return Payout.objects.none().annotate(gap_member=F("claim__member_id"),
                                          gap_union=F("claim__member__union_id"),
                                          gap_amount=F("amount"))


@dataclass(frozen=True)
class Kind:
    code: str
    group: str  # a: stays with no claim; b: claims that cannot be paid; c: fixable rejects
    label: str  # what is missing (the column head on the page)
    todo: str  # what to do
    query: Callable[[Scope], QS]
    fields: tuple[str, ...]  # what the detail line names, besides the member
    describe: Callable[[Scope, Values], str]


def _stay_text(scope: Scope, v: Values) -> str:
    return f"{v['hospital']} {v['discharge_date']:%Y-%m-%d} 出院"


def _unclaimed_text(scope: Scope, v: Values) -> str:
    name = scope.benefit_names.get(v["benefit"], v["benefit"])
    return f"测算应给付{name}，没有有效理赔（{_stay_text(scope, v)}）"


def _not_run_text(scope: Scope, v: Values) -> str:
    return f"结算数据“{v['feed__file_name']}”尚未按本项目测算（{_stay_text(scope, v)}）"


def _unmatched_text(scope: Scope, v: Values) -> str:
    later = v["gap_registered"] is not None and v["gap_registered"] > v["created_at"]
    why = "导入时尚未登记为会员" if later else "会员不在导入人员的管辖范围内"
    return f"结算未匹配到会员：{why}（{_stay_text(scope, v)}）"


def _claim_text(v: Values) -> str:
    return f"{v['number']} {v['benefit_name']}（{S(v['state']).label}）"


def _payout_text(v: Values, what: str) -> str:
    reason = v["failure_reason"] or "银行未说明原因"
    return f"{what}：{reason}（{v['claim__number']} {v['claim__benefit_name']}）"


def _rejected_text(scope: Scope, v: Values) -> str:
    reason = REJECT(v["reject_code"]).label
    note = f"，{v['reject_text']}" if v["reject_text"] else ""
    return f"不予给付（{reason}{note}）：{v['number']} {v['benefit_name']}"


STAY_FIELDS = ("hospital", "discharge_date")
CLAIM_FIELDS = ("number", "benefit_name", "state")
PAYOUT_FIELDS = ("claim__number", "claim__benefit_name", "failure_reason")

KINDS: dict[str, Kind] = {k.code: k for k in (
    Kind("unclaimed", "a", "测算应给付但没有理赔",
         "核实理赔撤回的原因；确属应给付的，由经办人登记理赔",
         _unclaimed, ("benefit", "stay__hospital", "stay__discharge_date"),
         lambda s, v: _unclaimed_text(s, {**v, "hospital": v["stay__hospital"],
                                           "discharge_date": v["stay__discharge_date"]})),
    Kind("not_run", "a", "医保结算尚未测算", "对该批医保结算数据运行免申即享测算",
         _not_run, (*STAY_FIELDS, "feed__file_name"), _not_run_text),
    Kind("unmatched", "a", "结算未匹配到会员（可补正）",
         "由能看到该会员的工会重新导入该批医保结算数据，再运行测算",
         _unmatched, (*STAY_FIELDS, "created_at", "gap_registered"), _unmatched_text),
    Kind("no_bank", "b", "没有登记银行账号", "请会员到单位工会登记本人银行账号",
         _no_bank, CLAIM_FIELDS,
         lambda s, v: f"没有银行账号，无法付款：{_claim_text(v)}"),
    Kind("payout_failed", "b", "银行付款失败", "核对会员银行账号，更正后纳入下一给付批次",
         _payouts((Payout.State.FAILED,)), PAYOUT_FIELDS,
         lambda s, v: _payout_text(v, "银行付款失败")),
    Kind("payout_returned", "b", "银行退票", "登记会员更正后的银行账号，下一给付批次重新支付",
         _payouts(("returned",)) if "returned" in UNPAID_PAYOUTS else _never,
         PAYOUT_FIELDS, lambda s, v: _payout_text(v, "银行退票")),
    Kind("rejected", "c", "不予给付（可补正）",
         "按不予给付原因补正（逾期的须审核员批准逾期申请）后重新登记理赔",
         _rejected, (*CLAIM_FIELDS, "reject_code", "reject_text"), _rejected_text),
)}
GROUP_A = tuple(k for k, v in KINDS.items() if v.group == "a")


def given_claims(scope: Scope) -> QS:
    """Claims of the scheme's proactive benefits that count as given."""
    qs = _claims(scope).filter(benefit__in=scope.codes, state__in=Claim.GIVEN)
    return scope.dated(qs, "event_date")


def gap_queryset(scope: Scope, kind: str) -> QS:
    """The ``kind`` gaps in the scope (annotated gap_member, gap_union, gap_amount)."""
    return KINDS[kind].query(scope)


# ----------------------------------------------------------------- by union


@dataclass
class Line:
    """One union's (or a subtree's) figures."""

    union_id: int | None
    name: str
    path: str = ""
    code: str = ""
    given: int = 0
    given_amount: Decimal = ZERO
    gaps: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    gap_amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(KINDS, ZERO))
    has_children: bool = False

    @property
    def eligible(self) -> int:
        return self.given + sum(self.gaps[k] for k in GROUP_A)

    @property
    def eligible_amount(self) -> Decimal:
        return to_fen(self.given_amount + sum((self.gap_amounts[k] for k in GROUP_A), ZERO))

    @property
    def rate_count(self) -> Decimal | None:
        """受益率 by count, percent with one place (None: nobody eligible)."""
        return percent(self.given, self.eligible)

    @property
    def rate_amount(self) -> Decimal | None:
        return percent(self.given_amount, self.eligible_amount)

    @property
    def count_rate_text(self) -> str:
        return rate_text(self.rate_count)

    @property
    def amount_rate_text(self) -> str:
        return rate_text(self.rate_amount)

    @property
    def gap_total(self) -> int:
        return sum(self.gaps.values())

    @property
    def kinds(self) -> list[tuple[str, str, int]]:
        return [(k, KINDS[k].label, self.gaps[k]) for k in KINDS]

    def add(self, other: Line) -> None:
        self.given += other.given
        self.given_amount = to_fen(self.given_amount + other.given_amount)
        for k in KINDS:
            self.gaps[k] += other.gaps[k]
            self.gap_amounts[k] = to_fen(self.gap_amounts[k] + other.gap_amounts[k])


@dataclass
class Summary:
    scope: Scope
    lines: list[Line]  # by the members' own unions, in tree order
    total: Line


def summarise(scope: Scope) -> Summary:
    """Given and gaps grouped by the members' unions: one GROUP BY per kind."""
    by_union: dict[int, Line] = {}

    def line(union_id: int) -> Line:
        return by_union.setdefault(union_id, Line(union_id, ""))

    for row in (given_claims(scope).values("member__union_id")
                .annotate(n=Count("id"), total=MoneySum(_claim_amount())).order_by()):
        item = line(row["member__union_id"])
        item.given, item.given_amount = row["n"], to_fen(row["total"] or ZERO)
    for code in KINDS:
        rows = (gap_queryset(scope, code).order_by().values("gap_union")
                .annotate(n=Count("id"), total=MoneySum("gap_amount")))
        for row in rows:
            item = line(row["gap_union"])
            item.gaps[code] = row["n"]
            item.gap_amounts[code] = to_fen(row["total"] or ZERO)
    unions = {u.pk: u for u in Union.objects.filter(pk__in=list(by_union))}
    for pk, item in by_union.items():
        u = unions[pk]
        item.name, item.path, item.code = u.name, u.path, u.code
    lines = sorted(by_union.values(), key=lambda x: x.path)
    total = Line(scope.node.pk, "合计", scope.node.path, scope.node.code)
    for item in lines:
        total.add(item)
    return Summary(scope, lines, total)


def by_children(summary: Summary) -> list[Line]:
    """The node's children, each with its subtree's figures (the page's drill-down);
    a node without children: itself."""
    node = summary.scope.node
    children = list(Union.objects.filter(parent=node).order_by("code"))
    if not children:
        own = Line(node.pk, node.name, node.path, node.code)
        own.add(summary.total)
        return [own]
    with_children = set(Union.objects.filter(parent__in=children)
                        .values_list("parent_id", flat=True))
    out = [Line(c.pk, c.name, c.path, c.code, has_children=c.pk in with_children)
           for c in children]
    for item in summary.lines:
        target = next((o for o in out if item.path.startswith(o.path)), None)
        if target is not None:
            target.add(item)
    return out


# ----------------------------------------------------------------- the detail list


@dataclass(frozen=True)
class GapRow:
    kind: str
    union: str
    unit: str
    member: str
    id_number: str  # masked
    missing: str
    todo: str
    amount: Decimal | None
    member_id: int | None
    pk: int


def detail_rows(scope: Scope, kind: str, qs: QS | None = None,
                chunk: int = 2000) -> Iterator[GapRow]:
    """The ``kind`` gaps as lines for people, ``chunk`` at a time: one query for the
    gaps and one for their members per chunk (no query per line)."""
    spec = KINDS[kind]
    qs = gap_queryset(scope, kind) if qs is None else qs
    values = qs.order_by("gap_union", "pk").values("pk", "gap_member", "gap_amount",
                                                   *spec.fields)
    batch: list[Values] = []
    for v in values.iterator(chunk_size=chunk):
        batch.append(v)
        if len(batch) >= chunk:
            yield from _rows(scope, spec, batch)
            batch = []
    if batch:
        yield from _rows(scope, spec, batch)


def _rows(scope: Scope, spec: Kind, batch: list[Values]) -> Iterator[GapRow]:
    members = (Member.objects.filter(pk__in={v["gap_member"] for v in batch})
               .select_related("unit", "union")
               .only("name", "id_number_sealed", "unit__name", "union__name"))
    found = {m.pk: m for m in members}
    for v in batch:
        m = found.get(v["gap_member"])
        amount = v["gap_amount"]
        yield GapRow(
            spec.code, m.union.name if m else "", m.unit.name if m else "",
            m.name if m else "", crypto.mask_id_number(m.id_number) if m else "",
            spec.describe(scope, v), spec.todo,
            to_fen(amount) if amount is not None else None, v["gap_member"], v["pk"])


def all_rows(scope: Scope) -> Iterator[GapRow]:
    for kind in KINDS:
        yield from detail_rows(scope, kind)


HEADERS = ("工会", "单位", "会员姓名", "身份证号（打码）", "缺什么", "怎么办", "金额（元）")
WIDTHS = (24, 28, 10, 22, 56, 48, 14)


def _cells(row: GapRow) -> tuple[str | Decimal | None, ...]:
    return (row.union, row.unit, row.member, row.id_number, row.missing, row.todo,
            row.amount)


def write_csv(rows: Iterable[GapRow], target: BinaryIO) -> int:
    """UTF-8 with BOM (Excel opens it in Chinese); amounts plain with two places; a
    text that could start a formula is apostrophe-prefixed (the project's CSV writer)."""
    handle = io.TextIOWrapper(target, "utf-8-sig", newline="")
    writer = csvsafe.writer(handle)
    writer.writerow(HEADERS)
    n = 0
    for row in rows:
        writer.writerow(_cells(row))
        n += 1
    handle.flush()
    handle.detach()
    return n


def write_xlsx(rows: Iterable[GapRow], target: BinaryIO | str) -> int:
    """One sheet through the project's safe writer: text stays text, amounts are exact
    numbers shown with two places (an unpriced stay: an empty cell)."""
    n = 0
    with xlsx.Workbook(target) as book:
        sheet = book.sheet("应享未享清单")
        sheet.header(list(zip(HEADERS, WIDTHS, strict=True)))
        for r, row in enumerate(rows, start=1):
            sheet.row(r, 0, _cells(row))
            n = r
    return n


# ----------------------------------------------------------------- the SMS


@dataclass
class Notified:
    candidates: int  # (run, member) pairs with a payable claim and no account
    written: int  # new messages in the outbox
    no_phone: int

    def summary(self) -> str:
        text = (f"提醒无银行账号的会员登记账号：应提醒 {self.candidates} 人次，"
                f"新写入发件箱 {self.written} 条")
        if self.no_phone:
            text += f"，{self.no_phone} 人没有有效手机号"
        already = self.candidates - self.written - self.no_phone
        if already:
            text += f"，{already} 人次本次测算已提醒过"
        return text


def sms_text(scheme: Scheme, name: str, amount: Decimal) -> str:
    return (f"【{scheme.union.name}】{name}您好，您有{scheme.name}免申即享补助 {yuan(amount)} 元"
            f"待发放，因您未登记银行账号暂无法转账，请尽快到单位工会登记本人银行账号。")


def notify_missing_accounts(scope: Scope, actor: User | None) -> Notified:
    """An SMS to each member with a payable proactive claim and no bank account, once per
    member and run: the outbox's unique key ``feeds.bank_account_missing:<run>:<member>``
    is the record of who was reminded for which run (a second press, or a concurrent one,
    writes nothing new). One message per member and run, naming the run's total for them."""
    claims = _no_bank(scope).values("id")
    pairs = (StayOutcome.objects.filter(outcome=StayOutcome.Outcome.PROPOSED,
                                        run__scheme=scope.scheme, claim_id__in=claims)
             .values("run_id", "member_id", "member__name", "member__phone",
                     "member__union_id")
             .annotate(total=MoneySum(Coalesce("claim__final", "claim__computed")))
             .order_by("run_id", "member_id"))
    drafts, candidates = [], 0
    for p in pairs.iterator(chunk_size=5000):
        candidates += 1
        amount = to_fen(p["total"] or ZERO)
        drafts.append(Draft(
            kind=NOTIFY_KIND, to=p["member__phone"] or "",
            text=sms_text(scope.scheme, p["member__name"], amount),
            dedupe_key=f"{NOTIFY_KIND}:{p['run_id']}:{p['member_id']}",
            member=p["member_id"], union=p["member__union_id"],
            params={"name": p["member__name"], "scheme": scope.scheme.name,
                    "amount": yuan(amount)}))
    with transaction.atomic():
        written = enqueue_many(drafts)
        result = Notified(candidates, int(written), written.no_phone)
        log.record(actor, AuditEntry.Action.GAPS_NOTIFIED, scope.scheme,
                   union_path=scope.node.path,
                   summary=f"{result.summary()}（{scope.scheme.name} · {scope.node.name}）",
                   changes={"scheme": scope.scheme.code, "members": candidates,
                            "created": int(written)})
    return result


# ----------------------------------------------------------------- the command


def rate_text(rate: Decimal | None) -> str:
    return "—" if rate is None else f"{rate}%"


def print_table(summary: Summary, out: Any = None) -> None:
    console = Console(file=out or sys.stdout, width=260, highlight=False)
    scope = summary.scope
    table = Table(title=f"应享未享 · {scope.scheme.name} · {scope.node.name}")
    for head in ("工会", "应享（件）", "已享（件）", "受益率（件数）", "应享金额（元）",
                 "已享金额（元）", "受益率（金额）"):
        table.add_column(head, justify="left" if head == "工会" else "right", no_wrap=True)
    for k in KINDS.values():
        table.add_column(k.label, justify="right", no_wrap=True)
    for item in [*summary.lines, summary.total]:
        table.add_row(item.name, f"{item.eligible:,}", f"{item.given:,}",
                      rate_text(item.rate_count), yuan(item.eligible_amount),
                      yuan(item.given_amount), rate_text(item.rate_amount),
                      *(f"{item.gaps[k]:,}" for k in KINDS))
    console.print(table)


def run_command(args: argparse.Namespace) -> int:
    """``huzhu proactive gaps --scheme CODE [--union CODE] [--out FILE] [--notify]``, as
    the system (the whole city, or the ``--union`` subtree)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    scheme = Scheme.objects.filter(code=args.scheme).select_related("union").first()
    if scheme is None:
        err.print(f"[red]没有编码为 {args.scheme} 的保障项目[/red]")
        return 2
    if applicable(scheme.policy()).empty:
        err.print(f"[red]保障项目“{scheme.name}”没有免申即享（按医保结算数据测算）的项目[/red]")
        return 2
    union = None
    if args.union:
        union = Union.objects.filter(code=args.union).first()
        if union is None:
            err.print(f"[red]没有编码为 {args.union} 的工会[/red]")
            return 2
    out: Path | None = args.out
    if out is not None and out.suffix.lower() not in (".xlsx", ".csv"):
        err.print(f"[red]清单文件应为 .xlsx 或 .csv：{out}[/red]")
        return 2
    try:
        scope = scope_for(scheme, union=union)
    except GapsRefused as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    summary = summarise(scope)
    print_table(summary)
    # ``--notify`` (when the parser offers it): the page's button, as the system.
    if getattr(args, "notify", False):
        print(notify_missing_accounts(scope, None).summary())
    if out is not None:
        with open(out, "wb") as handle:
            writer = write_csv if out.suffix.lower() == ".csv" else write_xlsx
            n = writer(all_rows(scope), handle)
        print(f"应享未享清单 {n:,} 行已写入 {out}")
    return 0
