"""The run's report (``--report FILE``, the page's download): one row per feed row and
benefit. The CSV is for programs — ``settlement_id, outcome, member_id, benefit, amount,
reason``, then the row number, the reason's code, the claim's number and whether the
diagnoses found it; UTF-8 with BOM; amounts plain decimals with two places (12345.60).
The xlsx is for people: the same lines in Chinese (the member's name, the benefit's name,
the outcome's label, the amount as a number), and a second sheet counting the outcomes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.lib import csvsafe
from huzhu.lib.xlsx import BOLD, MONEY, Workbook
from huzhu.rules.money import to_fen

HEADERS = ("settlement_id", "outcome", "member_id", "benefit", "amount", "reason",
           "row", "reason_code", "claim", "discovered", "outcome_label")


def report_rows(run: BatchRun) -> Iterator[tuple]:
    """The report's lines, in (row, benefit) order, as :data:`HEADERS` names them."""
    labels = dict(StayOutcome.Outcome.choices)
    qs = (StayOutcome.objects.filter(run=run).order_by("row", "benefit")
          .values_list("settlement_code", "outcome", "member_id", "benefit", "amount",
                       "reason_text", "row", "reason", "claim__number", "discovered"))
    for code, outcome, member, benefit, amount, text, row, reason, number, found in \
            qs.iterator(chunk_size=20_000):
        # The amount as a Decimal: the CSV writer prints it with two places (12345.60).
        yield (code, outcome, member or "", benefit,
               to_fen(amount) if amount is not None else "", text, row, reason,
               number or "", "是" if found else "", labels[outcome])


def write_report(run: BatchRun, target: Path | BinaryIO, *, fmt: str | None = None) -> None:
    """The report into ``target``: a path (CSV or xlsx by its suffix) or a binary file
    (xlsx unless ``fmt`` says ``csv``)."""
    fmt = fmt or (Path(target).suffix.lower().lstrip(".") if isinstance(target, Path | str)
                  else "xlsx")
    if fmt == "csv":
        _csv(run, target)
    else:
        _xlsx(run, target)


def _csv(run: BatchRun, target) -> None:
    handle = open(target, "w", newline="", encoding="utf-8-sig") \
        if isinstance(target, Path | str) else io.TextIOWrapper(target, "utf-8-sig", newline="")
    try:
        # Text fields that a spreadsheet would run as a formula get a leading apostrophe.
        writer = csvsafe.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(report_rows(run))
    finally:
        if isinstance(target, Path | str):
            handle.close()
        else:
            handle.flush()
            handle.detach()


# The xlsx is for people (the page's download): Chinese headers, the outcome and the
# benefit by name, the member by name, amounts as numbers; the codes stay in the CSV.
XLSX_COLUMNS = (("行号", 8), ("结算ID", 22), ("会员", 10), ("保障项目", 18), ("结果", 16),
                ("金额（元）", 14), ("原因", 40), ("理赔编号", 16), ("病历挖掘", 8))


def _xlsx(run: BatchRun, target: Path | BinaryIO) -> None:
    # Settlement IDs, names and reasons come from the feed and the registry: written as
    # text only (huzhu.lib.xlsx), amounts as exact numbers.
    book = Workbook(target)
    sheet = book.sheet("测算结果")
    sheet.header(XLSX_COLUMNS, style=BOLD, freeze=False)
    labels = dict(StayOutcome.Outcome.choices)
    names = {b.code: b.name for b in run.scheme.policy().benefits}
    qs = (StayOutcome.objects.filter(run=run).order_by("row", "benefit")
          .values_list("row", "settlement_code", "member__name", "benefit", "outcome",
                       "amount", "reason_text", "claim__number", "discovered"))
    for r, (row, code, member, benefit, outcome, amount, text, number, found) in \
            enumerate(qs.iterator(chunk_size=20_000), start=1):
        sheet.row(r, 0, (row, code, member or "", names.get(benefit, benefit),
                         labels[outcome], to_fen(amount) if amount is not None else None,
                         text, number or "", "是" if found else ""))
    summary = book.sheet("汇总")
    summary.header(("结果", "行数"), style=BOLD, freeze=False)
    summary.widths(0, 0, 22)
    counts = run.counts or {}
    for r, (code, label) in enumerate(StayOutcome.Outcome.choices, start=1):
        summary.row(r, 0, (label, counts.get(code, 0)))
    n = len(StayOutcome.Outcome.choices) + 1
    summary.row(n, 0, ("合计", sum(counts.values())), BOLD)
    summary.text(n + 1, 0, "拟给付金额（元）")
    summary.amount(n + 1, 1, run.proposed_amount, MONEY)
    summary.row(n + 2, 0, ("医保结算数据行数", run.feed.rows))
    book.close()
