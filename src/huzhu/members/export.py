"""Write a member list to xlsx, in constant memory.

xlsxwriter's ``constant_memory`` mode flushes each row to disk as it is written, and
the queryset is read in chunks, so a million-member export holds only a chunk at a time.
A masked export (for roles that may not see full numbers) shows the masked ID number
and the age instead of the birth date: the birth date is exactly the part of the ID
number the mask hides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO

from django.db.models import QuerySet
from django.utils import timezone

from huzhu.lib import crypto
from huzhu.lib.xlsx import Workbook
from huzhu.members.models import Member

# Excel's sheet limit is 1,048,576 rows including the header.
MAX_ROWS = 1_048_575
PROGRESS_EVERY = 2000

_HEAD = [("姓名", 10), ("身份证号", 22), ("性别", 6)]
_TAIL = [("手机号", 14), ("单位", 30), ("统一社会信用代码", 22), ("基层工会", 24),
         ("入会日期", 12), ("状态", 8), ("职业类别", 10), ("银行账号", 24), ("开户行", 22)]
FULL_COLUMNS = [*_HEAD, ("出生日期", 12), *_TAIL]
MASKED_COLUMNS = [*_HEAD, ("年龄", 6), *_TAIL]


def columns(full: bool) -> list[tuple[str, int]]:
    return FULL_COLUMNS if full else MASKED_COLUMNS


def member_row(member: Member, *, full: bool, year: int) -> list[str]:
    id_number = member.id_number
    bank = member.bank_account
    return [
        member.name,
        id_number if full else crypto.mask_id_number(id_number),
        member.get_gender_display(),
        member.birth_date.isoformat() if full else str(year - member.birth_date.year),
        member.phone,
        member.unit.name,
        member.unit.uscc,
        member.union.name,
        member.joined_on.isoformat() if member.joined_on else "",
        member.get_status_display(),
        member.get_occupation_display(),
        (bank if full else crypto.mask_bank_account(bank)) if bank else "",
        member.bank_name,
    ]


def write_members_xlsx(members: Iterable[Member], target: str | IO[bytes], *, full: bool,
                       progress: Callable[[int], None] | None = None) -> int:
    """Write ``members`` to ``target`` (a path or a binary file); return the row count."""
    # Text only, through huzhu.lib.xlsx: a name or unit written "=…" is never a formula,
    # and ID and account numbers never become numbers.
    workbook = Workbook(target)
    sheet = workbook.sheet("会员名单")
    sheet.header(columns(full))
    year = timezone.localdate().year
    rows = 0
    for member in members:
        if rows >= MAX_ROWS:
            break
        rows += 1
        for col, value in enumerate(member_row(member, full=full, year=year)):
            sheet.text(rows, col, value)
        if progress is not None and not rows % PROGRESS_EVERY:
            progress(rows)
    workbook.close()
    return rows


def export_queryset(qs: QuerySet[Member]) -> Iterable[Member]:
    return qs.select_related("unit", "union").iterator(chunk_size=2000)
