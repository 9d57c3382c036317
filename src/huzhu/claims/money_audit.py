"""The money audit (``huzhu audit money``): does every yuan given hold, whatever path it took?

``huzhu ledger check`` proves the books agree with themselves; this proves they agree
with the rules. It reads the whole history and names

- each given claim (approved, in a batch, paid) whose amount exceeds what the engine
  allows given everything else given: per event, per member, per family, per period,
  once (:func:`_amount_findings`);
- each stay, settlement or invoice given twice without a second person's word that it
  is not a duplicate (the rule of :mod:`huzhu.claims.duplicates`, over given claims);
- each paid payout whose amount is not the claim's, or whose date lies before its
  batch was made, before the event, or after today;
- each given claim with more days in hospital than its dates hold, or whose event lies
  outside its period;
- each ledger entry dated after today, a subsidy dated outside its period, a payout
  booked before its period began;
- each cover that outlasts its period (or starts before it).

Amounts, set-based first: the engine runs once per scheme over every given claim in
event order (a batch, as ``huzhu calc`` would). A claim given no more than the batch
allows is fine — the batch counts the engine's own amounts against the caps, which are
never below what was given when nothing is wrong, so it is the stricter of the two.
The others (and every given claim of their families, which share their caps) are then
computed exactly as the claims path does (:func:`huzhu.claims.computation.compute`:
everything else given counts), and only a claim still above that is named. A city of a
million members is one engine call per scheme plus a handful of single claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
from django.db import connection
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from huzhu.claims.computation import compute
from huzhu.claims.engine_inputs import BLANK_IS_NULL, CLAIM_EVENT_FIELDS, EVENT_NAMES
from huzhu.claims.models import Claim, Payout
from huzhu.coverage.engine_inputs import enrolment_table, member_table
from huzhu.coverage.models import Enrolment, LedgerEntry, Scheme
from huzhu.lib.money import MoneySum
from huzhu.lib.sql import quote
from huzhu.rules import InputError, evaluate
from huzhu.rules.columns import arrow_schema, stay_days
from huzhu.rules.money import yuan

CHUNK = 50_000
LISTED = 200  # findings printed per check; the count is always whole


@dataclass
class Check:
    """One rule of the audit: its name in Chinese, and each place it does not hold."""

    name: str
    findings: list[str] = field(default_factory=list)
    count: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.count == 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.findings) < LISTED:
            self.findings.append(text)


def run(today: dt.date | None = None,
        progress: Callable[[str], None] | None = None) -> list[Check]:
    """Every check of the audit, in order; ``today`` defaults to the local date."""
    today = today or timezone.localdate()
    steps: list[tuple[str, Callable[[Check], None]]] = [
        ("给付金额不超过政策允许", _amount_findings),
        ("同一住院、结算记录或发票只给付一次", _duplicate_findings),
        ("付款与核定金额、日期一致", lambda c: _payout_findings(c, today)),
        ("理赔事实与日期一致", _fact_findings),
        ("互助金账日期", lambda c: _ledger_findings(c, today)),
        ("保障期不超出互助期", _cover_findings),
    ]
    checks = []
    for name, step in steps:
        check = Check(name)
        started = timezone.now()
        if progress:
            progress(f"核查：{name} …")
        step(check)
        check.seconds = (timezone.now() - started).total_seconds()
        checks.append(check)
    return checks


# ------------------------------------------------------------------ amounts

EVENTS = arrow_schema("events")


def _given_events(scheme: Scheme) -> tuple[pa.Table, dict[str, tuple[int, Decimal]]]:
    """The scheme's given claims as the engine's events (event_id = the claim number),
    and number → (claim id, amount given)."""
    given: dict[str, tuple[int, Decimal]] = {}
    columns: list[list[Any]] = [[] for _ in EVENT_NAMES]
    qs = (Claim.objects.filter(scheme=scheme, state__in=Claim.GIVEN).order_by("id")
          .values_list(*CLAIM_EVENT_FIELDS, "pk", "final", "computed"))
    for values in qs.iterator(chunk_size=CHUNK):
        row = list(values[:len(CLAIM_EVENT_FIELDS)])
        pk, final, computed = values[len(CLAIM_EVENT_FIELDS):]
        row[1] = str(row[1])
        for i, name in enumerate(EVENT_NAMES):
            value = row[i]
            columns[i].append(None if name in BLANK_IS_NULL and value == "" else value)
        amount = final if final is not None else computed
        given[row[0]] = (pk, Decimal(amount or 0).quantize(Decimal("0.01")))
    table = pa.table([pa.array(col, EVENTS.field(name).type)
                      for col, name in zip(columns, EVENT_NAMES, strict=True)], schema=EVENTS)
    return table, given


def _amount_findings(check: Check) -> None:
    for scheme in Scheme.objects.order_by("id"):
        if not Claim.objects.filter(scheme=scheme, state__in=Claim.GIVEN).exists():
            continue
        events, given = _given_events(scheme)
        policy = scheme.policy()
        members = member_table(scheme).drop_columns(["union"])
        enrolments = enrolment_table(scheme) if policy.reads_enrolments else None
        try:
            out = evaluate(policy, members, events, enrolments, columns="minimal")
        except InputError as exc:
            check.add(f"{scheme.name}：给付记录无法交由引擎重算（{exc}）")
            continue
        over = _over(out, given)
        if not over:
            continue
        for claim in _with_families(scheme, over, members):
            row = compute(claim)
            allowed = row["payable"]
            paid = given.get(claim.number, (0, Decimal("0.00")))[1]
            if paid > allowed:
                why = row.get("reason_message") or "按申报的事实计算即为此数"
                check.add(f"理赔 {claim.number}（{claim.member.name}，{scheme.name}"
                          f"·{claim.benefit_name}，事件日期 {claim.event_date}）已给付 "
                          f"{yuan(paid)} 元，按全部给付记录政策最多允许 {yuan(allowed)} 元："
                          f"{why}")


def _over(out: pa.Table, given: dict[str, tuple[int, Decimal]]) -> set[int]:
    """Claim ids given more than the batch allows."""
    over = set()
    for number, payable in zip(out["event_id"].to_pylist(), out["payable"].to_pylist(),
                               strict=True):
        pk, amount = given[str(number)]
        if amount > (payable or Decimal("0.00")):
            over.add(pk)
    return over


def _with_families(scheme: Scheme, over: set[int], members: pa.Table) -> Iterator[Claim]:
    """The claims in ``over`` and every other given claim of their families in the
    scheme (they share the family's and the member's caps), in event order."""
    family_of = dict(zip(members["member_id"].to_pylist(), members["family_id"].to_pylist(),
                         strict=True))
    flagged = Claim.objects.filter(pk__in=over).values_list("member_id", flat=True)
    families = {family_of.get(str(m), str(m)) for m in flagged}
    member_ids = [int(str(m)) for m, f in family_of.items() if f in families]
    for i in range(0, len(member_ids), 500):
        yield from (Claim.objects.filter(scheme=scheme, state__in=Claim.GIVEN,
                                         member_id__in=member_ids[i:i + 500])
                    .select_related("member", "scheme").order_by("event_date", "id"))


# ------------------------------------------------------------------ duplicates

def _sql_rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def _given_in(alias: str) -> str:
    states = ", ".join(f"'{s}'" for s in Claim.GIVEN)
    return f"{alias}.{quote('state')} IN ({states})"


def _duplicate_findings(check: Check) -> None:
    """Two given claims of one member that the duplicate rule (claims.duplicates) would
    have held back, neither carrying a second person's word that it is no duplicate."""
    t = quote(Claim._meta.db_table)

    def q(name: str) -> str:
        return quote(name)

    start_a = f"COALESCE(a.{q('admit_date')}, a.{q('event_date')})"
    start_b = f"COALESCE(b.{q('admit_date')}, b.{q('event_date')})"
    overlap = (f"(a.{q('scheme_id')} = b.{q('scheme_id')} AND a.{q('benefit')} = "
               f"b.{q('benefit')} AND (({start_a} < b.{q('event_date')} AND {start_b} < "
               f"a.{q('event_date')}) OR {start_a} = {start_b}))")
    settlement = (f"(a.{q('settlement_id')} IS NOT NULL AND a.{q('settlement_id')} = "
                  f"b.{q('settlement_id')} AND a.{q('benefit')} = b.{q('benefit')})")
    invoice = (f"(a.{q('invoice_number')} <> '' AND a.{q('invoice_number')} = "
               f"b.{q('invoice_number')})")
    sql = (f"SELECT a.{q('number')}, b.{q('number')}, "
           f"CASE WHEN {settlement} THEN 1 ELSE 0 END, CASE WHEN {overlap} THEN 1 ELSE 0 END, "
           f"CASE WHEN {invoice} THEN a.{q('invoice_number')} ELSE '' END "
           f"FROM {t} a JOIN {t} b ON b.{q('member_id')} = a.{q('member_id')} "
           f"AND b.{q('id')} > a.{q('id')} "
           f"WHERE {_given_in('a')} AND {_given_in('b')} "
           f"AND a.{q('duplicate_override_by_id')} IS NULL "
           f"AND b.{q('duplicate_override_by_id')} IS NULL "
           f"AND ({settlement} OR {overlap} OR {invoice}) ORDER BY a.{q('id')}, b.{q('id')}")
    for first, second, same_stay, overlapping, invoice_no in _sql_rows(sql):
        why = []
        if same_stay:
            why.append("同一医保结算记录")
        if overlapping:
            why.append("同一保障项目住院期间重叠")
        if invoice_no:
            why.append(f"同一发票号 {invoice_no}")
        check.add(f"理赔 {first} 与 {second} 都已给付：{'、'.join(why)}，"
                  "且无人确认非重复")


