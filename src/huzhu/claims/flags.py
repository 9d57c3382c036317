"""Signals for reviewers (审核提示): what about a claim deserves a second look, and which
other claims it concerns.

Two forms of the same five rules, kept apart on purpose and held equal by the tests (as
the engine is held against its reference evaluator):

- :func:`flags_for` — one claim, in plain Python over the few rows it needs, with the
  other claims to link to; the claim page shows it.
- :func:`with_flag` / :func:`flag_counts` — a queryset of claims at once, as SQL
  (``EXISTS`` subqueries and per-group thresholds); the work queue filters and counts
  with it, so it must stay fast at 500,000 claims.

The rules, always against every *other* claim that is not withdrawn:

- ``overlap``: the same member and the same benefit of the same scheme, stays
  overlapping (a 住院津贴 for the stay a 住院医疗互助金 pays is no overlap, nor are the
  several benefits the proactive batch files for one stay). A stay runs from admission (or the
  event date) to discharge (the event date) and is counted in nights, as hospitals count
  days (算入不算出): a discharge and an admission on the same day (a transfer) do not
  overlap; a claim without a stay occupies its day, so two on the same date do.
- ``invoice``: the same non-empty invoice number, any member.
- ``readmission``: the same member and a shared diagnosis category (the first three
  characters of any ICD-10 code, e.g. I21), one stay starting 0–7 days after the other
  ended: a split stay (分解住院). Both claims of the pair carry it.
- ``shared_material``: a material file with the same content (its SHA-256) in a claim of
  another member: one invoice or discharge summary sent for two people.
- ``unusual_amount``: the amount is above ``UNUSUAL_FACTOR`` × the median approved
  amount of the same scheme's benefit for the same main diagnosis category (of the first
  code), over at least ``UNUSUAL_MIN_HISTORY`` given claims (``Claim.GIVEN``: approved,
  in a batch or paid). Its constants and snapshot are :mod:`huzhu.claims.usual_amounts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn, cast

from django.db import NotSupportedError
from django.db.models import (
    BooleanField,
    DateField,
    Exists,
    F,
    Func,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from huzhu.claims.models import Claim, ClaimAmountNorm, ClaimMaterial
from huzhu.claims.usual_amounts import (
    CATEGORY,
    UNUSUAL_FACTOR,
    UNUSUAL_MIN_HISTORY,
    ensure_fresh,
)
from huzhu.rules.money import yuan

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.expressions import Combinable
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

    from huzhu.orgs.models import User

S = Claim.State
OVERLAP, INVOICE, READMISSION, UNUSUAL = "overlap", "invoice", "readmission", "unusual_amount"
SHARED_MATERIAL = "shared_material"
FLAG_LABELS: dict[str, str] = {
    OVERLAP: "同一会员同一项目日期重叠",
    INVOICE: "发票号重复",
    READMISSION: "7天内同诊断再入院",
    SHARED_MATERIAL: "材料文件与其他会员的理赔相同",
    UNUSUAL: "金额远高于同诊断通常水平",
}
READMISSION_DAYS = 7


@dataclass
class Flag:
    code: str
    label: str
    detail: str
    claims: list[Claim] = field(default_factory=list)  # the other claims it concerns


# ------------------------------------------------------------------ the rules in Python

def stay(claim: Claim) -> tuple[dt.date, dt.date]:
    return (claim.admit_date or claim.event_date, claim.event_date)


def stays_overlap(a: Claim, b: Claim) -> bool:
    (s1, e1), (s2, e2) = stay(a), stay(b)
    return (s1 < e2 and s2 < e1) or s1 == s2


def categories(diagnosis: str) -> set[str]:
    """Every code's category: "I21.9;E11.2" → {"I21", "E11"}."""
    return {code.strip(" ")[:3].upper() for code in diagnosis.split(";") if code.strip(" ")}


def main_category(diagnosis: str) -> str:
    return diagnosis[:3].upper()


def readmitted(a: Claim, b: Claim) -> bool:
    """One stay starts 0–7 days after the other ended."""
    (s1, e1), (s2, e2) = stay(a), stay(b)
    return any(0 <= (start - end).days <= READMISSION_DAYS for start, end in ((s2, e1),
                                                                             (s1, e2)))


