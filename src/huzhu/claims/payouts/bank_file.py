"""The bank transfer file (银行转账文件) of a batch's pending payouts, xlsx or CSV (UTF-8 or
GBK), in one of a few column layouts (:data:`LAYOUTS`), one row per payout numbered 序号.

Accounts and ID numbers are masked unless a role that may see full numbers asks for them
with a stated purpose; every file is audited, the purpose with it. ``huzhu payouts file``
maps its options straight onto :func:`export_batch`: ``--format`` → ``fmt``,
``--encoding`` → ``encoding``, ``--layout`` → ``layout``, ``--full`` and ``--purpose``.

Amounts are written as the bank reads them: numbers with two decimals in xlsx, and in
CSV two decimals with no thousands separator (``yuan(..., grouped=False)``). No cell is
ever a formula: the xlsx is written through :mod:`huzhu.lib.xlsx` (text cells, a name
that looks like a formula quote-prefixed so the bank reads it unchanged), the CSV through
:mod:`huzhu.lib.csvsafe` (a text cell Excel would run, ``= + - @``, tab or CR, gets a
leading apostrophe).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Payout, PayoutBatch
from huzhu.claims.payouts.access import refusals_audited, require_pay, visible_batch
from huzhu.claims.workflow import ClaimRefused
from huzhu.lib import crypto, csvsafe
from huzhu.lib.money import MoneySum
from huzhu.lib.xlsx import BOLD, MONEY_PLAIN, Workbook
from huzhu.orgs.models import User
from huzhu.rules.money import to_fen, yuan

PURPOSE_MIN = 4  # as for member exports: a full-number file needs a stated purpose
FORMATS = ("xlsx", "csv")
ENCODINGS = ("utf-8", "gbk")
ZERO = Decimal("0.00")
MEMO_MAX = 20  # banks cut a transfer's 用途/摘要 at about twenty characters
GBK_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class BankRow:
    seq: int  # 序号, from 1 in payout order
    name: str
    id_number: str  # masked unless the full-number rule applies
    account: str  # masked unless the full-number rule applies
    bank: str  # 开户行 as the member record has it ("" when not given)
    amount: Decimal
    memo: str  # 用途/摘要: the benefit paid
    number: str  # 理赔编号
    unit: str


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    value: Callable[[BankRow], str | Decimal]
    money: bool = False


def _text(attr: str) -> Callable[[BankRow], str]:
    return lambda row: str(getattr(row, attr))


SEQ = Column("序号", 6, lambda row: str(row.seq))
AMOUNT = Column("金额（元）", 12, lambda row: row.amount, money=True)


@dataclass(frozen=True)
class Layout:
    """A bank's column order. ``total_row``: a last row 合计 N 笔 … 元 with the total in
    the amount column; banks whose upload reads every row as a payment want none."""

    label: str
    columns: tuple[Column, ...]
    total_row: bool


LAYOUTS: dict[str, Layout] = {
    # Read by people and by most banks' 批量转账 uploads: everything, with the total.
    "general": Layout("通用格式", (
        SEQ, Column("户名", 10, _text("name")), Column("证件号码", 22, _text("id_number")),
        Column("银行账号", 24, _text("account")), Column("开户行", 22, _text("bank")),
        AMOUNT, Column("用途", 20, _text("memo")), Column("理赔编号", 16, _text("number")),
        Column("会员所在单位", 30, _text("unit"))), total_row=True),
    # The shape of the banks' 代发 (payroll-style) templates: account first, a document
    # type column, 摘要, and no total row (every row would be read as a payment).
    "daifa": Layout("银行代发格式", (
        SEQ, Column("收款人账号", 24, _text("account")), Column("收款人户名", 10, _text("name")),
        AMOUNT, Column("证件类型", 8, lambda row: "居民身份证"),
        Column("证件号码", 22, _text("id_number")), Column("收款人开户行", 22, _text("bank")),
        Column("摘要", 20, _text("memo"))), total_row=False),
}


def layout_choices() -> list[tuple[str, str]]:
    """(code, 中文名称) of the layouts, for the batch page's choice."""
    return [(code, layout.label) for code, layout in LAYOUTS.items()]


