"""The simulation report as an Excel workbook: the tables of :func:`print_report`, one sheet
each, and a chart sheet.

Amounts are Decimal sums computed by the engine; a cell holds the number with a 0.00
format (Excel stores numbers as binary floating point, which shows every fen of these
amounts exactly up to about 10^13 yuan).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import xlsxwriter

from huzhu.rules.simulation import TOP_CHANGES, GroupRow, SimulationReport, explain

_GROUP_HEAD = ("分组", "事件数", "原方案（元）", "改革方案（元）", "差额（元）", "多付人数",
               "少付人数", "不变人数")


def write_xlsx(report: SimulationReport, path: str | os.PathLike[str]) -> None:
    """Write ``report`` to ``path`` (.xlsx), replacing it only when complete."""

    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    book = xlsxwriter.Workbook(tmp, {"in_memory": True})
    try:
        f = _Formats(book)
        _changes_sheet(book, f, report)
        _summary_sheet(book, f, report)
        sheets = [("按项目", report.by_benefit), ("按档次", report.by_band),
                  ("按月份", report.by_month)]
        if report.by_union is not None:
            sheets.append(("按工会", report.by_union))
        for name, rows in sheets:
            _group_sheet(book, f, name, rows)
        _largest_sheet(book, f, report)
        _charts(book, report)
    finally:
        book.close()
    os.replace(tmp, path)


class _Formats:
    def __init__(self, book: Any) -> None:
        self.head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.money = book.add_format({"num_format": "#,##0.00"})
        self.signed = book.add_format({"num_format": "+#,##0.00;-#,##0.00;0.00"})
        self.count = book.add_format({"num_format": "#,##0"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})


def _num(value: Decimal) -> float:
    # The only float in the report: the cell value Excel itself stores.
    return float(value)


def _header(sheet: Any, f: _Formats, row: int, titles: tuple[str, ...] | list[str]) -> None:
    for col, title in enumerate(titles):
        sheet.write(row, col, title, f.head)


def _version(version: str) -> str:
    """A policy's version in words: an overlay's "2023.1+reform" is 2023.1 版的改革方案."""
    base, overlay, rest = version.partition("+reform")
    return f"{base} 版的改革方案{rest}" if overlay else f"版本 {version}"


def _changes_sheet(book: Any, f: _Formats, report: SimulationReport) -> None:
    sheet = book.add_worksheet("方案变化")
    sheet.write(0, 0, f"改革测算：{report.base.name} → {report.reform.name}", f.title)
    # Names and versions as people say them; the codes and content hashes that pin both
    # policies are in the JSON report (SimulationReport.to_json), for programs.
    sheet.write(1, 0, f"原方案：“{report.base.name}”（{_version(report.base.version)}）")
    sheet.write(2, 0, f"改革方案：“{report.reform.name}”（{_version(report.reform.version)}）")
    _header(sheet, f, 4, ("项目与参数", "原方案", "改革方案", "路径"))
    for i, c in enumerate(report.changes, start=5):
        sheet.write_row(i, 0, (c.label, c.before, c.after, c.path), f.wrap)
    if not report.changes:
        sheet.write(5, 0, "（两个方案内容相同）")
    sheet.set_column(0, 0, 70)
    sheet.set_column(1, 2, 28)
    sheet.set_column(3, 3, 50)


def _summary_sheet(book: Any, f: _Formats, report: SimulationReport) -> None:
    sheet = book.add_worksheet("总体")
    _header(sheet, f, 0, ("指标", "原方案", "改革方案", "差额"))
    sheet.write(1, 0, "应付合计（元）")
    sheet.write_number(1, 1, _num(report.base_total), f.money)
    sheet.write_number(1, 2, _num(report.reform_total), f.money)
    sheet.write_number(1, 3, _num(report.difference), f.signed)
    # The same events and members under both policies; the comparison counts belong
    # to the difference column, as in the printed table.
    rows = [("事件数", report.events, (1, 2)), ("有事件的会员数", report.members, (1, 2)),
            ("多付的会员", report.members_paid_more, (3,)),
            ("少付的会员", report.members_paid_less, (3,)),
            ("不变的会员", report.members_unchanged, (3,))]
    for i, (label, n, columns) in enumerate(rows, start=2):
        sheet.write(i, 0, label)
        for col in columns:
            sheet.write_number(i, col, n, f.count)
    sheet.set_column(0, 0, 20)
    sheet.set_column(1, 3, 18)


def _group_sheet(book: Any, f: _Formats, name: str, rows: list[GroupRow]) -> None:
    sheet = book.add_worksheet(name)
    _header(sheet, f, 0, _GROUP_HEAD)
    for i, r in enumerate(rows, start=1):
        sheet.write(i, 0, r.label)
        sheet.write_number(i, 1, r.events, f.count)
        sheet.write_number(i, 2, _num(r.base_total), f.money)
        sheet.write_number(i, 3, _num(r.reform_total), f.money)
        sheet.write_number(i, 4, _num(r.difference), f.signed)
        for col, n in enumerate((r.paid_more, r.paid_less, r.unchanged), start=5):
            sheet.write_number(i, col, n, f.count)
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 7, 15)
    sheet.freeze_panes(1, 1)


def _largest_sheet(book: Any, f: _Formats, report: SimulationReport) -> None:
    sheet = book.add_worksheet(f"变化最大的{TOP_CHANGES}个")
    _header(sheet, f, 0, ("事件", "会员", "项目", "日期", "原方案（元）", "改革方案（元）",
                          "差额（元）", "原方案计算过程", "改革方案计算过程"))
    for i, e in enumerate(report.largest, start=1):
        sheet.write_row(i, 0, (e.event_id, e.member_id, e.benefit, str(e.event_date)))
        sheet.write_number(i, 4, _num(e.base["payable"]), f.money)
        sheet.write_number(i, 5, _num(e.reform["payable"]), f.money)
        sheet.write_number(i, 6, _num(e.difference), f.signed)
        sheet.write(i, 7, explain(e.base), f.wrap)
        sheet.write(i, 8, explain(e.reform), f.wrap)
    sheet.set_column(0, 3, 13)
    sheet.set_column(4, 6, 15)
    sheet.set_column(7, 8, 50)


def _charts(book: Any, report: SimulationReport) -> None:
    """A chart sheet: payable per benefit under each policy; and the months as a line."""
    chart = book.add_chart({"type": "column"})
    n = len(report.by_benefit)
    for col, title in ((2, "原方案"), (3, "改革方案")):
        chart.add_series({"name": title, "categories": ["按项目", 1, 0, n, 0],
                          "values": ["按项目", 1, col, n, col]})
    chart.set_title({"name": "各保障项目应付合计（元）"})
    chart.set_y_axis({"num_format": "#,##0"})
    sheet = book.add_chartsheet("图表")
    sheet.set_chart(chart)
    months = len(report.by_month)
    if months:
        line = book.add_chart({"type": "line"})
        for col, title in ((2, "原方案"), (3, "改革方案")):
            line.add_series({"name": title, "categories": ["按月份", 1, 0, months, 0],
                             "values": ["按月份", 1, col, months, col]})
        line.set_title({"name": "每月应付（元）"})
        line.set_size({"width": 900, "height": 400})
        book.get_worksheet_by_name("按月份").insert_chart("J2", line)
