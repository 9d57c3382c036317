"""Members import: validate every row, then load the valid ones in one transaction.

Two passes over the file so memory stays flat at a million rows: the first validates
and remembers only row numbers and ID numbers (duplicates, family links); the second,
run only when there is nothing to refuse or the user chose "valid rows only", re-reads
the file and writes in batches — one lookup query per few hundred rows, one INSERT
statement per batch, never a query per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection
from django.utils import timezone

from huzhu import crypto
from huzhu.audit.bulk import AuditRows
from huzhu.audit.models import AuditEntry
from huzhu.members.idcard import IdNumberError, parse_id_number
from huzhu.members.importing.cells import (
    OCCUPATION_VALUES,
    STATUS_VALUES,
    CellError,
    digits_text,
    parse_choice,
    parse_date,
    text,
)
from huzhu.members.importing.columns import Mapping
from huzhu.members.importing.errors import RowError
from huzhu.members.importing.outcome import Outcome, Progress
from huzhu.members.importing.reading import Cell
from huzhu.members.importing.scope import ImportScope, UnitIndex
from huzhu.members.models import Member
from huzhu.members.phone import PhoneError, parse_mobile

LOOKUP_CHUNK = 900  # SQLite's default limit is 999 bound parameters per statement
WRITE_BATCH = 5000
PROGRESS_EVERY = 5000

# Fields an import may change on an existing member (never the ID number itself).
UPDATABLE = ("name", "phone", "unit_id", "union_id", "joined_on", "status", "occupation")


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
                if joined_on > self.today:
                    errors.append(self._err(row, "joined_on", "入会日期不能晚于今天"))
                elif birth is not None and joined_on < birth:
                    errors.append(self._err(row, "joined_on", "入会日期早于出生日期"))
            except CellError as exc:
                errors.append(self._err(row, "joined_on", str(exc)))

        status = self._choice(row, cells, "status", "状态", STATUS_VALUES, errors)
        occupation = self._choice(row, cells, "occupation", "职业类别", OCCUPATION_VALUES,
                                  errors)

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

        if errors:
            return None, errors
        return MemberRow(row, name, id_number, birth, gender, phone, unit[0], unit[1],
                         joined_on, status, occupation, family_id, bank), errors

    def _unit(self, row: int, cells: list[Cell],
              errors: list[RowError]) -> tuple[int, int] | None:
        uscc = text(self._cell(cells, "unit_uscc")).replace(" ", "").upper()
        if uscc:
            found = self.units.by_uscc.get(uscc)
            if found is None:
                # Unknown and out-of-scope read the same: no disclosure of other unions.
                errors.append(self._err(row, "unit_uscc",
                                        f"未找到统一社会信用代码为 {uscc} 的单位"))
            return found
        name = " ".join(text(self._cell(cells, "unit_name")).split())
        field = "unit_name" if self.m.has("unit_name") else "unit_uscc"
        if not name:
            errors.append(self._err(
                row, field, "单位不能为空（请填写单位统一社会信用代码或单位名称）"))
            return None
        matches = self.units.by_name.get(name, [])
        if not matches:
            errors.append(self._err(row, field, f"未找到名称为“{name}”的单位"))
            return None
        if len(matches) > 1:
            errors.append(self._err(row, field,
                                    f"名称为“{name}”的单位有{len(matches)}个，请改用统一社会信用代码"))
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


@dataclass
class Validation:
    total_rows: int
    bad_rows: set[int]
    errors: list[RowError]
    error_count: int


class ErrorSink:
    """Counts every error but keeps only the first ``limit`` (a report for the clerk,
    not a copy of a million-row file)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[RowError] = []
        self.count = 0
        self.bad_rows: set[int] = set()

    def add(self, errors: Iterable[RowError]) -> None:
        for err in errors:
            self.count += 1
            self.bad_rows.add(err.row)
            if len(self.kept) < self.limit:
                self.kept.append(err)


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


def _data_rows(rows: Iterator[tuple[int, list[Cell]]]) -> Iterator[tuple[int, list[Cell]]]:
    for row, cells in rows:
        if any(c is not None and c != "" and (not isinstance(c, str) or c.strip())
               for c in cells):
            yield row, cells


def validate(rows: Iterator[tuple[int, list[Cell]]], validator: MemberRowValidator,
             scope: ImportScope, sink: ErrorSink, progress: Progress,
             cache: RowCache) -> int:
    """First pass: every row, duplicates in the file, members of other unions, family
    links. Returns the number of data rows."""
    header_of = validator.m.headers.get
    first_row_of: dict[str, int] = {}
    family_refs: list[tuple[int, str]] = []
    pending: list[tuple[str, int]] = []  # (blind index, row) awaiting the registry check
    total = 0
    for row, cells in _data_rows(rows):
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
                pending.append((crypto.blind_index(parsed.id_number), row))
                if len(pending) >= LOOKUP_CHUNK:
                    sink.add(_out_of_scope(pending, validator, scope))
                    pending = []
        if errors:
            sink.add(errors)
        if not total % PROGRESS_EVERY:
            progress("validating", total, None)
    if pending:
        sink.add(_out_of_scope(pending, validator, scope))
    sink.add(_family_errors(family_refs, first_row_of, validator, scope, sink.bad_rows))
    progress("validating", total, None)
    return total