def bank_rows(batch: PayoutBatch, *, full: bool) -> Iterator[BankRow]:
    """The batch's pending payouts, in payout order, read as plain rows in chunks (ten
    thousand model instances with their related members would be most of the time)."""
    qs = (batch.payouts.filter(state=Payout.State.PENDING).order_by("pk")
          .values_list("amount", "claim__number", "claim__benefit_name", "claim__member__name",
                       "claim__member__id_number_sealed", "claim__member__bank_account_sealed",
                       "claim__member__bank_name", "claim__member__unit__name"))
    for seq, (amount, number, benefit, name, id_sealed, sealed, bank, unit) in enumerate(
            qs.iterator(chunk_size=2000), start=1):
        account = crypto.unseal(sealed, column=crypto.MEMBER_BANK_ACCOUNT) if sealed else ""
        id_number = crypto.unseal(id_sealed, column=crypto.MEMBER_ID_NUMBER)
        yield BankRow(seq, name, id_number if full else crypto.mask_id_number(id_number),
                      account if full else crypto.mask_bank_account(account), bank,
                      amount, benefit[:MEMO_MAX], number, unit)


# The file's format as the audit log says it.
FORMAT_NAMES = {"xlsx": "Excel 表格", "csv": "CSV 文件"}
ENCODING_NAMES = {"utf-8": "UTF-8", "gbk": "GBK"}


def _totals(batch: PayoutBatch) -> tuple[int, Decimal]:
    agg = batch.payouts.filter(state=Payout.State.PENDING).aggregate(n=Count("pk"),
                                                                      total=MoneySum("amount"))
    return agg["n"], to_fen(agg["total"] or ZERO)


def total_label(count: int, total: Decimal) -> str:
    return f"合计 {count} 笔 {yuan(total, grouped=False)} 元"


@refusals_audited
def export_batch(user: User, batch: PayoutBatch, fmt: str = "xlsx", *, full: bool = False,
                 purpose: str = "", layout: str = "general", encoding: str = "utf-8") -> bytes:
    """The bank transfer file of the batch's pending payouts.

    ``fmt`` xlsx or csv; ``encoding`` utf-8 (with a byte-order mark, for Excel) or gbk
    (CSV only: the banks' older upload programs read GBK; a name GBK cannot write is
    refused, naming its row); ``layout`` one of :data:`LAYOUTS`. Accounts and ID
    numbers are masked unless ``full`` is asked, which needs a role that may see full
    numbers (``members.see_full_id``) and a stated purpose; every file is audited.
    """
    require_pay(user, "导出银行转账文件")
    if fmt not in FORMATS:
        raise ClaimRefused("导出格式只能是 xlsx 或 csv")
    if encoding not in ENCODINGS:
        raise ClaimRefused("文件编码只能是 UTF-8 或 GBK")
    if encoding != "utf-8" and fmt != "csv":
        raise ClaimRefused("GBK 编码只适用于 CSV 文件，Excel 表格不需要选择编码")
    chosen = LAYOUTS.get(layout)
    if chosen is None:
        raise ClaimRefused("没有这种银行文件格式，可选："
                           + "、".join(x.label for x in LAYOUTS.values()))
    purpose = " ".join(purpose.split())[:200]
    if full and not user.has_perm("members.see_full_id"):
        raise ClaimRefused("您的角色不能导出完整银行账号")
    if full and len(purpose) < PURPOSE_MIN:
        raise ClaimRefused(f"导出完整银行账号须写明用途（至少{PURPOSE_MIN}个字），"
                           "用途将记入审计日志")
    batch = visible_batch(user, batch)
    count, total = _totals(batch)
    if not count:
        raise ClaimRefused("该批次没有待付款的给付，无需导出银行转账文件")
    rows = bank_rows(batch, full=full)
    if fmt == "xlsx":
        data = _xlsx(batch, chosen, rows, count, total)
    else:
        data = _csv(chosen, rows, count, total, encoding)
    how = chosen.label + (f"，{ENCODING_NAMES[encoding]} 编码" if fmt == "csv" else "")
    numbers = "完整账号" if full else "脱敏账号"
    log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
               summary=f"导出给付批次 {batch.number} 银行转账文件（{FORMAT_NAMES[fmt]}，"
                       f"{numbers}，{count} 笔，合计 {yuan(total)} 元），{how}"
                       + (f"，用途：{purpose}" if purpose else ""),
               changes={"format": fmt, "full_numbers": full, "purpose": purpose,
                        "count": count, "total": str(total), "文件样式": chosen.label,
                        "文件编码": ENCODING_NAMES[encoding]})
    return data


