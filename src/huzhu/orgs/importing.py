"""Units import: employers with their USCC and grassroots union.

A city has thousands of units, not millions, so rows are validated into memory and
written with the ORM's bulk operations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone

from huzhu.audit.log import record_many
from huzhu.audit.models import AuditEntry
from huzhu.imports.cells import CellError, parse_yes, quote, text
from huzhu.imports.columns import Column, ColumnSet, Mapping
from huzhu.imports.errors import ErrorSink, RowError
from huzhu.imports.kinds import ImportKind
from huzhu.imports.outcome import Outcome, Progress
from huzhu.imports.reading import Cell, data_rows
from huzhu.imports.scope import ImportScope
from huzhu.imports.service import ImportRun
from huzhu.orgs.models import Union, Unit
from huzhu.orgs.uscc import UsccError, parse_uscc

_PHONE = re.compile(r"[0-9+\-() ]{7,20}")
FIELDS = ("name", "union_id", "contact_name", "contact_phone", "address", "uscc_check_ok")

UNIT_COLUMNS = ColumnSet((
    Column("name", "单位名称", ("单位名称", "名称", "name", "unit_name"), required=True),
    Column("uscc", "统一社会信用代码", ("统一社会信用代码", "信用代码", "uscc"), required=True),
    Column("union_code", "基层工会编码", ("基层工会编码", "工会编码", "所属基层工会编码",
                                          "union_code"), required=True),
    Column("contact_name", "联系人", ("联系人", "联系人姓名", "contact_name", "contact")),
    Column("contact_phone", "联系电话", ("联系电话", "联系人电话", "电话", "contact_phone",
                                         "phone")),
    Column("address", "地址", ("地址", "单位地址", "address")),
    Column("confirm_check", "确认校验位", ("确认校验位", "确认校验", "confirm_check")),
))

EXAMPLE = ("北京示例科技有限公司", "91110000MA0000000H", "G011", "李红", "13800138000",
           "北京市朝阳区示例路1号", "")


@dataclass(slots=True)
class UnitRow:
    row: int
    name: str
    uscc: str
    uscc_check_ok: bool
    union_id: int
    union_path: str
    contact_name: str | None
    contact_phone: str | None
    address: str | None


class UnitRowValidator:
    def __init__(self, file_name: str, mapping: Mapping, scope: ImportScope) -> None:
        self.file = file_name
        self.m = mapping
        self.last_uscc: str | None = None
        unions = Union.objects.all()
        if scope.user is not None:
            unions = unions.visible_to(scope.user)
        self.unions = {code: (pk, level, path)
                       for code, pk, level, path in unions.values_list("code", "id", "level",
                                                                       "path")}

    def _cell(self, cells: list[Cell], field: str) -> Cell:
        i = self.m.index.get(field)
        return cells[i] if i is not None and i < len(cells) else None

    def _err(self, row: int, field: str, message: str) -> RowError:
        return RowError(self.file, row, self.m.headers.get(field, ""), message)

    def __call__(self, row: int, cells: list[Cell]) -> tuple[UnitRow | None, list[RowError]]:
        errors: list[RowError] = []
        name = " ".join(text(self._cell(cells, "name")).split())
        if not name:
            errors.append(self._err(row, "name", "单位名称不能为空"))
        elif len(name) > 200:
            errors.append(self._err(row, "name", "单位名称不能超过200个字"))

        confirmed = False
        try:
            confirmed = parse_yes(self._cell(cells, "confirm_check"), "确认校验位")
        except CellError as exc:
            errors.append(self._err(row, "confirm_check", str(exc)))

        uscc = None
        self.last_uscc = None  # for duplicates, even when another cell of the row failed
        try:
            uscc = parse_uscc(text(self._cell(cells, "uscc")))
            self.last_uscc = uscc.value
            if not uscc.check_ok and not confirmed:
                errors.append(self._err(
                    row, "uscc",
                    f"统一社会信用代码校验位不符：最后一位应为 {uscc.expected_check}；"
                    f"如确认代码无误（部分2016年前的代码如此），请在“确认校验位”列填“是”",
                ))
        except UsccError as exc:
            errors.append(self._err(row, "uscc", str(exc)))

        union = None
        code = text(self._cell(cells, "union_code"))
        if not code:
            errors.append(self._err(row, "union_code", "基层工会编码不能为空"))
        else:
            union = self.unions.get(code)
            if union is None:
                errors.append(self._err(row, "union_code", f"未找到编码为{quote(code)}的工会"))
            elif union[1] != Union.Level.GRASSROOTS:
                errors.append(self._err(row, "union_code",
                                        f"编码{quote(code)}不是基层工会，单位只能登记在基层工会下"))

        contact_name = self._optional(row, cells, "contact_name", 50, errors)
        contact_phone = self._optional(row, cells, "contact_phone", 20, errors)
        if contact_phone and not _PHONE.fullmatch(contact_phone):
            errors.append(self._err(row, "contact_phone",
                                    f"联系电话{quote(contact_phone)}格式不对，应为手机号或座机号"))
        address = self._optional(row, cells, "address", 200, errors)
        if errors:
            return None, errors
        return UnitRow(row, name, uscc.value, uscc.check_ok, union[0], union[2],
                       contact_name, contact_phone, address), errors

    def _optional(self, row: int, cells: list[Cell], field: str, limit: int,
                  errors: list[RowError]) -> str | None:
        value = text(self._cell(cells, field))
        if len(value) > limit:
            errors.append(self._err(row, field, f"不能超过{limit}个字"))
        return value or None


def run(job: ImportRun) -> None:
    """Validate every row; if nothing is refused (or valid rows only), create and update
    in one transaction."""
    from django.db import transaction

    table, mapping = job.open()
    validator = UnitRowValidator(job.file_name, mapping, job.scope)
    good, existing = _validate(table.rows, validator, job.scope, job.sink, job.outcome,
                               job.progress)
    job.require_rows()
    if job.sink.count and not job.outcome.valid_only:
        return
    job.progress("importing", 0, len(good))
    with transaction.atomic():
        _load(good, existing, validator.file, job.scope, job.outcome)
        job.record(AuditEntry.Action.UNIT_IMPORTED)
    job.outcome.imported = True
    job.progress("importing", len(good), len(good))


def _validate(rows: Iterator[tuple[int, list[Cell]]], validator: UnitRowValidator,
              scope: ImportScope, sink: ErrorSink, outcome: Outcome,
              progress: Progress) -> tuple[dict[str, UnitRow], dict[str, Unit]]:
    good: dict[str, UnitRow] = {}
    first_row_of: dict[str, int] = {}
    for row, cells in data_rows(rows):
        outcome.total_rows += 1
        parsed, errors = validator(row, cells)
        uscc = validator.last_uscc
        first = first_row_of.setdefault(uscc, row) if uscc else row
        if first != row:
            errors.append(validator._err(row, "uscc", f"统一社会信用代码与第{first}行重复"))
        elif parsed is not None:
            good[parsed.uscc] = parsed
        sink.add(errors)
        if not outcome.total_rows % 1000:
            progress("validating", outcome.total_rows, None)
    existing = {u.uscc: u for u in Unit.objects.filter(uscc__in=list(good)).select_related(
        "union")} if good else {}
    for uscc, unit in existing.items():
        if not scope.covers(unit.union.path):
            sink.add([validator._err(good[uscc].row, "uscc",
                                     "该统一社会信用代码的单位已由其他工会登记，不在您的管辖范围内")])
            del good[uscc]
    progress("validating", outcome.total_rows, None)
    return good, existing


def _load(good: dict[str, UnitRow], existing: dict[str, Unit], file_name: str,
          scope: ImportScope, outcome: Outcome) -> None:
    now = timezone.now()
    creates, updates, audit = [], [], []
    moved: dict[int, int] = {}  # unit id → new union id: its members follow
    for uscc, r in good.items():
        unit = existing.get(uscc)
        if unit is None:
            creates.append(Unit(
                name=r.name, uscc=uscc, uscc_check_ok=r.uscc_check_ok, union_id=r.union_id,
                contact_name=r.contact_name or "", contact_phone=r.contact_phone or "",
                address=r.address or "",
            ))
            continue
        changed: dict[str, list] = {}
        for field in FIELDS:
            new = getattr(r, field)
            if new is None:
                continue  # empty optional cell: keep what the registry has
            old = getattr(unit, field)
            if old != new:
                if field == "union_id":
                    moved[unit.pk] = new
                    changed["union"] = [unit.union.name, _union_name(new)]
                else:
                    changed[field] = [old, new]
                setattr(unit, field, new)
        if changed:
            unit.updated_at = now
            updates.append(unit)
            audit.append(_audit(AuditEntry.Action.UNIT_UPDATED, unit.pk, r, file_name, scope,
                                changed))
        else:
            outcome.unchanged += 1
    created = Unit.objects.bulk_create(creates, batch_size=500)
    if updates:
        Unit.objects.bulk_update(updates, [*FIELDS, "updated_at"], batch_size=500)
    for unit in updates:
        if unit.pk in moved:  # members carry their unit's union for the scope filter
            unit.members.update(union_id=moved[unit.pk])
    if created and created[0].pk is None:  # a backend that cannot return ids
        by_uscc = dict(Unit.objects.filter(uscc__in=[u.uscc for u in created]).values_list(
            "uscc", "id"))
        for unit in created:
            unit.pk = by_uscc[unit.uscc]
    for unit in created:
        audit.append(_audit(AuditEntry.Action.UNIT_CREATED, unit.pk, good[unit.uscc],
                            file_name, scope, {}))
    outcome.created += len(created)
    outcome.updated += len(updates)
    record_many(audit)


def _union_name(union_id: int) -> str:
    return Union.objects.filter(pk=union_id).values_list("name", flat=True).first() or ""


def _audit(action: str, unit_id: int, r: UnitRow, file_name: str, scope: ImportScope,
           changes: dict) -> AuditEntry:
    return AuditEntry(
        actor=scope.actor, action=action, object_type="unit", object_id=str(unit_id),
        union_path=r.union_path, summary=f"导入文件 {file_name} 第{r.row}行：{r.name}",
        changes={"file": file_name, "row": r.row, **changes},
    )


KIND = ImportKind(code="units", label="单位", columns=UNIT_COLUMNS, run=run, example=EXAMPLE,
                  result_url="orgs:unit-list", order=10)
