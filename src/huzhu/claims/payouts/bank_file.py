"""The bank transfer file (银行转账文件) of a batch's pending payouts, xlsx or CSV, with a
total row. Accounts are masked unless a role that may see full numbers asks for them
with a stated purpose; every file is audited.

Amounts are written as the bank reads them: numbers in xlsx, and in CSV two decimals
with no thousands separator (``yuan(..., grouped=False)``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import xlsxwriter
from django.db.models import Count

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Payout, PayoutBatch
from huzhu.claims.payouts.access import refusals_audited, require_pay, visible_batch
from huzhu.claims.workflow import ClaimRefused
from huzhu.lib import crypto
from huzhu.lib.money import MoneySum
from huzhu.orgs.models import User
from huzhu.rules.money import to_fen, yuan

PURPOSE_MIN = 4  # as for member exports: a full-number file needs a stated purpose
FORMATS = ("xlsx", "csv")
ZERO = Decimal("0.00")

COLUMNS = [("姓名", 10), ("银行账号", 24), ("开户行", 16), ("金额", 12), ("理赔编号", 16),
           ("会员所在单位", 30)]


@dataclass(frozen=True)
class BankRow:
    name: str
    account: str
    bank: str
    amount: Decimal
    number: str
    unit: str


def bank_rows(batch: PayoutBatch, *, full: bool) -> Iterator[BankRow]:
    """The batch's pending payouts, in payout order, read as plain rows in chunks (ten
    thousand model instances with their related members would be most of the time)."""
    qs = (batch.payouts.filter(state=Payout.State.PENDING).order_by("pk")
          .values_list("amount", "claim__number", "claim__member__name",
                       "claim__member__bank_account_sealed", "claim__member__unit__name"))
    for amount, number, name, sealed, unit in qs.iterator(chunk_size=2000):
        account = crypto.unseal(sealed) if sealed else ""
        yield BankRow(name, account if full else crypto.mask_bank_account(account),
                      "",  # the registry keeps no bank name yet
                      amount, number, unit)


# The file's format as the audit log says it.
FORMAT_NAMES = {"xlsx": "Excel 表格", "csv": "CSV 文件"}


def _totals(batch: PayoutBatch) -> tuple[int, Decimal]:
    agg = batch.payouts.filter(state=Payout.State.PENDING).aggregate(n=Count("pk"),
                                                                      total=MoneySum("amount"))
    return agg["n"], to_fen(agg["total"] or ZERO)



def total_label(count: int, total: Decimal) -> str:
    return f"合计 {count} 笔 {yuan(total, grouped=False)} 元"


@refusals_audited
def export_batch(user: User, batch: PayoutBatch, fmt: str = "xlsx", *, full: bool = False,
                 purpose: str = "") -> bytes:
    """The bank transfer file of the batch's pending payouts, with a total row.

    Accounts are masked unless ``full`` is asked, which needs a role that may see full
    numbers (``members.see_full_id``) and a stated purpose; every file is audited, the
    purpose with it.
    """
    require_pay(user, "导出银行转账文件")
    if fmt not in FORMATS:
        raise ClaimRefused("导出格式只能是 xlsx 或 csv")
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
    data = _xlsx(batch, rows, count, total) if fmt == "xlsx" else _csv(rows, count, total)
    log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
               summary=f"导出给付批次 {batch.number} 银行转账文件（{FORMAT_NAMES[fmt]}，"
                       f"{'完整账号' if full else '脱敏账号'}，{count} 笔，合计 {yuan(total)} 元）"
                       + (f"，用途：{purpose}" if purpose else ""),
               changes={"format": fmt, "full_numbers": full, "purpose": purpose,
                        "count": count, "total": str(total)})
    return data



def _xlsx(batch: PayoutBatch, rows: Iterable[BankRow], count: int, total: Decimal) -> bytes:
    out = io.BytesIO()
    # No formulas from data: a name written "=…" stays text. Constant memory: rows are
    # flushed as they are written.
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                     "strings_to_numbers": False, "strings_to_urls": False})
    sheet = book.add_worksheet(f"给付批次{batch.number}"[:31])
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "0.00"})
    bold_money = book.add_format({"num_format": "0.00", "bold": True})
    bold = book.add_format({"bold": True})
    for col, (title, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, head)
    sheet.freeze_panes(1, 0)
    r = 0
    for r, row in enumerate(rows, start=1):
        # Accounts as strings: a 19-digit number would lose its last digits in Excel.
        sheet.write_string(r, 0, row.name)
        sheet.write_string(r, 1, row.account)
        if row.bank:  # empty until the registry keeps bank names: a blank cell, not ""
            sheet.write_string(r, 2, row.bank)
        # xlsxwriter writes a Decimal's own digits into the cell: no float on the way.
        sheet.write_number(r, 3, row.amount, money)
        sheet.write_string(r, 4, row.number)
        sheet.write_string(r, 5, row.unit)
    sheet.write_string(r + 1, 0, total_label(count, total), bold)
    sheet.write_number(r + 1, 3, total, bold_money)
    book.close()
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    """A text cell Excel would run as a formula is prefixed with an apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(rows: Iterable[BankRow], count: int, total: Decimal) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in COLUMNS])
    for row in rows:
        writer.writerow([_csv_text(row.name), row.account, _csv_text(row.bank),
                         yuan(row.amount, grouped=False), _csv_text(row.number),
                         _csv_text(row.unit)])
    writer.writerow([total_label(count, total), "", "", yuan(total, grouped=False), "", ""])
    # UTF-8 with a byte-order mark: Excel on Windows then reads the Chinese correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")