def _xlsx(batch: PayoutBatch, layout: Layout, rows: Iterable[BankRow], count: int,
          total: Decimal) -> bytes:
    out = io.BytesIO()
    # Constant memory: rows are flushed as they are written.
    book = Workbook(out)
    sheet = book.sheet(f"给付批次{batch.number}"[:31])
    sheet.header([(column.title, column.width) for column in layout.columns])
    r = 0
    for r, row in enumerate(rows, start=1):
        for col, column in enumerate(layout.columns):
            value = column.value(row)
            if column.money:
                sheet.amount(r, col, value, MONEY_PLAIN)
            elif value:  # an empty value is a blank cell, not ""
                # Accounts as strings: a 19-digit number would lose its last digits.
                sheet.text(r, col, str(value))
    if layout.total_row:
        sheet.text(r + 1, 0, total_label(count, total), BOLD)
        sheet.amount(r + 1, _money_column(layout), total, {**MONEY_PLAIN, **BOLD})
    book.close()
    return out.getvalue()


def _money_column(layout: Layout) -> int:
    return next(i for i, column in enumerate(layout.columns) if column.money)


def _cells(layout: Layout, row: BankRow) -> list[str]:
    # Amounts as 12345.60 (no separator); text neutralised by huzhu.lib.csvsafe.
    return [csvsafe.cell(to_fen(v) if column.money else str(v))
            for column in layout.columns for v in (column.value(row),)]


def _gbk_problem(layout: Layout, row: BankRow, cells: list[str]) -> str | None:
    """Why ``row`` cannot be written in GBK (naming the row, the column and the
    character), or None."""
    for column, cell in zip(layout.columns, cells, strict=True):
        try:
            cell.encode("gbk")
        except UnicodeEncodeError as exc:
            bad = cell[exc.start:exc.end]
            return (f"序号 {row.seq}（理赔编号 {row.number}）的{column.title}“{cell}”"
                    f"含 GBK 编码无法表示的字“{bad}”")
    return None


def _csv(layout: Layout, rows: Iterable[BankRow], count: int, total: Decimal,
         encoding: str) -> bytes:
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\r\n")
    writer.writerow([column.title for column in layout.columns])
    problems: list[str] = []
    for row in rows:
        cells = _cells(layout, row)
        if encoding == "gbk":
            problem = _gbk_problem(layout, row, cells)
            if problem is not None:
                problems.append(problem)
                continue
        writer.writerow(cells)
    if problems:
        # Refused, not transliterated: a bank pays an account whose holder's name
        # matches, and a guessed character would make the transfer fail or go astray.
        shown = "；".join(problems[:GBK_ERRORS_SHOWN])
        more = f"等 {len(problems)} 行" if len(problems) > GBK_ERRORS_SHOWN else ""
        raise ClaimRefused(f"不能导出 GBK 编码的文件：{shown}{more}。"
                           "请改用 UTF-8 编码或 Excel 表格导出，或与银行确认户名的写法")
    if layout.total_row:
        money = _money_column(layout)
        last = [""] * len(layout.columns)
        last[0], last[money] = total_label(count, total), yuan(total, grouped=False)
        writer.writerow(last)  # the label is ours: "合计 3 笔 1740.00 元"
    if encoding == "gbk":
        return out.getvalue().encode("gbk")
    # UTF-8 with a byte-order mark: Excel on Windows then reads the Chinese correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")
