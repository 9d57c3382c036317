"""The annual summary (年度报告) of a scheme as a PDF: the year's figures in the seeds'
words ("累计发放补贴金3038万元，惠及职工11.1万人次"), the tables and the charts.

Charts are drawn with reportlab.graphics (vector, in the PDF itself: no browser, no
image files); the text is set in the CJK font the coverage PDFs use, so it can be
extracted back.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.utils import timezone
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from huzhu.coverage import pdf
from huzhu.reports import tables
from huzhu.reports.figures import Statistics
from huzhu.reports.render import show, wan

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
RED = colors.HexColor("#B5262B")
GRID = colors.HexColor("#808080")
SHADE = colors.HexColor("#EEEEEE")
# Room a heading needs below it (itself, a table's header row and two rows, or a chart's
# title): with less left on the page the heading starts the next one. keepWithNext (the
# heading style's) keeps it with a short next flowable; this covers a long table, which
# reportlab would split right under the heading, or push whole to the next page.
HEADING_ROOM = 40 * mm


def summary_sentences(stats: Statistics) -> list[str]:
    """The year in the words a union leader reports it."""
    s = stats.selection
    out = [f"{s.label}，{s.union.name}“{s.scheme.name}”累计给付互助金"
           f"{wan(stats.paid_total)}元（{show(stats.paid_total, '元')}），"
           f"惠及职工{stats.person_times:,}人次、{stats.members_paid:,}人。"]
    if stats.enrolled is not None:
        out.append(f"参保{stats.enrolled:,}人次，收缴互助金{wan(stats.premiums)}元"
                   + (f"，赔付率{stats.loss_ratio}%。" if stats.loss_ratio is not None else "。"))
    else:
        out.append(f"覆盖在职会员{stats.covered:,}人。")
    if stats.over_10000_count:
        out.append(f"其中{stats.over_10000_count:,}人次单笔给付超过1万元，共计"
                   f"{wan(stats.over_10000_total)}元；最高单笔{show(stats.max_single, '元')}，"
                   f"会员个人累计最高{show(stats.max_member_total, '元')}。")
    parts = [f"{b.name}{b.members:,}人、{b.person_times:,}人次、{wan(b.paid_total)}元"
             for b in stats.by_benefit if b.person_times]
    if parts:
        out.append("分项目：" + "；".join(parts) + "。")
    if stats.cycle.claims:
        out.append(f"从提交申请到付款，中位数{stats.cycle.median_days}天，"
                   f"90%的理赔在{stats.cycle.p90_days}天内付款。")
    return out


def heading(text: str, style: ParagraphStyle) -> list[Flowable]:
    """A heading that is never the last thing on a page."""
    return [CondPageBreak(HEADING_ROOM), Paragraph(pdf.escape(text), style)]


def _table(table: tables.Table, styles) -> Table:
    cell = styles["cell"]
    rows = [[Paragraph(pdf.escape(c), cell) for c in table.columns]]
    for row in table.rows:
        rows.append([Paragraph(pdf.escape(show(v)), cell) for v in row])
    if len(rows) == 1:
        rows.append([Paragraph("没有数据", cell)] + [""] * (len(table.columns) - 1))
    widths = [WIDTH / len(table.columns)] * len(table.columns)
    return Table(rows, colWidths=widths, repeatRows=1, style=TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, GRID), ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))


def _bar_chart(labels: list[str], values: list[float], font: str, title: str) -> Drawing:
    """A bar chart (values already in the unit the axis says)."""
    height = 62 * mm
    drawing = Drawing(WIDTH, height)
    drawing.add(String(0, height - 10, title, fontName=font, fontSize=10))
    chart = VerticalBarChart()
    chart.x, chart.y = 16 * mm, 18 * mm
    chart.width, chart.height = WIDTH - 22 * mm, height - 32 * mm
    chart.data = [values or [0]]
    chart.bars[0].fillColor = RED
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30 if len(labels) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 6 else "n"
    drawing.add(chart)
    return drawing


def _charts(stats: Statistics, font: str) -> list[Drawing]:
    def w(v: Decimal) -> float:
        return float(v / 10000)

    out = [_bar_chart([m.month[5:] + "月" for m in stats.by_month],
                      [w(m.paid_total) for m in stats.by_month], font, "按月给付金额（万元）"),
           _bar_chart([b.name for b in stats.by_benefit],
                      [w(b.paid_total) for b in stats.by_benefit], font, "分项目给付金额（万元）")]
    if stats.by_union:
        out.append(_bar_chart([u.name[:8] for u in stats.by_union],
                              [w(u.paid_total) for u in stats.by_union], font,
                              "下级工会给付金额（万元）"))
    tiers = [t for t in stats.by_tier if t.label != "（不分档）"]
    if tiers:
        # A band in words is long: the range and the rate on lines of their own, whole.
        out.append(_bar_chart([t.label.replace("至", "\n至").replace("按", "\n按")
                               for t in tiers],
                              [float(t.person_times) for t in tiers], font, "按政策档次（人次）"))
    return out


def annual_report_pdf(stats: Statistics) -> bytes:
    font = pdf.font_name()
    styles = pdf.styles(font)
    styles["caption"] = ParagraphStyle("caption", parent=styles["body"], keepWithNext=1)
    s = stats.selection
    title = f"{s.scheme.name}{s.label}度报告" if s.label.endswith("年") else \
        f"{s.scheme.name}统计报告（{s.label}）"
    story: list = [Paragraph(pdf.escape(s.union.name), styles["letterhead"]),
                   Paragraph(pdf.escape(title), styles["title"]),
                   Paragraph(pdf.escape(f"生成于 {timezone.localtime():%Y-%m-%d %H:%M}"),
                             styles["right"]), Spacer(1, 3 * mm),
                   *heading("一、概况", styles["heading"])]
    story += [Paragraph(pdf.escape(text), styles["body"]) for text in summary_sentences(stats)]
    story += heading("二、主要指标", styles["heading"])
    story.append(_table(tables.summary(stats), styles))
    story += heading("三、图表", styles["heading"])
    for drawing in _charts(stats, font):
        story += [drawing, Spacer(1, 2 * mm)]
    story.append(PageBreak())
    story += heading("四、明细表", styles["heading"])
    for table in (tables.by_benefit(stats), tables.by_month(stats), tables.by_union(stats),
                  tables.by_tier(stats)):
        if table.key == "union" and not table.rows:
            continue
        story += [*heading(table.title, styles["caption"]), _table(table, styles),
                  Spacer(1, 3 * mm)]
    story += heading("五、统计口径", styles["heading"])
    story += [Paragraph(pdf.escape(f"{term}：{text}"), styles["small"])
              for term, text in tables.definitions().rows]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=15 * mm, bottomMargin=18 * mm, title=title,
                            author=s.union.name, creator="huzhu 职工互助保障系统")
    doc.build(story)
    return buffer.getvalue()