def others(claim: Claim) -> QuerySet[Claim]:
    return Claim.objects.exclude(pk=claim.pk).exclude(state=S.WITHDRAWN)


def flags_for(claim: Claim,
              within: Callable[[list[Claim]], list[Claim]] | None = None) -> list[Flag]:
    """The signals on ``claim``, in the order of :data:`FLAG_LABELS`. ``within`` keeps
    the other claims a person may see: a signal then names, counts and exists only by
    those (another union's claim with the same invoice number leaves no trace)."""
    keep = within or (lambda claims: claims)
    # All the member's claims (a handful): no date window to get wrong on odd dates.
    same_member = list(others(claim).filter(member_id=claim.member_id)
                       .order_by("event_date", "id"))
    found = [
        _flag(OVERLAP, keep([c for c in same_member if same_benefit(claim, c)
                             and stays_overlap(claim, c)]), _overlap_detail),
        _flag(INVOICE, keep(_same_invoice(claim)), lambda cs: f"发票号 {claim.invoice_number} "
                                                             f"另见于 {len(cs)} 笔理赔"),
        _flag(READMISSION, keep(_readmissions(claim, same_member)), _readmission_detail),
        _flag(SHARED_MATERIAL, keep(_shared_material(claim)),
              lambda cs: f"有材料文件与其他会员的 {len(cs)} 笔理赔中的文件内容完全相同"),
        _unusual(claim),
    ]
    return [f for f in found if f is not None]


def _flag(code: str, claims: list[Claim], detail: Callable[[list[Claim]], str]
          ) -> Flag | None:
    return Flag(code, FLAG_LABELS[code], detail(claims), claims) if claims else None


def same_benefit(a: Claim, b: Claim) -> bool:
    return a.scheme_id == b.scheme_id and a.benefit == b.benefit


def _overlap_detail(claims: list[Claim]) -> str:
    spans = "、".join(f"{s:%Y-%m-%d} 至 {e:%Y-%m-%d}" for s, e in map(stay, claims))
    return f"与本会员同一保障项目的另 {len(claims)} 笔理赔日期重叠（{spans}）"


def _shared_material(claim: Claim) -> list[Claim]:
    hashes = set(claim.materials.exclude(sha256="").values_list("sha256", flat=True))
    if not hashes:
        return []
    return list(others(claim).exclude(member_id=claim.member_id)
                .filter(materials__sha256__in=hashes).distinct().order_by("id"))


def _same_invoice(claim: Claim) -> list[Claim]:
    if not claim.invoice_number:
        return []
    return list(others(claim).filter(invoice_number=claim.invoice_number).order_by("id"))


def _readmissions(claim: Claim, same_member: list[Claim]) -> list[Claim]:
    mine = categories(claim.diagnosis)
    return [c for c in same_member if mine & categories(c.diagnosis) and readmitted(claim, c)]


def _readmission_detail(claims: list[Claim]) -> str:
    return (f"与本会员另 {len(claims)} 笔同类诊断理赔的出院、入院间隔不超过 "
            f"{READMISSION_DAYS} 天，可能是分解住院")


def _unusual(claim: Claim) -> Flag | None:
    amount, category = claim.amount, main_category(claim.diagnosis)
    if amount is None or not category:
        return None
    history = _history(claim.scheme_id, claim.benefit, category).exclude(pk=claim.pk)
    n = history.count()
    if n < UNUSUAL_MIN_HISTORY:
        return None
    median = _median_at(history, n)
    if amount <= UNUSUAL_FACTOR * median:
        return None
    return Flag(UNUSUAL, FLAG_LABELS[UNUSUAL],
                f"金额 {yuan(amount)} 元，超过同诊断（{category}）{n} 笔已审批理赔中位数 "
                f"{yuan(median)} 元的 {UNUSUAL_FACTOR} 倍")


# ------------------------------------------------------------------ history and medians

def _history(scheme_id: int, benefit: str, category: str) -> QuerySet[Claim]:
    history: QuerySet[Claim] = (
        Claim.objects.filter(scheme_id=scheme_id, benefit=benefit, state__in=Claim.GIVEN,
                             final__isnull=False)
        .annotate(_cat=CATEGORY).filter(_cat=category))
    return history


