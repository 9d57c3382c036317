"""Printable PDFs: a unit's premium notice (缴费通知单) and a member's enrolment
certificate (参保凭证).

ReportLab's platypus lays the pages out. The text is set in a real CJK TrueType font,
embedded as a subset with a ToUnicode map, so that readers can search and copy it and the
tests can extract it back. Without such a font nothing is rendered: a PDF of empty boxes
(tofu) handed to a unit is worse than a clear error.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from huzhu.coverage.models import Enrolment, Payment, PremiumNotice
from huzhu.lib import crypto
from huzhu.lib.errors import Refused
from huzhu.rules.money import amount_in_words, yuan
from huzhu.rules.premiums import percent

__all__ = ["BODY_WIDTH", "Footer", "PdfFontMissing", "certificate_number", "certificate_pdf",
           "day", "escape", "fields", "font_name", "letterhead", "local_day", "paragraph",
           "premium_notice_pdf", "premium_receipt_pdf", "render", "signatures", "styles"]

# ---------------------------------------------------------------- font

# Tried in this order after the HUZHU_PDF_FONT setting: (path, index of the face in a .ttc).
# ReportLab reads TrueType outlines only; a CFF-flavoured font (Noto Sans CJK is one) is
# refused by it and skipped here, so it never ends in a fallback to a Latin font.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
)
FONT_MISSING = "未找到中文字体，请安装 fonts-wqy-zenhei 或设置 HUZHU_PDF_FONT"

# Parsing a CJK font file takes a quarter to half a second: once per process, per file.
_registered: dict[tuple[str, int], str] = {}
_font_lock = threading.Lock()


class PdfFontMissing(RuntimeError):
    """No usable CJK font: the PDF would show empty boxes instead of Chinese."""


def _configured_font() -> str:
    return (getattr(settings, "HUZHU_PDF_FONT", "") or os.environ.get("HUZHU_PDF_FONT", "")
            or "").strip()


def font_name() -> str:
    """The registered name of the CJK font to set text in; raises :class:`PdfFontMissing`."""
    configured = _configured_font()
    if configured:
        # An explicit setting that does not work is a mistake to report, not to paper over
        # with whatever font happens to be installed.
        name = _register(configured, 0)
        if name is None:
            raise PdfFontMissing(f"HUZHU_PDF_FONT 指定的字体无法使用：{configured}"
                                 "（文件不存在，或不是 TrueType 中文字体）")
        return name
    for path, index in FONT_CANDIDATES:
        name = _register(path, index)
        if name is not None:
            return name
    raise PdfFontMissing(FONT_MISSING)


def _register(path: str, index: int) -> str | None:
    key = (path, index)
    with _font_lock:
        if key in _registered:
            return _registered[key]
        if not Path(path).is_file():
            return None
        name = f"HuzhuCJK{len(_registered)}"
        try:
            font = TTFont(name, path, subfontIndex=index)
        except (TTFError, OSError, ValueError):
            return None
        if not _has_cjk(font):
            return None
        pdfmetrics.registerFont(font)
        # <b> in a paragraph must not switch to a font without Chinese glyphs.
        pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name,
                                      boldItalic=name)
        _registered[key] = name
        return name


def _has_cjk(font: TTFont) -> bool:
    glyphs = font.face.charToGlyph
    return all(ord(c) in glyphs for c in "缴费通知单参保凭证元整")


# ---------------------------------------------------------------- dates

def day(value: dt.date | None) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def local_day(moment: dt.datetime | None) -> dt.date:
    if moment is None:
        return timezone.localdate()
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


# ---------------------------------------------------------------- layout helpers

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
BODY_WIDTH = PAGE_WIDTH - 2 * MARGIN
GRID = colors.HexColor("#808080")
SHADE = colors.HexColor("#EEEEEE")


@lru_cache(maxsize=8)
def styles(font: str) -> dict[str, ParagraphStyle]:
    """The paragraph styles of huzhu's PDFs in ``font`` (see :func:`font_name`): body,
    small, letterhead, title, right, cell, heading."""
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK",
                          alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=13),
        "letterhead": ParagraphStyle("letterhead", parent=base, fontSize=16, leading=22,
                                     alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28,
                                alignment=TA_CENTER, spaceBefore=2 * mm, spaceAfter=2 * mm),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10, leading=14),
        # keepWithNext: a heading goes to the next page with what it heads, never
        # alone at the foot of a page (issue 21).
        "heading": ParagraphStyle("heading", parent=base, fontSize=12, leading=18,
                                  spaceBefore=4 * mm, spaceAfter=1.5 * mm, keepWithNext=1),
    }


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    # Names and addresses are data: escape them, so "<" or "&" cannot break the markup.
    return Paragraph(escape(text), style)


def escape(text: str) -> str:
    """``text`` safe inside a ReportLab paragraph's markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def letterhead(union_name: str, title: str, number_line: str,
                styles: dict[str, ParagraphStyle]) -> list:
    rule = Table([[""]], colWidths=[BODY_WIDTH], rowHeights=[1.5 * mm],
                 style=TableStyle([("LINEBELOW", (0, 0), (-1, -1), 1.2, colors.black)]))
    return [paragraph(union_name, styles["letterhead"]), rule, paragraph(title, styles["title"]),
            paragraph(number_line, styles["right"]), Spacer(1, 2 * mm)]


