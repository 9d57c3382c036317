"""The clerk's follow-up lists of a run (跟进清单): proposed claims over 10,000 (call the
unit, as Changchun does), members with no bank account in the registry, claims that
still need materials (a critical illness found in the diagnoses needs its certificate),
and stays a benefit could not be judged for lack of a fact; each exportable as xlsx."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from django.db.models import QuerySet

from huzhu.claims.models import FOLLOW_UP_ABOVE
from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.lib.xlsx import BOLD, Workbook
from huzhu.rules.schema import MATERIALS

P = StayOutcome.Outcome


def _proposed(run: BatchRun) -> QuerySet[StayOutcome]:
    return run.outcomes.filter(outcome=P.PROPOSED)


LISTS: dict[str, tuple[str, Callable[[BatchRun], QuerySet[StayOutcome]]]] = {
    "large": (f"金额超过{FOLLOW_UP_ABOVE:,.0f}元（请联系单位核实）",
              lambda run: _proposed(run).filter(amount__gt=FOLLOW_UP_ABOVE)),
    "no_bank": ("会员没有登记银行账号",
                lambda run: _proposed(run).filter(member__bank_account_sealed__isnull=True)),
    "materials": ("还需补充材料",
                  lambda run: _proposed(run).exclude(claim__missing_materials=[])),
    "facts": ("缺少测算所需的事实",
              lambda run: run.outcomes.filter(reason="missing_field")),
}


def follow_up(run: BatchRun, kind: str) -> QuerySet[StayOutcome]:
    """The ``kind`` list's outcomes (a key of :data:`LISTS`), in row order."""
    return LISTS[kind][1](run).select_related("claim", "member__unit").order_by("row",
                                                                                 "benefit")


def benefit_names(run: BatchRun) -> dict[str, str]:
    """Benefit code → the name the run's policy gives it (what people read)."""
    return {b.code: b.name for b in run.scheme.policy().benefits}


def counts(run: BatchRun) -> list[tuple[str, str, int]]:
    """(kind, label, how many) of each list, for the run's page."""
    return [(kind, label, fn(run).count()) for kind, (label, fn) in LISTS.items()]


HEADERS = ("行号", "结算ID", "理赔编号", "会员", "单位", "保障项目", "金额（元）", "出院日期",
           "医院", "需补充材料", "说明")


def write_xlsx(run: BatchRun, kind: str, target: BinaryIO) -> None:
    """The ``kind`` list as one sheet; amounts as numbers shown with two places."""
    # Names, hospitals and settlement IDs come from the feed and the registry: text only,
    # never a formula (huzhu.lib.xlsx); amounts as exact numbers.
    book = Workbook(target)
    sheet = book.sheet(LISTS[kind][0][:31])
    sheet.header(HEADERS, style=BOLD, freeze=False)
    names = benefit_names(run)
    for r, o in enumerate(follow_up(run, kind).iterator(chunk_size=2000), start=1):
        claim = o.claim
        sheet.row(r, 0, (
            o.row, o.settlement_code, claim.number if claim else "",
            o.member.name if o.member else "", o.member.unit.name if o.member else "",
            names.get(o.benefit, o.benefit), o.amount,
            f"{claim.event_date:%Y-%m-%d}" if claim else "", claim.hospital if claim else "",
            "、".join(MATERIALS.get(m, m) for m in (claim.missing_materials if claim else [])),
            o.reason_text))
    book.close()
