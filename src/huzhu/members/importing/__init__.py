"""The members file of the import (会员名单): columns, the two passes, registration.

The first pass (:mod:`.rows`) validates every row and remembers only row numbers and ID
numbers, so memory stays flat at a million rows; the second (:mod:`.loader`), run only
when nothing is refused or the user chose "valid rows only", writes in one transaction.
"""

from __future__ import annotations

from django.db import transaction

from huzhu.audit import limits
from huzhu.audit.models import AuditEntry
from huzhu.imports.columns import Column, ColumnSet
from huzhu.imports.errors import ImportFileError
from huzhu.imports.kinds import ImportKind
from huzhu.imports.service import ImportRun, roomy_sqlite_cache
from huzhu.members.importing.loader import MemberLoader
from huzhu.members.importing.rows import (
    MemberRowValidator,
    RowCache,
    UnitIndex,
    valid_rows,
    validate,
)
from huzhu.members.models import Member
from huzhu.members.transfers import request_transfer
from huzhu.orgs.models import Unit

# Valid rows kept between the passes (~0.5 KB each); larger files are read twice.
KEEP_ROWS_IN_MEMORY = 1_200_000

MEMBER_COLUMNS = ColumnSet((
    Column("name", "姓名", ("姓名", "会员姓名", "职工姓名", "name"), required=True),
    Column("id_number", "身份证号", ("身份证号", "身份证号码", "公民身份号码", "证件号码",
                                     "id_number", "id number", "idnumber"), required=True),
    Column("phone", "手机号", ("手机号", "手机号码", "手机", "联系电话", "phone", "mobile")),
    Column("unit_uscc", "单位统一社会信用代码", ("单位统一社会信用代码", "统一社会信用代码",
                                              "单位信用代码", "unit_uscc", "uscc")),
    Column("unit_name", "单位名称", ("单位名称", "单位", "工作单位", "unit_name", "unit")),
    Column("joined_on", "入会日期", ("入会日期", "入会时间", "joined_on", "joined")),
    Column("status", "状态", ("状态", "会员状态", "人员状态", "status")),
    Column("occupation", "职业类别", ("职业类别", "职业", "人员类别", "occupation")),
    Column("family_id_number", "家庭关联身份证号", (
        "家庭关联身份证号", "家庭关联会员身份证号", "关联会员身份证号", "户主身份证号",
        "family_id_number", "family_id",
    )),
    Column("bank_account", "银行账号", ("银行账号", "银行卡号", "银行帐号", "bank_account")),
    Column("bank_name", "开户行", ("开户行", "开户银行", "开户行名称", "开户网点", "bank_name")),
), one_of=(("unit_uscc", "unit_name"),))

EXAMPLE = ("张伟", "11010519491231002X", "13800138000", "91110000MA0000000H", "",
           "2020-01-01", "在职", "其他", "", "6222020200112233445", "中国工商银行长春分行")


def run(job: ImportRun) -> None:
    table, mapping = job.open()
    validator = MemberRowValidator(job.file_name, mapping, UnitIndex.load(job.scope))
    cache = RowCache(KEEP_ROWS_IN_MEMORY)
    foreign: dict = {}
    job.outcome.total_rows = validate(table.rows, validator, job.scope, job.sink,
                                      job.progress, cache, foreign)
    job.require_rows()
    if job.sink.count and not job.outcome.valid_only:
        return  # nothing is said about other unions' members until the file is clean
    _check_transfer_allowance(job, foreign)
    skip = job.sink.bad_rows | set(foreign)
    if cache.rows is not None:
        rows = cache.valid(skip)
    else:
        again, _ = job.open()
        rows = valid_rows(again.rows, validator, skip)
    to_write = job.outcome.total_rows - len(skip)
    job.progress("importing", 0, to_write)  # announced before the transaction holds the lock
    roomy_sqlite_cache()
    with transaction.atomic():
        loader = MemberLoader(job.file_name, mapping, validator.units, job.scope, job.outcome)
        loader.load(rows, job.progress, to_write)
        _request_transfers(job, foreign)
        job.record(AuditEntry.Action.MEMBER_IMPORTED)
    job.outcome.imported = True


def _check_transfer_allowance(job: ImportRun, foreign: dict) -> None:
    """Rows of other unions' members each tell the clerk a number is registered: they
    count against the daily limit, and past it the file is refused as a whole (without
    saying which rows)."""
    if not foreign:
        return
    try:
        limits.check(job.scope.user, limits.DUPLICATE, needed=len(foreign))
    except limits.LookupLimitReached as exc:
        raise ImportFileError(job.file_name, f"本文件有{len(foreign)}行的身份证号已有其他工会的"
                                             f"会员记录。{exc}") from None


def _request_transfers(job: ImportRun, foreign: dict) -> None:
    if not foreign:
        return
    members = Member.objects.in_bulk([f.member_id for f in foreign.values()])
    units = Unit.objects.select_related("union").in_bulk(
        {f.unit_id for f in foreign.values()})
    for row in sorted(foreign.values(), key=lambda f: f.row):
        request_transfer(job.scope.user, members[row.member_id], units[row.unit_id],
                         name_given=row.name, reason=f"导入文件 {job.file_name} 第{row.row}行")
    limits.spend(job.scope.user, limits.DUPLICATE,
                 f"导入文件 {job.file_name}：身份证号已在其他工会登记，已申请转会",
                 {"what": "身份证号", "where": "导入"}, count=len(foreign))
    job.outcome.transfers = len(foreign)
    job.outcome.transfer_rows = sorted(foreign)


KIND = ImportKind(code="members", label="会员", columns=MEMBER_COLUMNS, run=run,
                  example=EXAMPLE, result_url="members:list", order=20)