# ------------------------------------------------------------------ payouts, events, ledger

def _payout_findings(check: Check, today: dt.date) -> None:
    """Only the wrong rows are read (a city pays millions): the filter is the database's."""
    made = TruncDate("batch__created_at")  # in the project's time zone, as pages show it
    # A claim's paid payouts together: one, or (a 复核 raised a paid amount, see
    # huzhu.claims.appeals) the first and the difference. A paid claim's add up to its
    # approved amount; a claim raised and not yet paid the difference, to less.
    paid_total = Subquery(Payout.objects.filter(claim_id=OuterRef("claim_id"),
                                                state=Payout.State.PAID)
                          .values("claim_id").annotate(s=MoneySum("amount")).values("s"))
    total_wrong = Q(claim__final__isnull=False) & (
        Q(claim__state=Claim.State.PAID) & ~Q(paid_total=F("claim__final"))
        | Q(paid_total__gt=F("claim__final")))
    wrong = (Payout.objects.filter(state=Payout.State.PAID)
             .annotate(made=made, paid_total=paid_total)
             .filter(Q(paid_on__isnull=True) | Q(paid_on__lt=F("made"))
                     | Q(paid_on__gt=today) | Q(paid_on__lt=F("claim__event_date"))
                     | total_wrong)
             .select_related("claim", "batch").order_by("id"))
    for payout in wrong.iterator(chunk_size=CHUNK):
        claim, number, on = payout.claim, payout.claim.number, payout.paid_on
        total = payout.paid_total
        if claim.final is not None and (total > claim.final or (
                claim.state == Claim.State.PAID and total != claim.final)):
            check.add(f"理赔 {number} 付款 {yuan(total)} 元，核定金额为 "
                      f"{yuan(claim.final)} 元")
        if on is None:
            check.add(f"理赔 {number} 已付款却没有付款日期")
        elif on < payout.made or on > today:
            check.add(f"理赔 {number} 的付款日期 {on} 不在批次 {payout.batch.number} 创建"
                      f"（{payout.made}）至今天（{today}）之间")
        elif on < claim.event_date:
            check.add(f"理赔 {number} 的付款日期 {on} 早于事件日期 {claim.event_date}")


