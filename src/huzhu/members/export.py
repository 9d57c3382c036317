"""Export a member list to xlsx, in constant memory.

xlsxwriter's ``constant_memory`` mode flushes each row to disk as it is written, and
the queryset is read in chunks, so a million-member export holds only a chunk at a time.
ID numbers and bank accounts are masked unless the caller says the user may see them
(and then the caller audits the export).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import IO

import xlsxwriter
from django.db.models import QuerySet

from huzhu import crypto
from huzhu.members.models import Member

# Excel's sheet limit is 1,048,576 rows including the header.
MAX_ROWS = 1_048_575

COLUMNS = [
    ("姓名", 10), ("身份证号", 22), ("性别", 6), ("出生日期", 12), ("手机号", 14),
    ("单位", 30), ("统一社会信用代码", 22), ("基层工会", 24), ("入会日期", 12),
    ("状态", 8), ("职业类别", 10), ("银行账号", 24),
]


def member_row(member: Member, *, full: bool) -> list[str]:
    id_number = member.id_number
    bank = member.bank_account
    return [
        member.name,
        id_number if full else crypto.mask_id_number(id_number),
        member.get_gender_display(),
        member.birth_date.isoformat() if member.birth_date else "",
        member.phone,
        member.unit.name,
        member.unit.uscc,
        member.union.name,
        member.joined_on.isoformat() if member.joined_on else "",
        member.get_status_display(),
        member.get_occupation_display(),
        (bank if full else crypto.mask_bank_account(bank)) if bank else "",
    ]


def write_members_xlsx(members: Iterable[Member], target: str | IO[bytes], *,
                       full: bool) -> int:
    """Write ``members`` to ``target`` (a path or a binary file); return the row count."""
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True})
    sheet = workbook.add_worksheet("会员名单")
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for col, (title, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, header)
    sheet.freeze_panes(1, 0)
    rows = 0
    for member in members:
        if rows >= MAX_ROWS:
            break
        rows += 1
        # write_string everywhere: ID and account numbers must never become numbers.
        for col, value in enumerate(member_row(member, full=full)):
            sheet.write_string(rows, col, value)
    workbook.close()
    return rows


def export_members(qs: QuerySet[Member], *, full: bool) -> tuple[IO[bytes], int]:
    """Export ``qs`` to a temporary file; return it rewound, with the row count."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    members = qs.select_related("unit", "union").iterator(chunk_size=2000)
    rows = write_members_xlsx(members, handle, full=full)
    handle.seek(0)
    return handle, rows