def _out_of_scope(pending: list[tuple[str, int]], validator: MemberRowValidator,
                  scope: ImportScope) -> list[RowError]:
    rows = dict(pending)
    found = Member.objects.filter(id_number_hash__in=list(rows)).values_list(
        "id_number_hash", "union__path")
    return [
        RowError(validator.file, rows[h], validator.m.headers.get("id_number", ""),
                 "该身份证号的会员已在其他工会登记，不在您的管辖范围内，无法通过导入修改")
        for h, path in found if not scope.covers(path)
    ]


def _family_errors(refs: list[tuple[int, str]], first_row_of: dict[str, int],
                   validator: MemberRowValidator, scope: ImportScope,
                   bad_rows: set[int]) -> list[RowError]:
    """A family link must point at a good row of this file or a member in scope."""
    header = validator.m.headers.get("family_id_number", "")
    outside = [(row, fid) for row, fid in refs if fid not in first_row_of]
    in_registry = _registered(scope, {crypto.blind_index(fid) for _, fid in outside})
    errors = [
        RowError(validator.file, row, header,
                 "未找到家庭关联身份证号对应的会员（须在本文件中，或已在您管辖范围内登记）")
        for row, fid in outside if crypto.blind_index(fid) not in in_registry
    ]
    bad = set(bad_rows) | {e.row for e in errors}
    inside = [(row, first_row_of[fid]) for row, fid in refs if fid in first_row_of]
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


class MemberLoader:
    """Second pass: create new members, update changed ones, leave the rest alone."""

    def __init__(self, file_name: str, mapping: Mapping, units: UnitIndex,
                 scope: ImportScope, outcome: Outcome) -> None:
        self.file = file_name
        self.m = mapping
        self.units = units
        self.scope = scope
        self.outcome = outcome
        self.now = timezone.now()
        self.family: list[tuple[str, str, bool]] = []  # (hash, head hash, was unchanged)
        self.audit = AuditRows(scope.actor)
        # Bind the keys once: settings lookups cost more than the hash itself.
        self.seal = partial(crypto.seal, field_key=settings.HUZHU_FIELD_KEY)
        self.index = partial(crypto.blind_index, index_key=settings.HUZHU_INDEX_KEY)
        table = connection.ops.quote_name(Member._meta.db_table)
        q = connection.ops.quote_name
        self.insert_columns = (
            "name", "id_number_sealed", "id_number_hash", "id_last4_index", "birth_date", "gender",
            "phone", "unit_id", "union_id", "joined_on", "status", "occupation",
            "bank_account_sealed", "bank_account_hash", "bank_last4",
            "created_at", "updated_at",
        )
        self.insert_sql = (
            f"INSERT INTO {table} ({', '.join(q(c) for c in self.insert_columns)}) "
            f"VALUES ({', '.join(['%s'] * len(self.insert_columns))})"
        )
        self.update_columns = (*UPDATABLE, "bank_account_sealed", "bank_account_hash",
                               "bank_last4", "updated_at")
        self.update_sql = (
            f"UPDATE {table} SET {', '.join(f'{q(c)} = %s' for c in self.update_columns)} "
            f"WHERE {q('id')} = %s"
        )
        self.date = connection.ops.adapt_datefield_value
        self.stamp = connection.ops.adapt_datetimefield_value(self.now)

    def load(self, rows: Iterable[MemberRow], progress: Progress, total: int) -> None:
        batch: list[MemberRow] = []
        done = 0
        for parsed in rows:
            batch.append(parsed)
            if len(batch) >= WRITE_BATCH:
                self._flush(batch)
                done += len(batch)
                batch = []
                progress("importing", done, total)
        if batch:
            self._flush(batch)
            done += len(batch)
        self._link_families()
        progress("importing", done, total)

    def _flush(self, batch: list[MemberRow]) -> None:
        index = self.index
        hashes = [index(r.id_number) for r in batch]
        existing = _existing(hashes)
        inserts, updates = [], []
        created_hashes: dict[str, MemberRow] = {}
        for r, h in zip(batch, hashes, strict=True):
            old = existing.get(h)
            if old is None:
                inserts.append(self._insert_params(r, h))
                created_hashes[h] = r
            else:
                changed = self._update_params(r, old)
                if changed is None:
                    self.outcome.unchanged += 1
                else:
                    params, fields = changed
                    updates.append(params)
                    self.outcome.updated += 1
                    self._audit(AuditEntry.Action.MEMBER_UPDATED, old["id"], r,
                                {"fields": fields, "row": r.row})
            if r.family_id:
                self.family.append((h, index(r.family_id),
                                    old is not None and changed is None))
        with connection.cursor() as cursor:
            if inserts:
                cursor.executemany(self.insert_sql, inserts)
            if updates:
                cursor.executemany(self.update_sql, updates)
        if created_hashes:
            for h, member_id in _ids(list(created_hashes)).items():
                r = created_hashes[h]
                self._audit(AuditEntry.Action.MEMBER_CREATED, member_id, r, {"row": r.row})
            self.outcome.created += len(created_hashes)
        self.audit.flush()

    def _insert_params(self, r: MemberRow, h: str) -> tuple:
        bank_sealed, bank_hash, bank_last4 = self._bank(r.bank_account)
        return (
            r.name, self.seal(r.id_number), h, crypto.last4_index(r.id_number),
            self.date(r.birth_date),
            r.gender, r.phone or "", r.unit_id, r.union_id, self.date(r.joined_on),
            r.status or Member.Status.ACTIVE, r.occupation or Member.Occupation.OTHER,
            bank_sealed, bank_hash, bank_last4, self.stamp, self.stamp,
        )

    def _update_params(self, r: MemberRow, old: dict) -> tuple[tuple, list[str]] | None:
        new = {
            "name": r.name,
            "phone": r.phone if r.phone is not None else old["phone"],
            "unit_id": r.unit_id,
            "union_id": r.union_id,
            "joined_on": r.joined_on if r.joined_on is not None else old["joined_on"],
            "status": r.status or old["status"],
            "occupation": r.occupation or old["occupation"],
        }
        fields = [f for f in UPDATABLE if new[f] != old[f]]
        bank = (old["bank_account_sealed"], old["bank_account_hash"], old["bank_last4"])
        if r.bank_account is not None:
            new_hash = self.index("bank:" + r.bank_account)
            if new_hash != old["bank_account_hash"]:
                bank = self._bank(r.bank_account)
                fields.append("bank_account")
        if not fields:
            return None
        values = [new[f] for f in UPDATABLE]
        values[UPDATABLE.index("joined_on")] = self.date(new["joined_on"])
        return (*values, *bank, self.stamp, old["id"]), fields

    def _bank(self, account: str | None) -> tuple[bytes | None, str | None, str]:
        if not account:
            return None, None, ""
        return self.seal(account), self.index("bank:" + account), account[-4:]

    def _audit(self, action: str, member_id: int, r: MemberRow, changes: dict) -> None:
        self.audit.add(action, "member", member_id, self.units.union_paths.get(r.union_id, ""),
                       f"导入文件 {self.file} 第{r.row}行：{r.name}",
                       {"file": self.file, **changes})

    def _link_families(self) -> None:
        if not self.family:
            return
        ids = _ids(list({h for pair in self.family for h in pair[:2]}), with_family=True)
        updates = []
        for member_hash, head_hash, was_unchanged in self.family:
            member_id, current_head = ids[member_hash]
            head_id = ids[head_hash][0]
            if current_head != head_id:
                updates.append((head_id, self.stamp, member_id))
                if was_unchanged:
                    self.outcome.unchanged -= 1
                    self.outcome.updated += 1
                    self.audit.add(AuditEntry.Action.MEMBER_UPDATED, "member", member_id, "",
                                   f"导入文件 {self.file}：更新家庭关联",
                                   {"file": self.file, "fields": ["family_head"]})
        self.audit.flush()
        if updates:
            table = connection.ops.quote_name(Member._meta.db_table)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET family_head_id = %s, updated_at = %s WHERE id = %s",
                    updates,
                )