def fields(rows: list[tuple[str, str]], styles: dict[str, ParagraphStyle]) -> Table:
    """Label / value pairs, two to a line; a pair alone on its line (its value too long
    for half the width, or its neighbour's) spans the whole line."""
    label_w, value_w = 34 * mm, BODY_WIDTH / 2 - 34 * mm
    cell = styles["cell"]
    lines: list[list[tuple[str, str, bool]]] = []
    for label, value in rows:
        wide = pdfmetrics.stringWidth(value, cell.fontName, cell.fontSize) > value_w - 12
        if wide or not lines or len(lines[-1]) == 2 or lines[-1][0][2]:
            lines.append([(label, value, wide)])
        else:
            lines[-1].append((label, value, wide))
    cells, commands = [], [("GRID", (0, 0), (-1, -1), 0.5, GRID),
                           ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                           ("BACKGROUND", (0, 0), (0, -1), SHADE)]
    for row, pairs in enumerate(lines):
        flat = [paragraph(text, cell) for label, value, _ in pairs for text in (label, value)]
        if len(pairs) == 1:
            commands.append(("SPAN", (1, row), (3, row)))
            flat += ["", ""]
        else:
            commands.append(("BACKGROUND", (2, row), (2, row), SHADE))
        cells.append(flat)
    return Table(cells, colWidths=[label_w, value_w, label_w, value_w],
                 style=TableStyle(commands))


