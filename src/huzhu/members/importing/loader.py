"""Members import, second pass: create new members, update changed ones, in batches.

One lookup query per few hundred rows and one INSERT statement per batch, never a query
per row, so a million-row file loads in about a minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import connection
from django.utils import timezone

from huzhu.audit.bulk import AuditRows
from huzhu.audit.models import AuditEntry
from huzhu.imports.columns import Mapping
from huzhu.imports.outcome import Outcome, Progress
from huzhu.imports.scope import ImportScope
from huzhu.lib import crypto
from huzhu.lib.sql import quote
from huzhu.members.importing.rows import LOOKUP_CHUNK, MemberRow, UnitIndex
from huzhu.members.models import Member

WRITE_BATCH = 5000

# Fields an import may change on an existing member (never the ID number itself).
UPDATABLE = ("name", "phone", "unit_id", "union_id", "joined_on", "status", "occupation",
             "bank_name")
_AUDIT_KEY = {"unit_id": "unit"}  # the key the member form's audit entries use


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
        # (blind_indexer refuses while a key rotation rebuilds the indexes: this import
        # would match rows by the new key only.)
        self.seal = crypto.sealer(column=crypto.MEMBER_ID_NUMBER)
        self.seal_bank = crypto.sealer(column=crypto.MEMBER_BANK_ACCOUNT)
        self.index = crypto.blind_indexer()
        table = quote(Member._meta.db_table)
        self.insert_columns = (
            "name", "id_number_sealed", "id_number_hash", "id_last4_index", "birth_date", "gender",
            "phone", "unit_id", "union_id", "joined_on", "status", "occupation",
            "bank_account_sealed", "bank_account_hash", "bank_last4", "bank_name",
            "created_at", "updated_at",
        )
        self.insert_sql = (
            f"INSERT INTO {table} ({', '.join(quote(c) for c in self.insert_columns)}) "
            f"VALUES ({', '.join(['%s'] * len(self.insert_columns))})"
        )
        self.update_columns = (*UPDATABLE, "bank_account_sealed", "bank_account_hash",
                               "bank_last4", "updated_at")
        self.update_sql = (
            f"UPDATE {table} SET {', '.join(f'{quote(c)} = %s' for c in self.update_columns)} "
            f"WHERE {quote('id')} = %s"
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
                    params, diff = changed
                    updates.append(params)
                    self.outcome.updated += 1
                    self._audit(AuditEntry.Action.MEMBER_UPDATED, old["id"], r,
                                {"row": r.row, **diff})
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
            bank_sealed, bank_hash, bank_last4, r.bank_name or "", self.stamp, self.stamp,
        )

    def _update_params(self, r: MemberRow, old: dict) -> tuple[tuple, dict] | None:
        """The UPDATE's parameters and the audit's {field: [old, new]}, or None if the row
        changes nothing."""
        new = {
            "name": r.name,
            "phone": r.phone if r.phone is not None else old["phone"],
            "unit_id": r.unit_id,
            "union_id": r.union_id,
            "joined_on": r.joined_on if r.joined_on is not None else old["joined_on"],
            "status": r.status or old["status"],
            "occupation": r.occupation or old["occupation"],
            # An empty cell keeps the bank on record, as for the account itself.
            "bank_name": r.bank_name if r.bank_name is not None else old["bank_name"],
        }
        diff = {_AUDIT_KEY.get(f, f): [self._shown(f, old[f]), self._shown(f, new[f])]
                for f in UPDATABLE if f != "union_id" and new[f] != old[f]}
        bank = (old["bank_account_sealed"], old["bank_account_hash"], old["bank_last4"])
        if r.bank_account is not None:
            new_hash = self.index("bank:" + r.bank_account)
            if new_hash != old["bank_account_hash"]:
                bank = self._bank(r.bank_account)
                diff["bank_account"] = "已修改"  # never the number itself
        if not diff and new["union_id"] == old["union_id"]:
            return None
        values = [new[f] for f in UPDATABLE]
        values[UPDATABLE.index("joined_on")] = self.date(new["joined_on"])
        return (*values, *bank, self.stamp, old["id"]), diff

    def _shown(self, field: str, value):
        """A value as the member form's audit entries write it (names and labels)."""
        if value is None or value == "":
            return None
        if field == "unit_id":
            return self.units.names.get(value, f"#{value}")
        if field == "status":
            return Member.Status(value).label
        if field == "occupation":
            return Member.Occupation(value).label
        if field == "joined_on":
            return value.isoformat()
        return value

    def _bank(self, account: str | None) -> tuple[bytes | None, str | None, str]:
        if not account:
            return None, None, ""
        return self.seal_bank(account), self.index("bank:" + account), account[-4:]

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
                                   {"file": self.file, "family_head": "已修改"})
        self.audit.flush()
        if updates:
            table = quote(Member._meta.db_table)
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
    head = (f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(Member._meta.db_table)} "
            f"WHERE {quote('id_number_hash')} IN ")
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