def _median_at(history: QuerySet[Claim], n: int) -> Decimal:
    """The median of ``n`` rows' approved amounts, reading only the middle one or two."""
    # The history has only claims with a final amount (final__isnull=False in _history).
    middle = cast(list[Decimal], list(history.order_by("final").values_list("final", flat=True)
                                      [(n - 1) // 2: n // 2 + 1]))
    return sum(middle, Decimal(0)) / len(middle)


# ------------------------------------------------------------------ the rules in SQL

class ShiftDays(Func):
    """A date ``days`` later (earlier when negative), as a date on every backend."""

    output_field = DateField()

    def __init__(self, expression: Combinable, days: int) -> None:
        super().__init__(expression)
        self.days = int(days)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
               function: str | None = None, template: str | None = None,
               arg_joiner: str | None = None, **extra: Any) -> NoReturn:
        raise NotSupportedError(f"ShiftDays: {connection.vendor} is not supported")

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                  **extra: Any) -> _AsSqlType:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, '{self.days:+d} days')", params

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                      **extra: Any) -> _AsSqlType:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} + {self.days:d})", params  # date + integer is a date


_SPLIT_SQLITE = (  # the codes of a ";"-separated list, one row each
    "{name}(rest, code) AS (SELECT {list} || ';', NULL UNION ALL "
    "SELECT substr(rest, instr(rest, ';') + 1), substr(rest, 1, instr(rest, ';') - 1) "
    "FROM {name} WHERE rest <> '')")


class SharesCategory(Func):
    """True when two ";"-separated diagnosis lists share a category (as
    :func:`categories` computes them: codes trimmed of spaces, first three characters,
    upper case)."""

    output_field = BooleanField()

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
               function: str | None = None, template: str | None = None,
               arg_joiner: str | None = None, **extra: Any) -> NoReturn:
        raise NotSupportedError(f"SharesCategory: {connection.vendor} is not supported")

    def _sides(self, compiler: SQLCompiler) -> tuple[str, str, list[Any]]:
        (a, pa), (b, pb) = (compiler.compile(e) for e in self.source_expressions)
        return a, b, [*pa, *pb]

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                  **extra: Any) -> _AsSqlType:
        a, b, params = self._sides(compiler)
        return ("EXISTS (WITH RECURSIVE " + _SPLIT_SQLITE.format(name="_sa", list=a) + ", "
                + _SPLIT_SQLITE.format(name="_sb", list=b)
                + " SELECT 1 FROM _sa, _sb WHERE trim(_sa.code) <> '' AND "
                "upper(substr(trim(_sa.code), 1, 3)) = upper(substr(trim(_sb.code), 1, 3)))",
                params)

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                      **extra: Any) -> _AsSqlType:
        a, b, params = self._sides(compiler)
        return (f"EXISTS (SELECT 1 FROM unnest(string_to_array({a}, ';')) AS _sa(code), "
                f"unnest(string_to_array({b}, ';')) AS _sb(code) WHERE btrim(_sa.code) <> '' "
                "AND upper(left(btrim(_sa.code), 3)) = upper(left(btrim(_sb.code), 3)))",
                params)


def _other_of_outer() -> QuerySet[Claim]:
    return Claim.objects.exclude(pk=OuterRef("pk")).exclude(state=S.WITHDRAWN)


def _same_member() -> QuerySet[Claim]:
    return (_other_of_outer().filter(member_id=OuterRef("member_id"))
            .annotate(_start=Coalesce("admit_date", "event_date")))


OUTER_START = Coalesce(OuterRef("admit_date"), OuterRef("event_date"))


def _having(qs: QuerySet[Claim], others: QuerySet[Model], name: str) -> QuerySet[Claim]:
    """The claims of ``qs`` with at least one of ``others`` (correlated to them).

    A scalar subquery rather than EXISTS: PostgreSQL turns an EXISTS into a semi-join,
    and counting a queue it hashed the whole claims history (1.3 s at 500,000 claims)
    where probing each open claim's few matches by index takes milliseconds. A scalar
    subquery stays a probe per row of ``qs`` (SQLite runs both that way)."""
    return qs.alias(**{name: Subquery(others.order_by().values("pk")[:1])}).filter(
        **{f"{name}__isnull": False})


