"""Members import, first pass: check every row, duplicates in the file, members of other
unions and family links, remembering only row numbers and ID numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from huzhu.imports.cells import (
    OCCUPATION_VALUES,
    STATUS_VALUES,
    CellError,
    digits_text,
    parse_choice,
    parse_date,
    quote,
    text,
)
from huzhu.imports.columns import Mapping
from huzhu.imports.errors import ErrorSink, RowError
from huzhu.imports.outcome import Progress
from huzhu.imports.reading import Cell, data_rows
from huzhu.imports.scope import ImportScope
from huzhu.lib import crypto
from huzhu.members.idcard import IdNumberError, parse_id_number
from huzhu.members.models import Member
from huzhu.members.phone import PhoneError, parse_mobile
from huzhu.members.registration import registration_problems
from huzhu.orgs.models import Unit
from huzhu.orgs.uscc import UsccError, parse_uscc

LOOKUP_CHUNK = 900  # SQLite's default limit is 999 bound parameters per statement
PROGRESS_EVERY = 5000
BANK_NAME_MAX = 60  # Member.bank_name


@dataclass(slots=True)
class MemberRow:
    row: int
    name: str
    id_number: str
    birth_date: dt.date
    gender: str
    # None: the column is missing or the cell empty — keep what the registry has.
    phone: str | None
    unit_id: int
    union_id: int
    joined_on: dt.date | None
    status: str | None
    occupation: str | None
    family_id: str | None
    bank_account: str | None
    bank_name: str | None = None


@dataclass
class UnitIndex:
    """The units in scope, by USCC and by name, loaded once per import (thousands, not
    millions), so that rows never query for their unit."""

    by_uscc: dict[str, tuple[int, int]] = field(default_factory=dict)
    by_name: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    union_paths: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, scope: ImportScope) -> UnitIndex:
        index = cls()
        units = Unit.objects.all() if scope.user is None else Unit.objects.visible_to(scope.user)
        for unit_id, uscc, name, union_id, path in units.values_list(
            "id", "uscc", "name", "union_id", "union__path"
        ).iterator(chunk_size=5000):
            index.by_uscc[uscc] = (unit_id, union_id)
            index.by_name.setdefault(name.strip(), []).append((unit_id, union_id))
            index.union_paths[union_id] = path
            index.names[unit_id] = name
        return index


class MemberRowValidator:
    """Checks one row with the registry's own validators; knows nothing of other rows."""

    def __init__(self, file_name: str, mapping: Mapping, units: UnitIndex,
                 today: dt.date | None = None) -> None:
        self.file = file_name
        self.m = mapping
        self.units = units
        self.today = today or dt.date.today()
        # The ID number of the row just checked, even when another cell failed: a
        # duplicate is a duplicate whatever else is wrong with either row.
        self.last_id: str | None = None

    def _cell(self, cells: list[Cell], field: str) -> Cell:
        i = self.m.index.get(field)
        return cells[i] if i is not None and i < len(cells) else None

    def _err(self, row: int, field: str, message: str) -> RowError:
        return RowError(self.file, row, self.m.headers.get(field, ""), message)

    def __call__(self, row: int, cells: list[Cell]) -> tuple[MemberRow | None, list[RowError]]:
        errors: list[RowError] = []
        cell = self._cell

        name = " ".join(text(cell(cells, "name")).split())
        if not name:
            errors.append(self._err(row, "name", "姓名不能为空"))
        elif len(name) > 50:
            errors.append(self._err(row, "name", "姓名不能超过50个字"))

        id_number = birth = gender = None
        self.last_id = None
        try:
            parsed = parse_id_number(digits_text(cell(cells, "id_number"), "身份证号"),
                                     today=self.today)
            id_number, birth, gender = parsed.value, parsed.birth_date, parsed.gender
            self.last_id = id_number
        except (IdNumberError, CellError) as exc:
            errors.append(self._err(row, "id_number", str(exc)))

        phone = text(cell(cells, "phone")) or None
        if phone is not None:
            try:
                phone = parse_mobile(phone)
            except PhoneError as exc:
                errors.append(self._err(row, "phone", str(exc)))

        unit = self._unit(row, cells, errors)

        joined_on = None
        raw = cell(cells, "joined_on")
        if text(raw):
            try:
                joined_on = parse_date(raw, "入会日期")
            except CellError as exc:
                errors.append(self._err(row, "joined_on", str(exc)))

        status = self._choice(row, cells, "status", "状态", STATUS_VALUES, errors)
        occupation = self._choice(row, cells, "occupation", "职业类别", OCCUPATION_VALUES,
                                  errors)
        for field_name, message in registration_problems(
                birth=birth, status=status, joined_on=joined_on, today=self.today):
            errors.append(self._err(row, field_name, message))

        family_id = None
        try:
            raw_family = digits_text(cell(cells, "family_id_number"), "家庭关联身份证号")
            if raw_family:
                family_id = parse_id_number(raw_family, today=self.today).value
                if family_id == id_number:
                    family_id = None  # the head of the family lists themselves
        except (IdNumberError, CellError) as exc:
            errors.append(self._err(row, "family_id_number", f"家庭关联{exc}"
                                    if isinstance(exc, IdNumberError) else str(exc)))

        bank = None
        try:
            bank = digits_text(cell(cells, "bank_account"), "银行账号").replace("-", "") or None
            if bank is not None and not (bank.isdigit() and 12 <= len(bank) <= 30):
                errors.append(self._err(row, "bank_account", "银行账号应为12至30位数字"))
        except CellError as exc:
            errors.append(self._err(row, "bank_account", str(exc)))

        bank_name = " ".join(text(cell(cells, "bank_name")).split()) or None
        if bank_name is not None and len(bank_name) > BANK_NAME_MAX:
            errors.append(self._err(row, "bank_name", f"开户行不能超过{BANK_NAME_MAX}个字"))

        if errors:
            return None, errors
        return MemberRow(row, name, id_number, birth, gender, phone, unit[0], unit[1],
                         joined_on, status, occupation, family_id, bank, bank_name), errors

    def _unit(self, row: int, cells: list[Cell],
              errors: list[RowError]) -> tuple[int, int] | None:
        uscc = text(self._cell(cells, "unit_uscc")).replace(" ", "").upper()
        if uscc:
            found = self.units.by_uscc.get(uscc)
            if found is None:
                # Unknown and out-of-scope read the same: no disclosure of other unions.
                errors.append(self._err(row, "unit_uscc",
                                        f"未找到统一社会信用代码为{_shown_uscc(uscc)}的单位"))
            return found
        name = " ".join(text(self._cell(cells, "unit_name")).split())
        field = "unit_name" if self.m.has("unit_name") else "unit_uscc"
        if not name:
            errors.append(self._err(
                row, field, "单位不能为空（请填写单位统一社会信用代码或单位名称）"))
            return None
        matches = self.units.by_name.get(name, [])
        if not matches:
            errors.append(self._err(row, field, f"未找到名称为{quote(name)}的单位"))
            return None
        if len(matches) > 1:
            errors.append(self._err(row, field, f"名称为{quote(name)}的单位有{len(matches)}个，"
                                                "请改用统一社会信用代码"))
            return None
        return matches[0]

    def _choice(self, row: int, cells: list[Cell], field: str, label: str,
                values: dict[str, str], errors: list[RowError]) -> str | None:
        raw = self._cell(cells, field)
        if not text(raw):
            return None
        try:
            return parse_choice(raw, label, values)
        except CellError as exc:
            errors.append(self._err(row, field, str(exc)))
            return None


