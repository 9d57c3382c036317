"""The enrolment list (参保名单) for a period: ID numbers of members to enrol, uploaded
from the period's page. The member import's reading, validation report and
all-or-nothing rule apply: one bad row and nobody is enrolled."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.coverage import enrolment
from huzhu.coverage.joining import covers_unit, eligible_statuses
from huzhu.coverage.models import Enrolment, Period
from huzhu.imports.cells import CellError, digits_text, text
from huzhu.imports.columns import Column, ColumnSet
from huzhu.imports.errors import ImportFileError, RowError
from huzhu.imports.kinds import ImportKind
from huzhu.imports.reading import data_rows
from huzhu.imports.service import ImportRun
from huzhu.lib import crypto
from huzhu.lib.errors import Refused
from huzhu.members.idcard import IdNumberError, parse_id_number
from huzhu.members.models import Member
from huzhu.orgs.models import Unit

COLUMNS = ColumnSet((
    Column("id_number", "身份证号", ("身份证号", "身份证号码", "公民身份号码", "证件号码",
                                     "id_number"), required=True),
    Column("name", "姓名", ("姓名", "会员姓名", "职工姓名", "name")),
))
EXAMPLE = ("11010519491231002X", "张伟")


def run(job: ImportRun) -> None:
    period = Period.objects.select_related("scheme__union").filter(
        pk=job.options.get("period")).first()
    if period is None:
        raise ImportFileError(job.file_name, "未指定互助期：请在互助期页面上传参保名单")
    table, mapping = job.open()
    chosen = _validate(job, table.rows, mapping, period)
    job.require_rows()
    if job.sink.count and not job.outcome.valid_only:
        return
    by_unit: dict[int, list[int]] = defaultdict(list)
    for member_id, unit_id in chosen.values():
        by_unit[unit_id].append(member_id)
    job.progress("importing", 0, len(chosen))
    units = Unit.objects.select_related("union").in_bulk(list(by_unit))
    try:
        with transaction.atomic():
            done = 0
            for unit_id, ids in sorted(by_unit.items()):
                outcome = enrolment.enrol_unit(job.scope.user, period, units[unit_id],
                                               member_ids=ids, on=timezone.localdate())
                job.outcome.created += outcome.enrolled
                done += len(ids)
                job.progress("importing", done, len(chosen))
            job.record(AuditEntry.Action.ENROLLED)
    except Refused as exc:
        raise ImportFileError(job.file_name, f"未办理任何参保：{exc}") from None
    job.outcome.imported = True


def _validate(job: ImportRun, rows, mapping, period: Period) -> dict[int, tuple[int, int]]:
    """Row number → (member id, unit id) of each good row; errors go to the sink."""
    id_col = mapping.index["id_number"]
    name_col = mapping.index.get("name")
    header = mapping.headers.get
    members = Member.objects.visible_to(job.scope.user) if job.scope.user else Member.objects
    statuses = set(eligible_statuses(period.scheme))
    enrolled = set(Enrolment.objects.filter(period=period).values_list("member_id", flat=True))
    first_row: dict[str, int] = {}
    chosen: dict[int, tuple[int, int]] = {}
    for row, cells in data_rows(rows):
        job.outcome.total_rows += 1

        def err(field: str, message: str, row: int = row) -> None:
            job.sink.add([RowError(job.file_name, row, header(field, ""), message)])

        try:
            raw = digits_text(cells[id_col] if id_col < len(cells) else None, "身份证号")
            number = parse_id_number(raw).value
        except (IdNumberError, CellError) as exc:
            err("id_number", str(exc))
            continue
        if number in first_row:
            err("id_number", f"身份证号与第{first_row[number]}行重复")
            continue
        first_row[number] = row
        member = members.filter(id_number_hash__in=crypto.blind_indexes(number)).select_related(
            "unit__union").first()
        if member is None:
            err("id_number", "未在您管辖的范围内找到该身份证号的会员，请先登记会员")
            continue
        name = text(cells[name_col]) if name_col is not None and name_col < len(cells) else ""
        if name and name.replace(" ", "") != member.name:
            err("name", "姓名与会员登记的姓名不一致")
            continue
        if member.pk in enrolled:
            err("id_number", f"该会员已参加{period.name}，不能重复参保")
        elif member.status not in statuses:
            err("id_number", f"会员状态为“{member.get_status_display()}”，不能参加本项目")
        elif not covers_unit(period.scheme, member.unit):
            err("id_number", "该会员所在单位不在本项目的保障范围内")
        else:
            chosen[row] = (member.pk, member.unit_id)
        if not job.outcome.total_rows % 2000:
            job.progress("validating", job.outcome.total_rows, None)
    return chosen


KIND = ImportKind(code="enrolments", label="参保名单", columns=COLUMNS, run=run,
                  example=EXAMPLE, result_url="coverage:schemes", order=30, listed=False)
