"""The statistics a union leader reports upward: one query layer for the pages, the xlsx
exports, the annual PDF and ``huzhu stats`` (they all call :func:`statistics`).

Definitions (shown on the page, see :data:`DEFINITIONS`):

* A payout counts on its **payment date** (``Payout.paid_on``, 付款日期): a claim paid
  in 2026 for a hospital stay of 2025 is a 2026 figure. Only payouts the bank paid
  (``state = paid``) count; a payout the bank returned (failed) never counts — its claim
  is paid again later, and that payout counts on its own date.
* **人次** (person-times): paid payouts; a claim is paid at most once, so this is the
  number of paid claims. **人数** (people): distinct members with at least one.
* A payout belongs to its member's grassroots union when it was paid (recorded within a
  minute of the payment); a district's figures are the sum of its grassroots unions'.
* 参保人次: enrolments in the scheme's periods overlapping the dates (each member and
  period once, withdrawn ones excluded); 覆盖人数: members whose cover was in force (paid,
  or covered from enrolment) in one of those periods. A free scheme has no enrolments:
  its covered members are the active members of the node now.
* 已收互助金: premium payments registered with a payment date in the dates.
* 赔付率 = paid total ÷ premiums collected, same dates and node: the fund page's rule
  (``coverage.ledger.LOSS_RATIO_DEFINITION``).
* 理赔周期: days from submission (提交) to payment date, over the payouts counted.

Every figure is aggregated in the database over the recorded paid payouts
(:class:`~huzhu.reports.models.PaidPayout`, one narrow row each, kept current by
:func:`huzhu.reports.paid.refresh`): an index range, no join; nothing is read row by row.
Dataclasses carry Decimals.

To add a figure (the feeds issue adds the proactive share and open settlement rows): a
field on :class:`Statistics`, its computation in :func:`statistics`, a line in
:data:`HEADLINES` (page, PDF and exports show it) and in :meth:`Statistics.to_dict`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import caches
from django.db import OperationalError, connection

from huzhu.coverage.ledger import LOSS_RATIO_DEFINITION
from huzhu.coverage.models import Enrolment, Payment, Period, PremiumNotice, Scheme
from huzhu.feeds.proactive.status import unevaluated
from huzhu.lib.money import MoneySum, from_fen, sum_fen_sql
from huzhu.lib.sql import quote
from huzhu.members.models import Member
from huzhu.orgs.models import Union, Unit
from huzhu.orgs.scope import union_path
from huzhu.reports import paid
from huzhu.reports import tiers as tier_plans
from huzhu.reports.models import PaidPayout
from huzhu.rules.money import loss_ratio, percent, to_fen

ZERO = Decimal("0.00")
LARGE = Decimal("10000.00")  # the seeds' "获补贴金超1万元"


class OutOfScope(LookupError):
    """The union node asked for is not in the user's subtree (or the scheme's)."""


# ---------------------------------------------------------------- the selection


@dataclass(frozen=True)
class Selection:
    """What a statistics page shows: a scheme, an inclusive date range, a union node."""

    scheme: Scheme
    start: dt.date
    end: dt.date
    union: Union
    union_ids: tuple[int, ...] | None
    """Unions whose members count; None: every member of the scheme (its whole tree)."""

    @property
    def label(self) -> str:
        if self.start.month == 1 and self.start.day == 1 and self.end == dt.date(
                self.start.year, 12, 31):
            return f"{self.start.year}年"
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def select(user, scheme: Scheme, *, start: dt.date, end: dt.date,
           union: Union | None = None) -> Selection:
    """The selection for ``user`` (None: the whole tree, as ``huzhu stats`` runs). The
    node defaults to the user's own, or the scheme's when the user sits above it; a
    node outside both the user's subtree and the scheme's raises :class:`OutOfScope`."""
    if end < start:
        raise ValueError("结束日期不能早于开始日期")
    prefix = None if user is None else union_path(user)
    root = scheme.union
    if union is None:
        own = getattr(user, "union", None) if user is not None else None
        union = own if own is not None and prefix and prefix.startswith(root.path) else root
    if not union.path.startswith(root.path) or (prefix and not union.path.startswith(prefix)):
        raise OutOfScope(union.code)
    ids = None
    if union.pk != root.pk:
        ids = tuple(Union.objects.filter(path__startswith=union.path)
                    .values_list("id", flat=True))
    return Selection(scheme, start, end, union, ids)


# ---------------------------------------------------------------- the figures


@dataclass(frozen=True)
class BenefitLine:
    code: str
    name: str
    paid_total: Decimal
    person_times: int
    members: int


@dataclass(frozen=True)
class MonthLine:
    month: str  # 2026-03
    paid_total: Decimal
    person_times: int


@dataclass(frozen=True)
class UnionLine:
    union_id: int
    code: str
    name: str
    level: str
    paid_total: Decimal
    person_times: int
    members: int
    has_children: bool


@dataclass(frozen=True)
class TierLine:
    benefit: str
    benefit_name: str
    label: str
    person_times: int
    paid_total: Decimal


@dataclass(frozen=True)
class CycleTime:
    claims: int
    median_days: int | None
    p90_days: int | None


@dataclass
class Statistics:
    selection: Selection
    covered: int
    enrolled: int | None
    """None for a free scheme (no enrolment)."""
    premiums: Decimal
    paid_total: Decimal
    person_times: int
    members_paid: int
    over_10000_count: int
    over_10000_total: Decimal
    max_single: Decimal
    max_member_total: Decimal
    cycle: CycleTime
    proactive_person_times: int = 0
    """Of ``person_times``, those paid without an application (免申即享)."""
    proactive_total: Decimal = ZERO
    open_settlements: int = 0
    """Settled stays of the selection's members discharged in its dates that no run of
    the scheme has evaluated yet."""
    by_benefit: list[BenefitLine] = field(default_factory=list)
    by_month: list[MonthLine] = field(default_factory=list)
    by_union: list[UnionLine] = field(default_factory=list)
    by_tier: list[TierLine] = field(default_factory=list)

    @property
    def loss_ratio(self) -> Decimal | None:
        """赔付率 in percent, one decimal, half-up (None without premium income): the
        fund page's figure too (:func:`huzhu.rules.money.loss_ratio`)."""
        return loss_ratio(self.paid_total, self.premiums)

    @property
    def proactive_share(self) -> Decimal | None:
        """免申即享占比: proactive person-times in percent of all, one decimal."""
        return percent(self.proactive_person_times, self.person_times)

    def headlines(self) -> list[Headline]:
        return [Headline(key, label, getter(self), unit) for key, label, getter, unit
                in HEADLINES]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, amounts as strings with two decimals (``huzhu stats --json``)."""
        s = self.selection
        return {
            "scheme": s.scheme.code, "from": s.start.isoformat(), "to": s.end.isoformat(),
            "union": s.union.code,
            "paid_total": _s(self.paid_total), "person_times": self.person_times,
            "members_paid": self.members_paid, "over_10000_count": self.over_10000_count,
            "over_10000_total": _s(self.over_10000_total), "max_single": _s(self.max_single),
            "max_member_total": _s(self.max_member_total),
            "covered": self.covered, "enrolled": self.enrolled,
            "premiums": _s(self.premiums),
            "loss_ratio": None if self.loss_ratio is None else str(self.loss_ratio),
            "cycle_days": {"claims": self.cycle.claims, "median": self.cycle.median_days,
                           "p90": self.cycle.p90_days},
            "proactive_person_times": self.proactive_person_times,
            "proactive_total": _s(self.proactive_total),
            "proactive_share": None if self.proactive_share is None
            else str(self.proactive_share),
            "open_settlements": self.open_settlements,
            "by_benefit": {b.code: {"name": b.name, "paid_total": _s(b.paid_total),
                                    "person_times": b.person_times, "members": b.members}
                           for b in self.by_benefit},
            "by_month": {m.month: {"paid_total": _s(m.paid_total),
                                   "person_times": m.person_times} for m in self.by_month},
            "by_union": {u.code: {"name": u.name, "paid_total": _s(u.paid_total),
                                  "person_times": u.person_times, "members": u.members}
                         for u in self.by_union},
            "by_tier": [{"benefit": t.benefit, "tier": t.label,
                         "person_times": t.person_times, "paid_total": _s(t.paid_total)}
                        for t in self.by_tier],
        }


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: Any
    unit: str


def _ratio(s: Statistics) -> Any:
    return s.loss_ratio


# The key figures, in the order the page, the PDF and the xlsx show them.
HEADLINES = [
    ("covered", "覆盖会员", lambda s: s.covered, "人"),
    ("enrolled", "参保", lambda s: s.enrolled, "人次"),
    ("premiums", "已收互助金", lambda s: s.premiums, "元"),
    ("paid_total", "给付金额", lambda s: s.paid_total, "元"),
    ("person_times", "给付人次", lambda s: s.person_times, "人次"),
    ("members_paid", "给付人数", lambda s: s.members_paid, "人"),
    ("over_10000_count", "单笔超1万元", lambda s: s.over_10000_count, "人次"),
    ("over_10000_total", "单笔超1万元合计", lambda s: s.over_10000_total, "元"),
    ("max_single", "最高单笔给付", lambda s: s.max_single, "元"),
    ("max_member_total", "会员个人累计最高", lambda s: s.max_member_total, "元"),
    ("loss_ratio", "赔付率", _ratio, "%"),
    ("cycle_median", "理赔周期中位数", lambda s: s.cycle.median_days, "天"),
    ("cycle_p90", "理赔周期90分位", lambda s: s.cycle.p90_days, "天"),
    ("proactive_share", "免申即享占比", lambda s: s.proactive_share, "%"),
    ("open_settlements", "医保结算待测算", lambda s: s.open_settlements, "条"),
]

DEFINITIONS = [
    ("统计口径", "给付按付款日期（银行付款日）计入所选期间：上一年出险、本年付款的理赔计入本年。"
             "只统计银行已付款的给付；银行退回（付款失败）的不计，重新给付后按新的付款日期计入。"),
    ("人次", "已付款的给付笔数。一件理赔只给付一次，即已给付的理赔件数。"),
    ("人数", "有至少一笔已付款给付的会员人数（同一会员多次给付计一人）。"),
    ("归属工会", "按付款时会员所属的基层工会归属（会员以后转会，以往的数字不变）；"
             "区县的数字是其下各基层工会之和。"),
    ("参保人次 / 覆盖人数", "参保人次：与所选期间重叠的互助期中的有效参保记录"
                     "（每人每期一次，已退保的不计）；覆盖人数：保障已生效（已缴费或参保即生效）的会员人数。免费补贴项目不需参保，"
                     "覆盖人数为该工会现有在职会员数。"),
    ("已收互助金", "到账日期在所选期间的缴费。"),
    # The fund page's wording (coverage.ledger), so the two pages cannot drift apart.
    ("赔付率", LOSS_RATIO_DEFINITION + "；统计页按所选期间和工会计算。"),
    ("理赔周期", "从提交申请到付款日期的天数（中位数与90分位数）。"),
    ("免申即享占比", "给付人次中，由医保结算数据主动发现、会员无需申请的理赔所占比例。"),
    ("医保结算待测算", "所选工会会员在所选期间出院、已导入但尚未按本保障项目测算的医保结算记录条数"
                 "（未匹配到会员的记录见“医保结算”页面）。"),
    ("档次", "按保障项目所用政策文件的档次（费用分档、伤残等级、伤害结果），"
           "以出险日适用的政策版本、计算所用的基数归档。"),
]


def _s(amount: Decimal) -> str:
    return str(to_fen(amount))


def _money(value: Any) -> Decimal:
    # One amount as SQLite returns it (int or float, no decimal type): back to the fen.
    # Its repr is the shortest text that reads back as the same float: the stored amount.
    if value is None:
        return ZERO
    return to_fen(str(value))


def _sum(expression: str) -> str:
    """The exact total of a money expression, in fen (read with ``from_fen``)."""
    return sum_fen_sql(expression, connection.vendor)


# ---------------------------------------------------------------- SQL


def _t(model) -> str:
    return quote(model._meta.db_table)


class _Paid:
    """The FROM and WHERE of the paid payouts a selection counts, with their params: the
    recorded payouts (:mod:`huzhu.reports.paid`), by the (scheme, paid_on) or the
    (scheme, union, paid_on) index — no join."""

    def __init__(self, sel: Selection) -> None:
        self.sel = sel
        self.sql = (f" FROM {_t(PaidPayout)} r WHERE r.scheme_id = %s AND r.paid_on >= %s"
                    " AND r.paid_on <= %s")
        self.params: list[Any] = [sel.scheme.pk, sel.start, sel.end]
        if sel.union_ids is not None:
            self.sql += " AND " + _in("r.union_id", sel.union_ids, self.params)


def _in(column: str, ids: tuple[int, ...], params: list[Any]) -> str:
    if not ids:
        return "1 = 0"
    if connection.vendor == "postgresql":
        params.append(list(ids))
        return f"{column} = ANY(%s)"
    # SQLite: integers inline (they come from the database, not a request), as its
    # parameter count is bounded.
    return f"{column} IN ({', '.join(str(int(i)) for i in ids)})"


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _month_sql() -> str:
    if connection.vendor == "postgresql":
        return "date_trunc('month', r.paid_on)"  # cheaper per row than to_char
    return "strftime('%%Y-%%m', r.paid_on)"


# ---------------------------------------------------------------- the queries


def statistics(user, scheme: Scheme, *, start: dt.date, end: dt.date,
               union: Union | None = None) -> Statistics:
    """Every figure of the statistics page for ``user`` (None: the whole tree)."""
    sel = select(user, scheme, start=start, end=end, union=union)
    return statistics_for(sel)


CACHE_SECONDS = 600  # covered members change without payouts: at most ten minutes old


def statistics_for(sel: Selection, *, refresh: bool = True, cached: bool = True
                   ) -> Statistics:
    """The figures of ``sel``; payouts paid since the last refresh are recorded first
    (``refresh=False``: as recorded, for a caller that just refreshed). The result is
    cached until a payout is recorded (the recorded payouts' version is in the key) or
    ten minutes have passed; housekeeping computes the usual pages ahead
    (:mod:`huzhu.reports.precompute`), so a page rarely waits for the aggregates."""
    if refresh:
        try:
            paid.refresh()
        except OperationalError:
            # SQLite: another job holds the write lock (an import). The figures are then
            # those recorded up to the last refresh (at most a minute old, housekeeping).
            if connection.vendor != "sqlite":
                raise
    if not cached:
        return _compute(sel)
    cache, key = caches["reports"], cache_key(sel, paid.version())
    found = cache.get(key)
    if found is None:
        found = _compute(sel)
        cache.set(key, found, CACHE_SECONDS)
    return found


def cache_key(sel: Selection, version: int) -> str:
    """Where the figures of ``sel`` at recorded-payouts ``version`` are kept (the
    database cache shared by every process, :mod:`huzhu.reports.precompute`)."""
    return (f"huzhu:reports:{sel.scheme.pk}:{sel.scheme.policy_hash[:16]}:{sel.start}:"
            f"{sel.end}:{sel.union.pk}:{version}")


def _compute(sel: Selection) -> Statistics:
    policy = sel.scheme.policy()
    names = {b.code: b.name for b in policy.benefits}
    plan = tier_plans.plan(policy)
    cube = _cube(sel)
    totals = _totals(cube)
    people = _people(sel)
    enrolled, covered = _coverage(sel)
    stats = Statistics(
        selection=sel, covered=covered, enrolled=enrolled, premiums=_premiums(sel),
        paid_total=totals["total"], person_times=totals["n"],
        members_paid=people["all"], over_10000_count=totals["big_n"],
        over_10000_total=totals["big_total"], max_single=totals["max"],
        max_member_total=people["max_member"], cycle=_cycle(sel),
        by_benefit=_by_benefit(cube, people["by_benefit"], policy, names),
        by_month=_by_month(cube, sel), by_union=_by_union(sel),
        by_tier=_by_tier(cube, plan),
    )
    stats.proactive_person_times, stats.proactive_total = _proactive(sel)
    stats.open_settlements = _open_settlements(sel)
    return stats


def _proactive(sel: Selection) -> tuple[int, Decimal]:
    where = _Paid(sel)
    n, total = _rows(f"SELECT count(*), {_sum('r.amount')}{where.sql} AND r.proactive",
                     where.params)[0]
    return int(n or 0), from_fen(total)


def _open_settlements(sel: Selection) -> int:
    stays = unevaluated(sel.scheme).filter(discharge_date__gte=sel.start,
                                           discharge_date__lte=sel.end,
                                           member__isnull=False)
    if sel.union_ids is not None:
        stays = stays.filter(member__union_id__in=sel.union_ids)
    return stays.count()


def _cube(sel: Selection) -> list[tuple]:
    """(benefit, month, tier, n, total, n > 10k, total > 10k, max) over the paid payouts:
    one pass, from which totals, benefits, months and tiers are summed in Python."""
    where = _Paid(sel)
    big = f"CASE WHEN r.amount > {LARGE} THEN"
    sql = (f"SELECT r.benefit, {_month_sql()}, r.tier, count(*), {_sum('r.amount')}, "
           f"sum({big} 1 ELSE 0 END), {_sum(f'{big} r.amount ELSE 0 END')}, max(r.amount)"
           f"{where.sql} GROUP BY 1, 2, 3")
    return _rows(sql, where.params)


def _totals(cube: list[tuple]) -> dict[str, Any]:
    out = {"n": 0, "total": ZERO, "big_n": 0, "big_total": ZERO, "max": ZERO}
    for _b, _m, _t, n, total, big_n, big_total, top in cube:
        out["n"] += n
        out["total"] += from_fen(total)
        out["big_n"] += int(big_n or 0)
        out["big_total"] += from_fen(big_total)
        out["max"] = max(out["max"], _money(top))
    return out


def _people(sel: Selection) -> dict[str, Any]:
    """Distinct members paid (overall and per benefit) and the largest member total."""
    where = _Paid(sel)
    # One grouping by member and benefit, read twice (a CTE used twice is computed once).
    rows = _rows(f"WITH pm AS (SELECT r.member_id AS mid, r.benefit AS b, "
                 f"{_sum('r.amount')} AS s{where.sql} GROUP BY r.member_id, r.benefit) "
                 "SELECT b, count(*), NULL FROM pm GROUP BY b UNION ALL "
                 "SELECT NULL, count(*), max(s) FROM (SELECT mid, sum(s) AS s FROM pm "
                 "GROUP BY mid) y", where.params)
    by_benefit = {b: n for b, n, _ in rows if b is not None}
    top = next((n, m) for b, n, m in rows if b is None)
    return {"by_benefit": by_benefit, "all": int(top[0] or 0), "max_member": from_fen(top[1])}


def _by_benefit(cube, members: dict[str, int], policy, names) -> list[BenefitLine]:
    sums: dict[str, list] = defaultdict(lambda: [ZERO, 0])
    for benefit, _m, _t, n, total, *_ in cube:
        sums[benefit][0] += from_fen(total)
        sums[benefit][1] += n
    order = [*policy.benefit_codes, *sorted(set(sums) - set(policy.benefit_codes))]
    return [BenefitLine(code, names.get(code, code), sums[code][0] if code in sums else ZERO,
                        sums[code][1] if code in sums else 0, int(members.get(code, 0)))
            for code in order]


def _by_month(cube, sel: Selection) -> list[MonthLine]:
    sums: dict[str, list] = defaultdict(lambda: [ZERO, 0])
    for _b, month, _t, n, total, *_ in cube:
        key = month if isinstance(month, str) else f"{month:%Y-%m}"
        sums[key][0] += from_fen(total)
        sums[key][1] += n
    months, day = [], sel.start.replace(day=1)
    while day <= sel.end and len(months) < 240:
        months.append(f"{day:%Y-%m}")
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return [MonthLine(m, *(sums[m] if m in sums else (ZERO, 0))) for m in months]


def _by_tier(cube, plan: tier_plans.TierPlan) -> list[TierLine]:
    sums: dict[int | None, list] = defaultdict(lambda: [0, ZERO])
    for _b, _m, tier, n, total, *_ in cube:
        sums[tier][0] += n
        sums[tier][1] += from_fen(total)
    lines = [TierLine(t.benefit, t.benefit_name, t.label, *sums.get(t.index, (0, ZERO)))
             for t in plan.tiers]
    if -1 in sums:  # paid claims the policy's tiers do not place (a manual amount)
        lines.append(TierLine("", "", "（未能归档）", *sums[-1]))
    return lines


def _by_union(sel: Selection) -> list[UnionLine]:
    """The node's children (drill-down), each with its subtree's payouts."""
    children = list(Union.objects.filter(parent=sel.union).order_by("code"))
    if not children:
        return []
    paths = dict(Union.objects.filter(path__startswith=sel.union.path)
                 .values_list("id", "path"))
    where = _Paid(sel)
    rows = _rows(f"SELECT r.union_id, count(*), {_sum('r.amount')}, count(DISTINCT r.member_id)"
                 f"{where.sql} GROUP BY r.union_id", where.params)
    depth = sel.union.path.count("/")
    sums: dict[int, list] = defaultdict(lambda: [ZERO, 0, 0])
    for union_id, n, total, members in rows:
        parts = paths.get(union_id, "").strip("/").split("/")
        if len(parts) < depth:
            continue
        child = int(parts[depth - 1])
        sums[child][0] += from_fen(total)
        sums[child][1] += n
        sums[child][2] += members  # a member is in one union: counts add up
    with_children = set(Union.objects.filter(parent__in=children)
                        .values_list("parent_id", flat=True))
    return [UnionLine(u.pk, u.code, u.name, u.get_level_display(),
                      *(sums[u.pk] if u.pk in sums else (ZERO, 0, 0)),
                      has_children=u.pk in with_children) for u in children]


def _cycle(sel: Selection) -> CycleTime:
    where = _Paid(sel)
    rows = _rows(f"SELECT r.cycle_days, count(*){where.sql} AND r.cycle_days IS NOT NULL "
                 "GROUP BY 1 ORDER BY 1", where.params)
    total = sum(n for _, n in rows)
    return CycleTime(total, _rank(rows, total, Decimal("0.5")),
                     _rank(rows, total, Decimal("0.9")))


def _rank(histogram: list[tuple], total: int, q: Decimal) -> int | None:
    """The nearest-rank percentile (the smallest value with at least q of the claims at
    or below it) over a (days, count) histogram."""
    if not total:
        return None
    wanted = max(1, int((q * total).to_integral_value(rounding="ROUND_CEILING")))
    seen = 0
    for value, n in histogram:
        seen += n
        if seen >= wanted:
            return int(value)
    return int(histogram[-1][0])


def _periods(sel: Selection) -> list[int]:
    return list(Period.objects.filter(scheme=sel.scheme, start__lte=sel.end,
                                      end__gte=sel.start).values_list("id", flat=True))


def _coverage(sel: Selection) -> tuple[int | None, int]:
    """(enrolled person-times, covered members)."""
    if not sel.scheme.needs_enrolment:
        qs = Member.objects.filter(status=Member.Status.ACTIVE)
        root = sel.scheme.union.path
        if sel.union_ids is not None:
            qs = qs.filter(union_id__in=sel.union_ids)
        elif Union.objects.exclude(path__startswith=root).exists():
            qs = qs.filter(union__path__startswith=root)
        # else the scheme's node is the tree's only root: every member, no join
        return None, qs.count()
    periods = _periods(sel)
    if not periods:
        return 0, 0
    qs = Enrolment.objects.filter(period_id__in=periods, state=Enrolment.State.ACTIVE)
    if sel.union_ids is not None:
        # The (period, unit, state, paid_on, premium) index, and units by union.
        qs = qs.filter(unit_id__in=Unit.objects.filter(union_id__in=sel.union_ids)
                       .values("id"))
    enrolled = qs.count()
    effective = qs.filter(coverage_from__isnull=False)
    if len(periods) == 1:  # one enrolment per member and period: no DISTINCT needed
        return enrolled, effective.count()
    return enrolled, effective.values("member_id").distinct().count()


def _premiums(sel: Selection) -> Decimal:
    qs = Payment.objects.filter(notice__period__scheme=sel.scheme, paid_on__gte=sel.start,
                                paid_on__lte=sel.end)
    if sel.union_ids is not None:
        qs = qs.filter(notice__in=PremiumNotice.objects.filter(
            unit__union_id__in=sel.union_ids).values("id"))
    return _money(qs.aggregate(t=MoneySum("amount"))["t"])