def _with_overlap(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    overlapping = _same_member().filter(
        scheme_id=OuterRef("scheme_id"), benefit=OuterRef("benefit")).filter(
        Q(_start__lt=OuterRef("event_date"), event_date__gt=OUTER_START)
        | Q(_start=OUTER_START))
    return _having(qs, overlapping, "_overlap")


def _with_shared_material(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    """A material of the claim whose content hash is also a material's of a claim of
    another member (not withdrawn); probed per claim by the hash index."""
    elsewhere = (ClaimMaterial.objects.filter(sha256=OuterRef("sha256"))
                 .exclude(claim__member_id=OuterRef(OuterRef("member_id")))
                 .exclude(claim__state=S.WITHDRAWN))
    mine = (ClaimMaterial.objects.filter(claim_id=OuterRef("pk")).exclude(sha256="")
            .filter(Exists(elsewhere)))
    return _having(qs, mine, "_shared_material")


def _with_invoice(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    same = _other_of_outer().filter(invoice_number=OuterRef("invoice_number"))
    return _having(qs.exclude(invoice_number=""), same, "_invoice")


def _with_readmission(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    days = READMISSION_DAYS
    near = _same_member().filter(
        Q(event_date__gte=ShiftDays(OUTER_START, -days), event_date__lte=OUTER_START)
        | Q(_start__gte=OuterRef("event_date"),
            _start__lte=ShiftDays(OuterRef("event_date"), days))
    ).filter(SharesCategory(OuterRef("diagnosis"), F("diagnosis")))
    return _having(qs.exclude(diagnosis=""), near, "_readmission")


def _with_unusual(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    """Against the snapshot of usual amounts (:mod:`huzhu.claims.usual_amounts`), refreshed
    first when it is old. A claim that is itself part of its group's history is compared with
    the others only: for amounts that are never negative, whenever it is above the factor
    that is the median without the group's largest amount (leaving out any amount above
    the median moves the median alike)."""
    ensure_fresh()
    in_history = Q(state__in=Claim.GIVEN, final__isnull=False)
    group = ClaimAmountNorm.objects.filter(scheme_id=OuterRef("scheme_id"),
                                           benefit=OuterRef("benefit"),
                                           category=OuterRef("_cat"))
    return (qs.exclude(diagnosis="").alias(_amount=Coalesce("final", "computed"), _cat=CATEGORY)
            .filter((~in_history & Exists(group.filter(threshold__lt=OuterRef("_amount"))))
                    | (in_history & Exists(group.filter(
                        threshold_in_history__lt=OuterRef("_amount"))))))


_FILTERS = {OVERLAP: _with_overlap, INVOICE: _with_invoice, READMISSION: _with_readmission,
            SHARED_MATERIAL: _with_shared_material, UNUSUAL: _with_unusual}


def with_flag(qs: QuerySet[Claim], code: str) -> QuerySet[Claim]:
    """The claims of ``qs`` that carry flag ``code``; an unknown code filters nothing (it
    comes from a query string)."""
    apply = _FILTERS.get(code)
    return apply(qs) if apply else qs


def flag_counts(qs: QuerySet[Claim]) -> dict[str, int]:
    """How many claims of ``qs`` carry each flag (one count query per flag)."""
    return {code: with_flag(qs, code).order_by().count() for code in FLAG_LABELS}


# ------------------------------------------------------------------ the claim page

def panel(request: HttpRequest, claim: Claim) -> dict[str, Any]:
    """Context of ``claims/_flags.html``. A claim outside the user's scope is neither
    named, linked nor counted, and a signal only such claims raise is not shown: it does
    not exist for them, and "N more elsewhere" would tell a clerk who typed another
    union's invoice number that it is in use there."""
    # A panel of the claim page, which is behind login_required: the user is staff.
    user = cast("User", request.user)

    def within(claims: list[Claim]) -> list[Claim]:
        if not claims:
            return claims
        visible = set(Claim.objects.visible_to(user).filter(pk__in=[c.pk for c in claims])
                      .values_list("pk", flat=True))
        return [c for c in claims if c.pk in visible]

    return {"claim": claim, "flags": [
        {"code": f.code, "label": f.label, "detail": f.detail, "claims": f.claims}
        for f in flags_for(claim, within)]}
