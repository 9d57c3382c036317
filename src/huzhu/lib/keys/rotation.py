"""``huzhu keys rotate``: new field and index keys, every sealed value re-sealed and every
blind index rebuilt, online, resumable, verified, then the old keys retired.

1. **New keys.** A field key and an index key are added to the keyring and made current at
   once: from then on every process (within a second, :data:`crypto.RELOAD_SECONDS`) seals
   new values under the new field key and indexes them under the new index key. The old
   field keys stay in the keyring, so every value still opens whichever key sealed it.
2. **Rewrite**, table by table, in chunks by primary key: each chunk is read, opened,
   sealed again (with its column as associated data) and indexed under the new keys, and
   written back by one set-based ``UPDATE … FROM (VALUES …)``. The update only takes a row
   whose sealed values are still those read (compare and set): a row the application
   changed meanwhile keeps the application's values and is read again. After each chunk
   the last primary key done is written to the state file next to the keyring, so a
   rotation that was killed continues where it stopped when run again.

   Lookups by ID number keep working meanwhile: the index is rebuilt in place, and a
   lookup (:func:`crypto.blind_indexes`) tries the hash under the new key and under the
   previous one until the rotation is over. We chose this over a second index column:
   no schema change, no copy of a million hashes, and the set of places that look up by
   ID number is small and goes through one helper. Bulk imports, which match a whole file
   by one key, are refused for the few minutes of the rebuild (:class:`crypto.KeysRotating`)
   rather than let them miss rows indexed under the other key.
3. **Verify**: every row read again; every sealed value must carry the new key's id and
   open under the new key for its own column, every index must equal the new key's hash
   of the opened value (a row written meanwhile by a process that had not seen the new
   keys yet is rewritten here); then a sample of members is looked up by ID number under
   the new index key only and must find exactly that member.
4. **Retire**: the old keys leave the keyring and are written to a file of retired keys
   (0600) that the operator is told to keep offline with the backups made before the
   rotation, which only they open, and to delete from the server. We keep them in a file
   rather than destroy them: an old backup that nobody can read is a lost backup.
   ``HUZHU_INDEX_KEY`` stays: feed tokens and relatives' keys are hashes of values that
   are not kept, which no rotation can rebuild (see :mod:`huzhu.lib.crypto`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import importlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction

from huzhu.lib import crypto
from huzhu.lib.keys import store
from huzhu.lib.keys.columns import COPIED, TABLES, Copied, Sealed, Table

Progress = Callable[[str, int, int], None]  # (what, done, total)
Row = tuple[Any, ...]

DEFAULT_CHUNK = 2000
DEFAULT_SAMPLE = 500
_RETRIES = 5


class RotationError(RuntimeError):
    """The rotation cannot go on; the message (Chinese) says why and what to do."""


@dataclass
class TableDone:
    label: str
    rows: int = 0
    rewritten: int = 0
    fixed: int = 0  # rows that verification found under an old key or index, and rewrote


@dataclass
class Report:
    field_key: str
    index_key: str
    tables: list[TableDone] = field(default_factory=list)
    lookups: int = 0
    copies: int = 0  # copied indexes (payouts' account indexes) rebuilt
    resumed: bool = False
    retired_file: Path | None = None
    configured_field_retired: bool = False  # HUZHU_FIELD_KEY: may leave the configuration
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass(frozen=True)
class _Plan:
    """A table as the rotation reads and writes it."""

    table: Table
    model: type[models.Model]
    label: str
    db_table: str
    pk: str

    @property
    def sealed(self) -> tuple[Sealed, ...]:
        return self.table.sealed

    def field_label(self, column: str) -> str:
        """The column as people read it (身份证号（密文）), for messages."""
        for f in self.model._meta.get_fields():
            if getattr(f, "column", None) == column:
                return str(getattr(f, "verbose_name", column))
        return column

    def select_columns(self, with_indexes: bool) -> list[str]:
        cols = [self.pk, *(s.column for s in self.sealed)]
        if with_indexes:
            cols += [i.column for s in self.sealed for i in s.indexes]
        return cols


def plans() -> list[_Plan]:
    found = []
    for table in TABLES:
        app_label, name = table.model.split(".")
        try:
            model = apps.get_model(app_label, name)
        except LookupError:
            if table.optional:
                continue
            raise
        meta = model._meta
        found.append(_Plan(table, model, str(meta.verbose_name), meta.db_table,
                           meta.pk.column))
    return found


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


class Rotator:
    def __init__(self, *, chunk: int = DEFAULT_CHUNK, sample: int = DEFAULT_SAMPLE,
                 progress: Progress | None = None,
                 after_chunk: Callable[[str, int], None] | None = None) -> None:
        self.chunk = chunk
        self.sample = sample
        self.progress = progress or (lambda what, done, total: None)
        # Called after each chunk is written and recorded (the tests stop a rotation here).
        self.after_chunk = after_chunk or (lambda label, last_pk: None)
        self.ring_path = crypto.keyring_file()
        self.state_path = store.sibling(self.ring_path, "rotation.json")
        self.lock_path = store.sibling(self.ring_path, "rotation.lock")

    # ------------------------------------------------------------------ the steps

    def rotate(self) -> Report:
        started = time.monotonic()
        with self._lock():
            ring, resumed = self._begin()
            keys = crypto.refresh_keys()
            report = Report(field_key=ring.field_current or "", index_key=ring.index_current or "",
                            resumed=resumed)
            field_key, index_key = keys.field_current, keys.index_current
            state = self._read_state()
            for plan in plans():
                done = TableDone(plan.label)
                report.tables.append(done)
                self._rewrite(plan, state, done, field_key, index_key)
            previous = keys.index_previous
            if previous is None:
                raise RotationError("密钥环记录了正在进行的轮换，却没有被替换的索引密钥："
                                    "密钥环文件可能已损坏，请从离线备份恢复。")
            for copied in COPIED:
                report.copies += self._rebuild_copies(copied, previous, index_key)
            for plan, done in zip(plans(), report.tables, strict=True):
                self._verify(plan, done, field_key, index_key)
            for copied in COPIED:  # copied meanwhile from a row not yet rebuilt
                report.copies += self._rebuild_copies(copied, previous, index_key)
            report.lookups = self._check_lookups(index_key)
            report.retired_file, report.configured_field_retired = self._retire()
        report.seconds = time.monotonic() - started
        return report

    def _begin(self) -> tuple[store.Keyring, bool]:
        ring = store.load(self.ring_path)
        if ring.rotating:
            return ring, True
        keys = crypto.refresh_keys()
        field_key, index_key = store.new_key(), store.new_key()
        field_from = sorted({kid.hex() for kid in keys.fields})
        index_from = store.key_id(keys.index_current)
        ring.index_previous = index_from  # lookups try it until the rotation is over
        ring.field[store.key_id(field_key)] = field_key
        ring.field_current = store.key_id(field_key)
        ring.index[store.key_id(index_key)] = index_key
        ring.index_current = store.key_id(index_key)
        ring.rotating = {"started_at": _now(), "field_from": field_from,
                         "index_from": index_from}
        # The state first (empty), then the keyring: a kill between the two leaves a
        # keyring without a rotation and an empty state, and the next run starts over.
        self._write_state({"done": {}})
        store.save(self.ring_path, ring)
        return ring, False

    def _rewrite(self, plan: _Plan, state: dict[str, Any], done: TableDone,
                 field_key: str, index_key: str) -> None:
        fid = bytes.fromhex(store.key_id(field_key))
        last = state["done"].get(plan.db_table)  # the table name: stable across versions
        total = plan.model._base_manager.count()
        done.rows = total
        reached = 0 if last is None else plan.model._base_manager.filter(pk__lte=last).count()
        self.progress(f"重新加密：{plan.label}", reached, total)
        select = self._select_sql(plan, with_indexes=False)
        while True:
            rows = self._fetch(select + f" WHERE {_quote(plan.pk)} > %s ORDER BY "
                               f"{_quote(plan.pk)} LIMIT %s",
                               [-1 if last is None else last, self.chunk])
            if not rows:
                break
            todo = [r for r in rows if _needs_rewrite(r, fid)]
            done.rewritten += self._write(plan, todo, field_key, index_key)
            last = rows[-1][0]
            state["done"][plan.db_table] = last
            self._write_state(state)
            reached += len(rows)
            self.progress(f"重新加密：{plan.label}", min(reached, total), total)
            self.after_chunk(plan.label, last)

    def _write(self, plan: _Plan, rows: Sequence[Row], field_key: str, index_key: str) -> int:
        """Rewrite ``rows`` (pk and sealed values as read) under the new keys; rows that
        changed meanwhile are read again, until every one is written."""
        written = 0
        fid = bytes.fromhex(store.key_id(field_key))
        select = self._select_sql(plan, with_indexes=False)
        for _ in range(_RETRIES):
            if not rows:
                return written
            params = self._new_values(plan, rows, field_key, index_key)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(self._update_sql(plan, len(rows)), params)
                changed = int(cursor.rowcount)
            written += changed
            if changed == len(rows):
                return written
            pks = [r[0] for r in rows]
            again = self._fetch(select + f" WHERE {_quote(plan.pk)} IN "
                                f"({', '.join(['%s'] * len(pks))})", pks)
            rows = [r for r in again if _needs_rewrite(r, fid)]
        if rows:
            raise RotationError(f"{plan.label}编号 {rows[0][0]} 等 {len(rows)} 行"
                                "在重写时反复被修改，未能完成：请稍后重新运行 huzhu keys rotate"
                                "（已完成的部分不会重做）。")
        return written

    def _new_values(self, plan: _Plan, rows: Sequence[Row], field_key: str,
                    index_key: str) -> list[Any]:
        ring = crypto.keys()
        openers = [crypto.unsealer(column=s.aad, ring=ring) for s in plan.sealed]
        sealers = [crypto.sealer(field_key, column=s.aad) for s in plan.sealed]
        index = crypto.blind_indexer(index_key)
        params: list[Any] = []
        for row in rows:
            new: list[Any] = [row[0]]
            for i, sealed in enumerate(plan.sealed):
                token = row[1 + i]
                if token is None:
                    new.append(None)
                    new.extend(None for _ in sealed.indexes)
                    continue
                try:
                    plain = openers[i](token)
                except Exception as exc:
                    raise RotationError(
                        f"{plan.label}编号 {row[0]} 的{plan.field_label(sealed.column)}无法解密"
                        f"（{exc.__class__.__name__}）：密钥文件不全或数据已损坏。轮换已停在此处，"
                        "旧密钥仍然保留；修复后重新运行 huzhu keys rotate 会从此处继续。") from None
                new.append(sealers[i](plain))
                new.extend(index(ix.derive(plain)) for ix in sealed.indexes)
            new.extend(bytes(v) if v is not None else None for v in row[1:1 + len(plan.sealed)])
            params.extend(new)
        return params

    def _verify(self, plan: _Plan, done: TableDone, field_key: str, index_key: str) -> None:
        fid = bytes.fromhex(store.key_id(field_key))
        index = crypto.blind_indexer(index_key)
        select = self._select_sql(plan, with_indexes=True)
        n_sealed = len(plan.sealed)
        last, seen = -1, 0
        self.progress(f"核验：{plan.label}", 0, done.rows)
        while True:
            rows = self._fetch(select + f" WHERE {_quote(plan.pk)} > %s ORDER BY "
                               f"{_quote(plan.pk)} LIMIT %s", [last, self.chunk])
            if not rows:
                break
            stale = []
            for row in rows:
                hashes = iter(row[1 + n_sealed:])
                good = True
                for i, sealed in enumerate(plan.sealed):
                    token = row[1 + i]
                    stored = [next(hashes) for _ in sealed.indexes]
                    if token is None:
                        good = good and all(h is None for h in stored)
                        continue
                    raw = bytes(token)
                    if raw[:1] != b"\x02" or raw[1:5] != fid:
                        good = False
                        continue
                    try:
                        plain = crypto.unseal(raw, field_key, column=sealed.aad)
                    except Exception:
                        raise RotationError(
                            f"核验失败：{plan.label}编号 {row[0]} 的"
                            f"{plan.field_label(sealed.column)}在新密钥下无法解密。旧密钥仍然保留，未退役；"
                            "请保留日志并联系维护人员。") from None
                    good = good and stored == [index(ix.derive(plain)) for ix in sealed.indexes]
                if not good:
                    stale.append(row[:1 + n_sealed])
            if stale:
                done.fixed += self._write(plan, stale, field_key, index_key)
            last = rows[-1][0]
            seen += len(rows)
            self.progress(f"核验：{plan.label}", min(seen, done.rows), max(done.rows, seen))

    def _rebuild_copies(self, copied: Copied, previous: str, index_key: str) -> int:
        """Each copied index that is the previous key's hash of its source's value now
        becomes the new key's hash of it; one statement per chunk, compare and set."""
        app_label, name = copied.model.split(".")
        model = apps.get_model(app_label, name)
        opener = crypto.unsealer(column=copied.aad)
        old_index, new_index = crypto.blind_indexer(previous), crypto.blind_indexer(index_key)
        label = str(model._meta.verbose_name)
        qs = model._base_manager.exclude(**{copied.column: ""}).exclude(
            **{f"{copied.source}__isnull": True}).order_by("pk")
        total, seen, changed, last = qs.count(), 0, 0, -1
        self.progress(f"重建索引：{label}", 0, total)
        table, column = model._meta.db_table, model._meta.get_field(copied.column).column
        pk = model._meta.pk.column
        while True:
            rows = list(qs.filter(pk__gt=last).values_list("pk", copied.column, copied.source)
                        [:self.chunk])
            if not rows:
                break
            todo = []
            for row_pk, stored, token in rows:
                value = copied.derive(opener(token))
                if stored == old_index(value):
                    todo.append((row_pk, new_index(value), stored))
            if todo:
                values = ", ".join(["(%s, %s, %s)"] * len(todo))
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {_quote(table)} AS t SET {_quote(column)} = "
                        f"{_cast('v.column2', 'varchar')} FROM (VALUES {values}) AS v "
                        f"WHERE t.{_quote(pk)} = {_cast('v.column1', 'bigint')} "
                        f"AND t.{_quote(column)} = {_cast('v.column3', 'varchar')}",
                        [x for row in todo for x in row])
                    changed += int(cursor.rowcount)
            last = rows[-1][0]
            seen += len(rows)
            self.progress(f"重建索引：{label}", min(seen, total), max(total, seen))
        return changed

    def _check_lookups(self, index_key: str) -> int:
        """A sample of members, each looked up by its ID number under the new index key
        alone: each must find itself and no one else."""
        member = apps.get_model("members", "Member")
        pks = list(member._base_manager.order_by("?").values_list("pk", flat=True)[:self.sample])
        checked = 0
        for chunk_start in range(0, len(pks), 500):
            rows = member._base_manager.filter(pk__in=pks[chunk_start:chunk_start + 500]
                                               ).values_list("pk", "id_number_sealed")
            numbers = {pk: crypto.unseal(sealed, column=crypto.MEMBER_ID_NUMBER)
                       for pk, sealed in rows}
            hashes = {crypto.blind_index(n, index_key): pk for pk, n in numbers.items()}
            found = dict(member._base_manager.filter(id_number_hash__in=list(hashes))
                         .values_list("id_number_hash", "pk"))
            for h, pk in hashes.items():
                if found.get(h) != pk:
                    raise RotationError(f"核验失败：按身份证号查找会员编号 {pk} 未找到本人。"
                                        "旧密钥仍然保留，未退役；请保留日志并联系维护人员。")
                checked += 1
        self.progress("核验：按身份证号查找", checked, max(checked, 1))
        return checked

    def _retire(self) -> tuple[Path | None, bool]:
        ring = store.load(self.ring_path)
        rotating = ring.rotating or {}
        settings_field, settings_index = _configured_keys()
        old_fields = [kid for kid in rotating.get("field_from", []) if kid != ring.field_current]
        retired: dict[str, dict[str, str]] = {"field": {}, "index": {}}
        for kid in old_fields:
            key = ring.field.pop(kid, None) or (
                settings_field if store.key_id(settings_field) == kid else None)
            if key:
                retired["field"][kid] = key
            if kid not in ring.retired:
                ring.retired.append(kid)
        index_from = rotating.get("index_from")
        # HUZHU_INDEX_KEY stays in force for the hashes that cannot be rebuilt (tokens,
        # relatives); it is copied to the retired file all the same, for old backups.
        if index_from and index_from != ring.index_current:
            key = ring.index.pop(index_from, None) or (
                settings_index if store.key_id(settings_index) == index_from else None)
            if key:
                retired["index"][index_from] = key
        path = None
        if retired["field"] or retired["index"]:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            path = store.sibling(self.ring_path, f"retired-{stamp}.json")
            store.write_json(path, {
                "说明": "huzhu keys rotate 退役的旧密钥。只用于打开轮换之前做的备份：请离线保存"
                        "（与这些备份放在一起），然后从服务器上删除本文件。",
                "retired_at": _now(), **retired})
        ring.index_previous = None
        ring.rotating = None
        store.save(self.ring_path, ring)
        crypto.refresh_keys()
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()
        return path, store.key_id(settings_field) in retired["field"]

    # ------------------------------------------------------------------ SQL and files

    def _select_sql(self, plan: _Plan, with_indexes: bool) -> str:
        cols = ", ".join(_quote(c) for c in plan.select_columns(with_indexes))
        return f"SELECT {cols} FROM {_quote(plan.db_table)}"

    def _update_sql(self, plan: _Plan, n: int) -> str:
        """One statement for a chunk: new values joined by primary key, taken only where
        the sealed values are still those read (v.old_*)."""
        cast = _cast
        sets, cas, i = [], [], 2
        n_new = sum(1 + len(s.indexes) for s in plan.sealed)
        for sealed in plan.sealed:
            sets.append(f"{_quote(sealed.column)} = {cast(f'v.column{i}', 'bytea')}")
            i += 1
            for ix in sealed.indexes:
                sets.append(f"{_quote(ix.column)} = {cast(f'v.column{i}', 'varchar')}")
                i += 1
        for k, sealed in enumerate(plan.sealed):
            old = cast(f"v.column{2 + n_new + k}", "bytea")
            col = f"t.{_quote(sealed.column)}"
            cas.append(f"({col} = {old} OR ({col} IS NULL AND {old} IS NULL))")
        width = 1 + n_new + len(plan.sealed)
        row = "(" + ", ".join(["%s"] * width) + ")"
        pk = cast("v.column1", "bigint")
        return (f"UPDATE {_quote(plan.db_table)} AS t SET {', '.join(sets)} "
                f"FROM (VALUES {', '.join([row] * n)}) AS v "
                f"WHERE t.{_quote(plan.pk)} = {pk} AND {' AND '.join(cas)}")

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return [tuple(r) for r in cursor.fetchall()]

    def _read_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"done": {}}
        except (OSError, ValueError) as exc:
            raise RotationError(
                f"无法读取轮换进度文件 {self.state_path}（{exc.__class__.__name__}）："
                "删除它后重新运行会从头重写全部记录（已完成的不会出错）。") from None
        if not isinstance(data, dict):
            raise RotationError(f"轮换进度文件 {self.state_path} 的内容应为 JSON 对象："
                                "删除它后重新运行会从头重写全部记录。")
        state: dict[str, Any] = data
        state.setdefault("done", {})
        return state

    def _write_state(self, state: dict[str, Any]) -> None:
        store.write_json(self.state_path, state)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RotationError("另一个 huzhu keys rotate 正在运行：请等它结束。") from None
            yield
        finally:
            os.close(fd)  # closing releases the lock, as a kill does