_EXISTING = ("id", "id_number_hash", *UPDATABLE, "bank_account_sealed", "bank_account_hash",
             "bank_last4")


def _select_by_hash(columns: tuple[str, ...], hashes: list[str]) -> Iterator[tuple]:
    """Rows for these blind indexes, a chunk per statement, in raw SQL: the ORM's
    per-parameter preparation of a 900-item IN list costs more than the query."""
    q = connection.ops.quote_name
    head = (f"SELECT {', '.join(q(c) for c in columns)} FROM {q(Member._meta.db_table)} "
            f"WHERE {q('id_number_hash')} IN ")
    with connection.cursor() as cursor:
        for i in range(0, len(hashes), LOOKUP_CHUNK):
            chunk = hashes[i:i + LOOKUP_CHUNK]
            cursor.execute(head + f"({', '.join(['%s'] * len(chunk))})", chunk)
            yield from cursor.fetchall()


def _existing(hashes: list[str]) -> dict[str, dict]:
    """Current values; both backends' drivers hand dates back as ``datetime.date``."""
    return {row[1]: dict(zip(_EXISTING, row, strict=True))
            for row in _select_by_hash(_EXISTING, hashes)}


def _ids(hashes: list[str], with_family: bool = False) -> dict:
    if with_family:
        return {h: (pk, head) for h, pk, head in
                _select_by_hash(("id_number_hash", "id", "family_head_id"), hashes)}
    return dict(_select_by_hash(("id_number_hash", "id"), hashes))


def valid_rows(rows: Iterator[tuple[int, list[Cell]]], validator: MemberRowValidator,
               skip: set[int]) -> Iterator[MemberRow]:
    """Re-read the file for the second pass; rows found bad in the first are skipped."""
    for row, cells in _data_rows(rows):
        if row in skip:
            continue
        parsed, _ = validator(row, cells)
        if parsed is not None:
            yield parsed