def signatures(labels: list[str], styles: dict[str, ParagraphStyle], *,
               dated: bool = True) -> Table:
    """A line for each signature (经办人（签字）：______　日期：____年__月__日), for
    forms signed on paper."""
    cell = styles["cell"]
    rows = [[paragraph(f"{label}：", cell), "",
             paragraph("日期：　　　　年　　月　　日" if dated else "", cell)]
            for label in labels]
    table = Table(rows, colWidths=[40 * mm, 60 * mm, BODY_WIDTH - 100 * mm],
                  rowHeights=[12 * mm] * len(rows))
    table.setStyle(TableStyle([
        ("LINEBELOW", (1, 0), (1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]))
    return table


@dataclass(frozen=True)
class Footer:
    font: str
    left: str  # the document's number, so a loose page can be matched to its notice


def _numbered_canvas(footer: Footer):
    """A canvas that holds its pages until the end, to print 第 N 页 / 共 M 页."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._draw_footer(number, total)
                super().showPage()
            super().save()

        def _draw_footer(self, number: int, total: int) -> None:
            self.saveState()
            self.setFont(footer.font, 9)
            self.setFillColor(colors.HexColor("#404040"))
            y = 10 * mm
            if footer.left:
                self.drawString(MARGIN, y, footer.left)
            self.drawRightString(PAGE_WIDTH - MARGIN, y, f"第 {number} 页 / 共 {total} 页")
            self.restoreState()

    return NumberedCanvas


def render(story: list, *, title: str, author: str, footer: Footer) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=15 * mm, bottomMargin=18 * mm, title=title,
                            author=author, creator="huzhu 职工互助保障系统")
    doc.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()


# ---------------------------------------------------------------- premium notice

@dataclass(frozen=True)
class _Line:
    name: str
    id_masked: str
    enrolled_on: dt.date
    premium: Decimal
    remark: str


def _notice_lines(notice: PremiumNotice) -> list[_Line]:
    """The enrolments the notice charges for, in enrolment order. An unpaid withdrawal
    came off the notice (see enrolment.withdraw); a paid one stays, premium and all."""
    rows = (Enrolment.objects.filter(notice=notice)
            .exclude(state=Enrolment.State.WITHDRAWN, paid_on__isnull=True)
            .order_by("id")
            .values_list("member__name", "member__id_number_sealed", "enrolled_on",
                         "premium", "state", "paid_on"))
    lines = []
    for name, sealed, enrolled_on, premium, state, paid_on in rows.iterator(chunk_size=2000):
        if state == Enrolment.State.WITHDRAWN:
            remark = "已退保"
        else:
            remark = "已缴" if paid_on else "未缴"
        lines.append(_Line(name, crypto.mask_id_number(
            crypto.unseal(sealed, column=crypto.MEMBER_ID_NUMBER)), enrolled_on,
                           premium, remark))
    return lines


MEMBER_COLUMNS = ("序号", "姓名", "身份证号", "参保日期", "应缴（元）", "缴费状态")


ROW_HEIGHT = 13.5  # points: 9 pt text with its padding
MIN_NAME_SIZE = 7
WIDTHS = (14 * mm, 46 * mm, 40 * mm, 26 * mm, 28 * mm)
MEMBER_WIDTHS = (*WIDTHS, BODY_WIDTH - sum(WIDTHS))


def _members_table(lines: list[_Line], font: str) -> Table:
    """One table over all pages, its header repeated on each.

    Built for units of thousands: plain strings (no Paragraph per cell), fixed row
    heights and no spans, so that each page's split does not measure every row left.
    A name too long for its column is set smaller, or, if still too long, wrapped in a
    taller row of its own.
    """
    data: list[list] = [list(MEMBER_COLUMNS)]
    heights = [ROW_HEIGHT]
    commands = []
    name_room = MEMBER_WIDTHS[1] - 8
    for i, line in enumerate(lines, start=1):
        name, height = line.name, ROW_HEIGHT
        size = _fitting_size(line.name, font, name_room)
        if size < MIN_NAME_SIZE:
            name = Paragraph(escape(line.name), _name_style(font))
            height = max(ROW_HEIGHT, name.wrap(name_room, 1000)[1] + 3)
        elif size < 9:
            commands.append(("FONTSIZE", (1, i), (1, i), size))
        data.append([str(i), name, line.id_masked, day(line.enrolled_on),
                     yuan(line.premium), line.remark])
        heights.append(height)
    total = sum((line.premium for line in lines), Decimal("0.00"))
    data.append(["合计", f"{len(lines)} 人", "", "", yuan(total), ""])
    heights.append(ROW_HEIGHT)
    table = Table(data, colWidths=MEMBER_WIDTHS, rowHeights=heights, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 9),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
        ("ALIGN", (0, 0), (-1, 0), "CENTER"),
        ("ALIGN", (0, 1), (0, -1), "CENTER"),
        ("ALIGN", (3, 1), (3, -1), "CENTER"),
        ("ALIGN", (4, 1), (4, -1), "RIGHT"),
        ("ALIGN", (5, 1), (5, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        *commands,
    ]))
    return table


@lru_cache(maxsize=8)
def _name_style(font: str) -> ParagraphStyle:
    return ParagraphStyle("name", fontName=font, fontSize=8, leading=10, wordWrap="CJK")


def _fitting_size(text: str, font: str, width: float, size: float = 9) -> float:
    needed = pdfmetrics.stringWidth(text, font, size)
    return size if needed <= width else size * width / needed


def _per_member_label(notice: PremiumNotice, lines: Iterable[_Line]) -> str:
    label = f"{yuan(notice.period.premium)} 元"
    if any(line.premium != notice.period.premium for line in lines):
        label += "（期中加入按剩余月份计，见明细）"
    return label


def _how_to_pay(notice: PremiumNotice, styles: dict[str, ParagraphStyle]) -> list:
    scheme = notice.period.scheme
    union = scheme.union.name
    text = (f"请于 {day(notice.due_date)} 前将尚欠金额一次转账至{union}互助金账户。"
            f"请按通知单号备注转账（备注：{notice.number}），以便核对到账；"
            "未备注或金额不符的，到账确认可能延迟。")
    if not scheme.payee_account:  # not registered yet: lines to write the account on
        text += "收款账户以主办工会公布的为准。"
    blanks = Table([["收款户名", scheme.payee_name], ["开户银行", scheme.payee_bank],
                    ["账　　号", scheme.payee_account]],
                   colWidths=[28 * mm, BODY_WIDTH - 28 * mm], rowHeights=[8 * mm] * 3)
    blanks.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), styles["cell"].fontName, 10),
        ("LINEBELOW", (1, 0), (1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]))
    return [paragraph("缴费方式", styles["heading"]), paragraph(text, styles["body"]), blanks]


def premium_notice_pdf(notice: PremiumNotice) -> bytes:
    """The unit's premium notice (互助金缴费通知单) as A4 PDF bytes, with every enrolled
    member listed (masked ID numbers) on as many pages as it takes."""
    font = font_name()
    sheet = styles(font)
    period = notice.period
    scheme = period.scheme
    union = scheme.union.name
    lines = _notice_lines(notice)
    issued = local_day(notice.issued_at)
    story = letterhead(union, "互助金缴费通知单",
                        f"通知单号：{notice.number}　开具日期：{day(issued)}", sheet)
    story.append(paragraph(f"{notice.unit.name}：", sheet["body"]))
    story.append(paragraph(f"贵单位参加{scheme.name}（{period.name}），应缴互助金如下，"
                    "请按期缴纳。", sheet["body"]))
    story.append(Spacer(1, 2 * mm))
    facts = [
        ("单位名称", notice.unit.name),
        ("统一社会信用代码", notice.unit.uscc),
        ("保障项目", scheme.name),
        ("互助期", f"{period.name}（{day(period.start)} 至 {day(period.end)}）"),
        ("每人互助金", _per_member_label(notice, lines)),
        ("参保人数", f"{notice.members} 人"),
        ("应缴金额", f"{yuan(notice.amount_due)} 元"),
        ("已缴金额", f"{yuan(notice.amount_paid)} 元"),
        ("尚欠金额", f"{yuan(notice.outstanding)} 元"),
        ("缴费截止日期", day(notice.due_date)),
        ("应缴金额（大写）", f"人民币{amount_in_words(notice.amount_due)}"),
    ]
    if notice.amount_paid and notice.outstanding:
        facts.append(("尚欠金额（大写）", f"人民币{amount_in_words(notice.outstanding)}"))
    story.append(fields(facts, sheet))
    story += _how_to_pay(notice, sheet)
    story.append(paragraph("参保人员明细", sheet["heading"]))
    story.append(_members_table(lines, font))
    story.append(Spacer(1, 8 * mm))
    story.append(paragraph(f"{union}（盖章）", sheet["right"]))
    story.append(paragraph(f"打印日期：{day(timezone.localdate())}", sheet["right"]))
    return render(story, title=f"互助金缴费通知单 {notice.number}", author=union,
                   footer=Footer(font, f"通知单号 {notice.number}　{notice.unit.name[:30]}"))


# ---------------------------------------------------------------- certificate

def certificate_number(enrolment: Enrolment) -> str:
    """CB + year of the period + scheme + enrolment id: stable, one per enrolment."""
    period = enrolment.period
    return f"CB{period.start:%Y}{period.scheme_id:03d}{enrolment.pk:09d}"


def _first_enrolled_known(enrolment: Enrolment) -> bool:
    """Before payment, a new member's first-enrolment date is provisional: the payment
    moves it to the day coverage starts (premiums.allocate); a renewal keeps its own."""
    return enrolment.coverage_from is not None or enrolment.first_enrolled < enrolment.enrolled_on


def _waiting_rows(enrolment: Enrolment) -> list[list[str]]:
    known = _first_enrolled_known(enrolment)
    first = enrolment.first_enrolled
    rows = []
    for benefit in enrolment.period.scheme.policy().benefits:
        waiting = benefit.eligibility.waiting
        if waiting is None:
            rows.append([benefit.name, "无等待期", "保障生效即享受"])
            continue
        length = f"{waiting.no_pay_days} 天"
        if waiting.reduced_days is not None:
            length += f"（{waiting.reduced_days} 天内按 {percent(waiting.reduced_rate)} 给付）"
        if not known:
            rows.append([benefit.name, length, "自缴费生效之日起算"])
            continue
        # The engine pays an event dated on or after first_enrolled + no_pay_days.
        pays_from = first + dt.timedelta(days=waiting.no_pay_days)
        if waiting.reduced_days is None:
            rows.append([benefit.name, length, f"{day(pays_from)} 起"])
            continue
        full_from = first + dt.timedelta(days=waiting.reduced_days)
        rows.append([benefit.name, length,
                     f"{day(pays_from)} 起按 {percent(waiting.reduced_rate)} 给付，"
                     f"{day(full_from)} 起全额给付"])
    return rows


def _waiting_table(enrolment: Enrolment, styles: dict[str, ParagraphStyle]) -> Table:
    cell = styles["cell"]
    data = [[paragraph(h, cell) for h in ("保障项目", "等待期", "可享受保障日期")]]
    data += [[paragraph(text, cell) for text in row] for row in _waiting_rows(enrolment)]
    table = Table(data, colWidths=[50 * mm, 46 * mm, BODY_WIDTH - 96 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table


def _coverage_text(enrolment: Enrolment) -> str:
    if enrolment.coverage_from is None:
        return "待缴费后生效"
    return f"{day(enrolment.coverage_from)} 至 {day(enrolment.coverage_to)}"


def _state_text(enrolment: Enrolment) -> str:
    if enrolment.state == Enrolment.State.WITHDRAWN:
        return f"已退保（{day(enrolment.withdrawn_on)}）"
    return "参保中"


def certificate_pdf(enrolment: Enrolment) -> bytes:
    """A member's enrolment certificate (参保凭证) as A4 PDF bytes."""
    font = font_name()
    sheet = styles(font)
    period = enrolment.period
    scheme = period.scheme
    union = scheme.union.name
    member = enrolment.member
    number = certificate_number(enrolment)
    today = timezone.localdate()
    known = _first_enrolled_known(enrolment)
    story = letterhead(union, "参保凭证", f"凭证编号：{number}", sheet)
    story.append(fields([
        ("姓名", member.name),
        ("身份证号", crypto.mask_id_number(member.id_number)),
        ("参保单位", enrolment.unit.name),
        ("保障项目", scheme.name),
        ("互助期", f"{period.name}（{day(period.start)} 至 {day(period.end)}）"),
        ("保障期间", _coverage_text(enrolment)),
        ("参保日期", day(enrolment.enrolled_on)),
        ("首次参保日期", day(enrolment.first_enrolled) if known else "待缴费后确定"),
        ("缴费情况", f"已缴 {yuan(enrolment.premium)} 元（{day(enrolment.paid_on)}）"
                     if enrolment.paid else f"未缴（应缴 {yuan(enrolment.premium)} 元）"),
        ("参保状态", _state_text(enrolment)),
    ], sheet))
    story.append(paragraph("等待期", sheet["heading"]))
    story.append(_waiting_table(enrolment, sheet))
    story.append(Spacer(1, 3 * mm))
    story.append(paragraph("说明：等待期自首次参保日期起算，连续续保的不重新计算。"
                    f"具体保障范围和给付标准以{scheme.name}的规定为准。本凭证不作缴费收据使用。",
                    sheet["small"]))
    story.append(Spacer(1, 12 * mm))
    story.append(paragraph(f"出具单位：{union}（盖章）", sheet["right"]))
    story.append(paragraph(f"出具日期：{day(today)}", sheet["right"]))
    return render(story, title=f"参保凭证 {number}", author=union,
                   footer=Footer(font, f"凭证编号 {number}"))


# ---------------------------------------------------------------- receipt

def receipt_number(notice: PremiumNotice) -> str:
    """SJ + the notice's number: one receipt per notice, found again by its number."""
    return f"SJ{notice.number}"


def premium_receipt_pdf(notice: PremiumNotice) -> bytes:
    """The receipt (互助金缴费收据) of a notice paid in full, as A4 PDF bytes: the unit,
    the period, the amount in figures and in words, each payment as it reached the bank.
    Refuses (:class:`Refused`) a notice not yet paid in full: a receipt for part of a
    notice would read as settled."""
    if notice.state != PremiumNotice.State.PAID:
        raise Refused(f"缴费通知单 {notice.number} 尚未缴清（尚欠 {yuan(notice.outstanding)} 元），"
                      "缴清后才能开具缴费收据")
    font = font_name()
    sheet = styles(font)
    period = notice.period
    scheme = period.scheme
    union = scheme.union.name
    payments = list(Payment.objects.filter(notice=notice).order_by("paid_on", "id"))
    number = receipt_number(notice)
    story = letterhead(union, "互助金缴费收据",
                       f"收据编号：{number}　通知单号：{notice.number}", sheet)
    story.append(fields([
        ("交款单位", notice.unit.name),
        ("统一社会信用代码", notice.unit.uscc),
        ("保障项目", scheme.name),
        ("互助期", f"{period.name}（{day(period.start)} 至 {day(period.end)}）"),
        ("参保人数", f"{notice.members} 人"),
        ("收款金额", f"{yuan(notice.amount_paid)} 元"),
        ("收款金额（大写）", f"人民币{amount_in_words(notice.amount_paid)}"),
        ("缴清日期", day(payments[-1].paid_on) if payments else ""),
    ], sheet))
    story.append(paragraph("到账明细", sheet["heading"]))
    data = [["序号", "到账日期", "银行流水号", "金额（元）"]]
    data += [[str(i), day(p.paid_on), p.bank_reference, yuan(p.amount)]
             for i, p in enumerate(payments, start=1)]
    data.append(["合计", f"{len(payments)} 笔", "", yuan(notice.amount_paid)])
    table = Table(data, colWidths=[16 * mm, 34 * mm, BODY_WIDTH - 90 * mm, 40 * mm],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 9.5),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
        ("ALIGN", (0, 0), (-1, 0), "CENTER"),
        ("ALIGN", (3, 1), (3, -1), "RIGHT"),
    ]))
    story.append(table)
    story.append(Spacer(1, 3 * mm))
    story.append(paragraph(f"兹收到{notice.unit.name}缴纳的{scheme.name}（{period.name}）互助金，"
                           f"计人民币{amount_in_words(notice.amount_paid)}"
                           f"（{yuan(notice.amount_paid)} 元）。", sheet["body"]))
    story.append(Spacer(1, 6 * mm))
    story.append(signatures(["收款单位（盖章）", "经办人（签字）"], sheet))
    story.append(Spacer(1, 4 * mm))
    story.append(paragraph(f"开具日期：{day(timezone.localdate())}", sheet["right"]))
    return render(story, title=f"互助金缴费收据 {number}", author=union,
                  footer=Footer(font, f"收据编号 {number}　{notice.unit.name[:30]}"))
