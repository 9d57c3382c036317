"""The simulation report as an Excel workbook: the tables of :func:`print_report`, one sheet
each, and a chart sheet.

Written through :mod:`huzhu.rules.xlsx_safe` (the writer every export uses): benefit and
policy names come from policy files, so they are text only, never a formula. Amounts are
Decimal sums computed by the engine, written as their own digits (12345.60) with a 0.00
format. Every header and label is plain Chinese: the policies' codes, YAML paths and
content hashes are in the JSON report (SimulationReport.to_json), for programs.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any

from huzhu.rules.schema import Cap
from huzhu.rules.simulation import TOP_CHANGES, GroupRow, SimulationReport, explain
from huzhu.rules.xlsx_safe import COUNT, MONEY, SIGNED, TITLE, WRAP, Sheet, Workbook

_GROUP_HEAD = ("分组", "事件数", "原方案（元）", "改革方案（元）", "差额（元）", "多付人数",
               "少付人数", "不变人数")


def write_xlsx(report: SimulationReport, path: str | os.PathLike[str]) -> None:
    """Write ``report`` to ``path`` (.xlsx), replacing it only when complete."""

    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    # Not constant memory: the chart sheet is laid out after the tables it draws.
    book = Workbook(tmp, constant_memory=False)
    try:
        names = _benefit_names(report)
        _changes_sheet(book, report, names)
        _summary_sheet(book, report)
        sheets = [("按项目", [_renamed(r, names) for r in report.by_benefit]),
                  ("按档次", report.by_band), ("按月份", report.by_month)]
        if report.by_union is not None:
            sheets.append(("按工会", report.by_union))
        for name, rows in sheets:
            _group_sheet(book, name, rows)
        _largest_sheet(book, report, names)
        _charts(book.book, report)
    finally:
        book.close()
    os.replace(tmp, path)


# ------------------------------------------------------------- labels without codes

_WHO_WHEN = {
    ("event", None): "每次", ("member", "year"): "每人每年", ("member", "period"): "每人每期",
    ("member", "lifetime"): "每人终身", ("family", "lifetime"): "每户终身",
    ("family", "year"): "每户每年", ("family", "period"): "每户每期",
    ("relative", "lifetime"): "每位亲属终身", ("relative", "year"): "每位亲属每年",
    ("relative", "period"): "每位亲属每期",
}


def _cap_words() -> dict[str, str]:
    """A cap's default code → its words: cap_per_year → 每人每年金额上限."""
    words: dict[str, str] = {}
    for (per, period), who in _WHO_WHEN.items():
        for measure, value, what in (("amount", 1, "金额上限"), ("days", 1, "天数上限"),
                                     ("times", 1, "限一次"), ("times", 2, "次数上限")):
            try:
                cap = Cap.model_validate({"per": per, "period": period, measure: value})
            except ValueError:
                continue  # a combination the schema refuses (per event: money only)
            words.setdefault(cap.cap_code, who + what)
    return words


_CAPS = _cap_words()
_CAP_IN_LABEL = re.compile(r"上限 ([a-z][a-z0-9_]*)")


def _benefit_names(report: SimulationReport) -> dict[str, str]:
    """Benefit code → name, from the by-benefit rows ("住院医疗补贴（hospital）")."""
    names = {}
    for r in report.by_benefit:
        suffix = f"（{r.key}）"
        names[r.key] = r.label[:-len(suffix)] if r.label.endswith(suffix) else r.label
    return names


def _plain(label: str, names: dict[str, str], codes: set[str]) -> str:
    """A change's label with the codes taken out: "住院医疗补贴（hospital）· 上限
    cap_per_year · 金额" → "住院医疗补贴 · 每人每年金额上限 · 金额"."""
    for code in codes:
        label = label.replace(f"（{code}）", "")
    # A cap with a code of its own (not a default one) is just 上限.
    return _CAP_IN_LABEL.sub(lambda m: _CAPS.get(m.group(1), "上限"), label)


def _renamed(row: GroupRow, names: dict[str, str]) -> GroupRow:
    return replace(row, label=names.get(row.key, row.label))


# ------------------------------------------------------------- sheets