def _cast(expr: str, kind: str) -> str:
    """PostgreSQL types a VALUES list from its rows (a column all NULL is text), so its
    columns are cast; SQLite must not get a CAST: "bytea" would give a blob NUMERIC
    affinity."""
    return f"CAST({expr} AS {kind})" if connection.vendor == "postgresql" else expr


def _needs_rewrite(row: Row, fid: bytes) -> bool:
    """Any sealed value of the row not under the new field key (a row the application
    wrote since the rotation began is under it already, index and all)."""
    for token in row[1:]:
        if token is None:
            continue
        raw = bytes(token[:5])
        if raw[:1] != b"\x02" or raw[1:5] != fid:
            return True
    return False


def _configured_keys() -> tuple[str, str]:
    from django.conf import settings

    return settings.HUZHU_FIELD_KEY, settings.HUZHU_INDEX_KEY


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def status() -> dict[str, Any]:
    """What ``huzhu keys status`` shows: the keys in force, a rotation in progress, and
    how many values each key seals, table by table."""
    ring_path = crypto.keyring_file()
    ring = store.load(ring_path)
    keys = crypto.refresh_keys()
    counts: list[tuple[str, str, str, int]] = []
    for plan in plans():
        for sealed in plan.sealed:
            sql = (f"SELECT substr({_quote(sealed.column)}, 1, 5), COUNT(*) FROM "
                   f"{_quote(plan.db_table)} WHERE {_quote(sealed.column)} IS NOT NULL "
                   f"GROUP BY substr({_quote(sealed.column)}, 1, 5)")
            with connection.cursor() as cursor:
                cursor.execute(sql)
                for head, n in cursor.fetchall():
                    raw = bytes(head)
                    kid = raw[1:5].hex() if raw[:1] == b"\x02" else "旧格式"
                    counts.append((plan.label, plan.field_label(sealed.column), kid, int(n)))
    state_path = store.sibling(ring_path, "rotation.json")
    state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else None
    labels = {plan.db_table: plan.label for plan in plans()}
    if state:
        state["done"] = {labels.get(t, t): pk for t, pk in state.get("done", {}).items()}
    return {"keyring": ring_path, "field_current": store.key_id(keys.field_current),
            "index_current": store.key_id(keys.index_current),
            "field_keys": len(keys.fields), "rotating": ring.rotating, "state": state,
            "counts": counts}


def audit(report: Report) -> None:
    """The KEYS_ROTATED entry: key ids, counts and the retired file's name, never a key.

    ``huzhu.lib`` sits below the audit app; the writer is looked up at run time, the way
    the registries reach higher apps, so the entry goes through ``audit.log.record`` like
    every other."""
    log = importlib.import_module("huzhu.audit.log")
    entry = importlib.import_module("huzhu.audit.models").AuditEntry
    tables = "、".join(f"{t.label} {t.rows} 行" for t in report.tables)
    log.record(None, entry.Action.KEYS_ROTATED,
               summary=f"轮换加密密钥：新字段密钥 {report.field_key}、新索引密钥 "
                       f"{report.index_key}；重新加密并核验 {tables}；抽查按身份证号查找 "
                       f"{report.lookups} 人，均找到本人；旧密钥已移出密钥环"
                       + (f"，另存于 {report.retired_file.name}" if report.retired_file else ""),
               changes={"field_key": report.field_key, "index_key": report.index_key,
                        "rows": report.rows, "lookups": report.lookups,
                        "file": report.retired_file.name if report.retired_file else ""})