def _fact_findings(check: Check) -> None:
    """Days in hospital no more than the stay's (算入不算出, as the filing form derives
    them), and the event within the claim's period."""
    stays = (Claim.objects.filter(state__in=Claim.GIVEN, days__isnull=False,
                                  admit_date__isnull=False).order_by("id")
             .values_list("number", "admit_date", "event_date", "days"))
    for number, admit, discharge, days in stays.iterator(chunk_size=CHUNK):
        most = stay_days(admit, discharge)
        if days > most:
            check.add(f"理赔 {number} 填报住院 {days} 天，入院 {admit} 至出院 {discharge} "
                      f"只有 {most} 天")
    outside = (Claim.objects.filter(state__in=Claim.GIVEN, period__isnull=False)
               .select_related("period", "scheme").order_by("id"))
    outside = outside.filter(Q(event_date__lt=F("period__start"))
                             | Q(event_date__gt=F("period__end")))
    for claim in outside.iterator(chunk_size=CHUNK):
        check.add(f"理赔 {claim.number} 的事件日期 {claim.event_date} 不在其互助期"
                  f"（{claim.scheme.name} {claim.period.name}，{claim.period.start} 至 "
                  f"{claim.period.end}）内")


def _ledger_findings(check: Check, today: dt.date) -> None:
    """Entries dated after today; a subsidy outside its period (the rule of
    ``coverage.fund_views.subsidy``); a payout booked before its period began. Premiums
    may be booked before the period (early payment) or after it (arrears collected)."""
    entries = LedgerEntry.objects.select_related("scheme", "period").order_by("id")
    wrong = entries.filter(
        Q(booked_on__gt=today)
        | Q(kind=LedgerEntry.Kind.SUBSIDY, period__isnull=False)
        & (Q(booked_on__lt=F("period__start")) | Q(booked_on__gt=F("period__end")))
        | Q(kind=LedgerEntry.Kind.PAYOUT, booked_on__lt=F("period__start")))
    for entry in wrong.iterator(chunk_size=CHUNK):
        where = f"{entry.scheme.name}"
        if entry.period is not None:
            where += f" {entry.period.name}（{entry.period.start} 至 {entry.period.end}）"
        if entry.booked_on > today:
            why = f"晚于今天（{today}）"
        elif entry.kind == LedgerEntry.Kind.SUBSIDY:
            why = "不在其互助期内"
        else:
            why = "早于其互助期开始"
        check.add(f"互助金账第 {entry.pk} 号（{entry.get_kind_display()} "
                  f"{yuan(entry.amount)} 元，{where}）记账日期 {entry.booked_on} {why}")


def _cover_findings(check: Check) -> None:
    wrong = (Enrolment.objects.filter(Q(coverage_to__gt=F("period__end"))
                                      | Q(coverage_from__lt=F("period__start"))
                                      | Q(coverage_from__gt=F("coverage_to")))
             .select_related("member", "period__scheme").order_by("id"))
    for e in wrong.iterator(chunk_size=CHUNK):
        check.add(f"{e.member.name} 在 {e.period.scheme.name} {e.period.name}"
                  f"（{e.period.start} 至 {e.period.end}）的保障期 {e.coverage_from} 至 "
                  f"{e.coverage_to} 超出互助期")