def _version(version: str) -> str:
    """A policy's version in words: an overlay's "2023.1+reform" is 2023.1 版的改革方案."""
    base, overlay, rest = version.partition("+reform")
    return f"{base} 版的改革方案{rest}" if overlay else f"版本 {version}"


def _changes_sheet(book: Workbook, report: SimulationReport, names: dict[str, str]) -> None:
    sheet = book.sheet("方案变化")
    sheet.text(0, 0, f"改革测算：{report.base.name} → {report.reform.name}", TITLE)
    # Names and versions as people say them; the codes and content hashes that pin both
    # policies are in the JSON report (SimulationReport.to_json), for programs.
    sheet.text(1, 0, f"原方案：“{report.base.name}”（{_version(report.base.version)}）")
    sheet.text(2, 0, f"改革方案：“{report.reform.name}”（{_version(report.reform.version)}）")
    sheet.header(("项目与参数", "原方案", "改革方案"), row=4, freeze=False)
    codes = set(names) | {c.benefit for c in report.changes if c.benefit}
    for i, c in enumerate(report.changes, start=5):
        sheet.row(i, 0, (_plain(c.label, names, codes), c.before, c.after), WRAP)
    if not report.changes:
        sheet.text(5, 0, "（两个方案内容相同）")
    sheet.widths(0, 0, 70)
    sheet.widths(1, 2, 36)


def _summary_sheet(book: Workbook, report: SimulationReport) -> None:
    sheet = book.sheet("总体")
    sheet.header(("指标", "原方案", "改革方案", "差额"), freeze=False)
    sheet.text(1, 0, "应付合计（元）")
    sheet.amount(1, 1, report.base_total, MONEY)
    sheet.amount(1, 2, report.reform_total, MONEY)
    sheet.amount(1, 3, report.difference, SIGNED)
    # The same events and members under both policies; the comparison counts belong
    # to the difference column, as in the printed table.
    rows = [("事件数", report.events, (1, 2)), ("有事件的会员数", report.members, (1, 2)),
            ("多付的会员", report.members_paid_more, (3,)),
            ("少付的会员", report.members_paid_less, (3,)),
            ("不变的会员", report.members_unchanged, (3,))]
    for i, (label, n, columns) in enumerate(rows, start=2):
        sheet.text(i, 0, label)
        for col in columns:
            sheet.count(i, col, n, COUNT)
    sheet.widths(0, 0, 20)
    sheet.widths(1, 3, 18)


def _group_sheet(book: Workbook, name: str, rows: list[GroupRow]) -> None:
    sheet = book.sheet(name)
    sheet.header(_GROUP_HEAD, freeze=False)
    for i, r in enumerate(rows, start=1):
        sheet.text(i, 0, r.label)
        sheet.count(i, 1, r.events, COUNT)
        sheet.amount(i, 2, r.base_total, MONEY)
        sheet.amount(i, 3, r.reform_total, MONEY)
        sheet.amount(i, 4, r.difference, SIGNED)
        for col, n in enumerate((r.paid_more, r.paid_less, r.unchanged), start=5):
            sheet.count(i, col, n, COUNT)
    sheet.widths(0, 0, 36)
    sheet.widths(1, 7, 15)
    sheet.raw.freeze_panes(1, 1)


def _largest_sheet(book: Workbook, report: SimulationReport, names: dict[str, str]) -> None:
    sheet: Sheet = book.sheet(f"变化最大的{TOP_CHANGES}个")
    sheet.header(("事件", "会员", "保障项目", "日期", "原方案（元）", "改革方案（元）",
                  "差额（元）", "原方案计算过程", "改革方案计算过程"), freeze=False)
    for i, e in enumerate(report.largest, start=1):
        sheet.row(i, 0, (str(e.event_id), str(e.member_id), names.get(e.benefit, e.benefit),
                         str(e.event_date)))
        sheet.amount(i, 4, e.base["payable"], MONEY)
        sheet.amount(i, 5, e.reform["payable"], MONEY)
        sheet.amount(i, 6, e.difference, SIGNED)
        sheet.text(i, 7, explain(e.base), WRAP)
        sheet.text(i, 8, explain(e.reform), WRAP)
    sheet.widths(0, 3, 13)
    sheet.widths(4, 6, 15)
    sheet.widths(7, 8, 50)


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
