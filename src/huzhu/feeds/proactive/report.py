"""The run's report (``--report FILE``, the page's download): one row per feed row and
benefit — ``settlement_id, outcome, member_id, benefit, amount, reason`` — then the row
number, the reason's code, the claim's number and whether the diagnoses found it; a
second sheet counts the outcomes. CSV (UTF-8 with BOM, for Excel) or xlsx by the suffix.
Amounts are plain decimals with two places (12345.60), as programs read them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import xlsxwriter

from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.rules.money import yuan

HEADERS = ("settlement_id", "outcome", "member_id", "benefit", "amount", "reason",
           "row", "reason_code", "claim", "discovered", "outcome_label")
LABELS_ZH = ("结算ID", "结果", "会员编号", "保障项目", "金额", "原因", "行号", "原因代码",
             "理赔编号", "病历挖掘", "结果说明")


def report_rows(run: BatchRun) -> Iterator[tuple]:
    """The report's lines, in (row, benefit) order, as :data:`HEADERS` names them."""
    labels = dict(StayOutcome.Outcome.choices)
    qs = (StayOutcome.objects.filter(run=run).order_by("row", "benefit")
          .values_list("settlement_code", "outcome", "member_id", "benefit", "amount",
                       "reason_text", "row", "reason", "claim__number", "discovered"))
    for code, outcome, member, benefit, amount, text, row, reason, number, found in \
            qs.iterator(chunk_size=20_000):
        yield (code, outcome, member or "", benefit,
               yuan(amount, grouped=False) if amount is not None else "", text, row, reason,
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
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(report_rows(run))
    finally:
        if isinstance(target, Path | str):
            handle.close()
        else:
            handle.flush()
            handle.detach()


def _xlsx(run: BatchRun, target) -> None:
    book = xlsxwriter.Workbook(target if not isinstance(target, Path) else str(target),
                               {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet("测算结果")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, HEADERS, bold)
    sheet.write_row(1, 0, LABELS_ZH)
    widths = (22, 16, 10, 18, 12, 40, 8, 22, 16, 8, 14)
    for i, w in enumerate(widths):
        sheet.set_column(i, i, w)
    for r, row in enumerate(report_rows(run), start=2):
        sheet.write_row(r, 0, row)
    summary = book.add_worksheet("汇总")
    summary.write_row(0, 0, ("结果", "代码", "行数"), bold)
    counts = run.counts or {}
    for r, (code, label) in enumerate(StayOutcome.Outcome.choices, start=1):
        summary.write_row(r, 0, (label, code, counts.get(code, 0)))
    n = len(StayOutcome.Outcome.choices) + 1
    summary.write_row(n, 0, ("合计", "", sum(counts.values())), bold)
    summary.write_row(n + 1, 0, ("拟给付金额（元）", "", yuan(run.proposed_amount, grouped=False)))
    summary.write_row(n + 2, 0, ("医保结算数据行数", "", run.feed.rows))
    book.close()