def _shown_uscc(value: str) -> str:
    """A well-formed credit code is public and helps the clerk find the row: shown as it
    is. Anything else (an ID number or bank account in the wrong column) is masked."""
    try:
        well_formed = parse_uscc(value).check_ok and not value.isdigit()
    except UsccError:
        well_formed = False
    return f"“{value}”" if well_formed and not _is_id_number(value) else quote(value)


def _is_id_number(value: str) -> bool:
    try:
        parse_id_number(value)
    except IdNumberError:
        return False
    return True


class RowCache:
    """The rows the first pass found valid, kept so the second need not re-read and
    re-check the file — up to a limit (about 0.5 KB a row), past which it re-reads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows: list[MemberRow] | None = []

    def add(self, row: MemberRow) -> None:
        if self.rows is not None:
            self.rows.append(row)
            if len(self.rows) > self.limit:
                self.rows = None

    def valid(self, bad_rows: set[int]) -> Iterator[MemberRow]:
        for row in self.rows or ():
            if row.row not in bad_rows:
                yield row


@dataclass(frozen=True, slots=True)
class ForeignRow:
    """A row whose ID number is registered under another union: not an error, not
    imported, but a transfer request to that union once the file is clean."""

    row: int
    member_id: int
    unit_id: int
    name: str


def validate(rows: Iterator[tuple[int, list[Cell]]], validator: MemberRowValidator,
             scope: ImportScope, sink: ErrorSink, progress: Progress,
             cache: RowCache, foreign: dict[int, ForeignRow]) -> int:
    """First pass: every row, duplicates in the file, members of other unions (into
    ``foreign``), family links. Returns the number of data rows."""
    header_of = validator.m.headers.get
    first_row_of: dict[str, int] = {}
    family_refs: list[tuple[int, str]] = []
    pending: list[tuple[str, MemberRow]] = []  # awaiting the registry check
    total = 0
    for row, cells in data_rows(rows):
        total += 1
        parsed, errors = validator(row, cells)
        first = first_row_of.setdefault(validator.last_id, row) if validator.last_id else row
        if first != row:
            errors.append(RowError(validator.file, row, header_of("id_number", ""),
                                   f"身份证号与第{first}行重复"))
        elif parsed is not None:
            cache.add(parsed)
            if parsed.family_id:
                family_refs.append((row, parsed.family_id))
            if scope.prefix is not None:
                pending.append((crypto.blind_index(parsed.id_number), parsed))
                if len(pending) >= LOOKUP_CHUNK:
                    foreign.update(_out_of_scope(pending, scope))
                    pending = []
        if errors:
            sink.add(errors)
        if not total % PROGRESS_EVERY:
            progress("validating", total, None)
    if pending:
        foreign.update(_out_of_scope(pending, scope))
    sink.add(_family_errors(family_refs, first_row_of, validator, scope,
                            sink.bad_rows, set(foreign)))
    progress("validating", total, None)
    return total


def _out_of_scope(pending: list[tuple[str, MemberRow]],
                  scope: ImportScope) -> dict[int, ForeignRow]:
    rows = dict(pending)
    found = Member.objects.filter(id_number_hash__in=list(rows)).values_list(
        "id_number_hash", "union__path", "id")
    return {rows[h].row: ForeignRow(rows[h].row, member_id, rows[h].unit_id, rows[h].name)
            for h, path, member_id in found if not scope.covers(path)}


def _family_errors(refs: list[tuple[int, str]], first_row_of: dict[str, int],
                   validator: MemberRowValidator, scope: ImportScope,
                   bad_rows: set[int], foreign_rows: set[int]) -> list[RowError]:
    """A family link must point at a good row of this file or a member in scope (not at
    a row of another union's member, which is only asked for)."""
    header = validator.m.headers.get("family_id_number", "")
    outside = [(row, fid) for row, fid in refs if fid not in first_row_of]
    in_registry = _registered(scope, {crypto.blind_index(fid) for _, fid in outside})
    errors = [
        RowError(validator.file, row, header,
                 "未找到家庭关联身份证号对应的会员（须在本文件中，或已在您管辖范围内登记）")
        for row, fid in outside if crypto.blind_index(fid) not in in_registry
    ]
    inside = [(row, first_row_of[fid]) for row, fid in refs if fid in first_row_of]
    errors += [RowError(validator.file, row, header,
                        f"家庭关联的会员（第{target}行）须待转会完成后才能关联")
               for row, target in inside if target in foreign_rows]
    bad = set(bad_rows) | {e.row for e in errors}
    changed = True
    while changed:  # a link to a row that failed fails too, down a chain of links
        changed = False
        for row, target in inside:
            if target in bad and row not in bad:
                bad.add(row)
                changed = True
                errors.append(RowError(validator.file, row, header,
                                       f"家庭关联的会员（第{target}行）有错误，未能导入"))
    return errors


def _registered(scope: ImportScope, hashes: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = list(hashes)
    for i in range(0, len(ordered), LOOKUP_CHUNK):
        qs = Member.objects.filter(id_number_hash__in=ordered[i:i + LOOKUP_CHUNK])
        if scope.prefix is not None:
            qs = qs.filter(union__path__startswith=scope.prefix)
        found.update(qs.values_list("id_number_hash", flat=True))
    return found


def valid_rows(rows: Iterator[tuple[int, list[Cell]]], validator: MemberRowValidator,
               skip: set[int]) -> Iterator[MemberRow]:
    """Re-read the file for the second pass; rows found bad in the first are skipped."""
    for row, cells in data_rows(rows):
        if row in skip:
            continue
        parsed, _ = validator(row, cells)
        if parsed is not None:
            yield parsed

