"""The audit log's hash chain: every way of appending links into it, ``huzhu audit verify``
passes on an intact log and names the first entry edited, deleted or inserted out of turn
straight in the database, the anchor catches a rewritten tail, the migration chains the
entries already written, and two appenders at once on PostgreSQL do not fork the chain."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import sys
import threading
import time

import pytest
from django.apps import apps
from django.db import connection

from huzhu.audit import chain, log
from huzhu.audit.bulk import AuditRows
from huzhu.audit.models import AuditEntry
from huzhu.cli import main
from huzhu.config import serve

A = AuditEntry.Action
TABLE = connection.ops.quote_name(AuditEntry._meta.db_table)


def _entries(n: int, user=None) -> list[AuditEntry]:
    return [log.record(user, A.MEMBER_UPDATED, summary=f"修改会员 第 {i} 次",
                       changes={"name": ["张三", f"张{i}"], "amount": "12.50", "rows": i,
                                "ratio": 0.1, "big": 1e20, "nested": {"b": [1, 2.0], "a": None}})
            for i in range(n)]


def _verify(capsys, *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", *extra])
    return code, capsys.readouterr().out


def _sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _named(entry: AuditEntry) -> str:
    return f"第 {entry.pk} 号记录（{chain.when(entry.at)}）"


# ------------------------------------------------------------------ an intact log

def test_an_empty_log_passes(db, capsys):
    assert AuditEntry.objects.count() == 0
    code, out = _verify(capsys)
    assert code == 0
    assert out.startswith("审计日志核验通过：共 0 条（用时 ")
    entry = AuditEntry.objects.get()
    assert entry.action == A.AUDIT_VERIFIED
    assert entry.changes == {"entries": 0, "head_hash": "", "finding": "通过"}


def test_every_way_of_appending_links_into_one_chain_and_verify_passes(db, users, capsys):
    first = _entries(2, users["admin_city"])
    log.record_many([AuditEntry(action=A.UNIT_IMPORTED, summary=f"导入单位 {i}",
                                object_id=i, changes={"row": i}) for i in range(3)])
    rows = AuditRows(users["admin_city"])
    for i in range(4):
        rows.add(A.CLAIM_CHANGED, "claim", i, "/1/", f"理赔 {i}：初审通过", {"state": ["甲", "乙"]})
    rows.flush()
    _entries(1)
    entries = list(AuditEntry.objects.order_by("id"))
    assert len(entries) == 10
    assert entries[0].prev_hash == ""
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
        assert len(after.hash) == 64
        assert before.at <= after.at
    assert first[0].hash == chain.hash_of(AuditEntry.objects.get(pk=first[0].pk))

    code, out = _verify(capsys)
    head = entries[-1]
    assert code == 0, out
    assert out.startswith(f"审计日志核验通过：共 10 条，链头第 {head.pk} 号"
                          f"（{chain.when(head.at)}），链头哈希 {head.hash}（用时 ")
    verified = AuditEntry.objects.order_by("-id").first()
    assert verified.action == A.AUDIT_VERIFIED
    assert verified.summary.startswith("审计日志核验通过：共 10 条")
    assert verified.changes == {"entries": 10, "head_hash": head.hash, "finding": "通过"}
    assert verified.prev_hash == head.hash
    # The verification's own entry is on the chain too.
    code, out = _verify(capsys)
    assert code == 0 and out.startswith("审计日志核验通过：共 11 条")


def test_numbers_hash_alike_however_the_database_gives_them_back():
    assert chain.canonical({"b": 1e20, "a": [1.0, 0.10]}) == \
        chain.canonical({"a": [1, 0.1], "b": 100000000000000000000})
    assert chain.canonical([True, 1]) != chain.canonical([1, 1])
    assert chain.canonical(["1"]) != chain.canonical([1])


# ------------------------------------------------------------------ tampering

def test_an_entry_updated_in_the_database_is_named(db, capsys):
    entries = _entries(4)
    _sql(f"UPDATE {TABLE} SET summary = %s WHERE id = %s", ["修改会员 李四", entries[2].pk])
    code, out = _verify(capsys)
    assert code == 1
    assert out.startswith(f"审计日志核验未通过：{_named(entries[2])}被改动：内容与其哈希不符"
                          "（此前 2 条完好）")
    failed = AuditEntry.objects.order_by("-id").first()
    assert failed.action == A.AUDIT_VERIFIED
    assert failed.changes["finding"] == f"{_named(entries[2])}被改动：内容与其哈希不符"
    assert failed.changes["entries"] == 2


@pytest.mark.parametrize("column", ["changes", "at", "actor_id", "prev_hash"])
def test_every_field_is_covered(db, users, capsys, column):
    entries = _entries(3, users["admin_city"])
    value = {"changes": '{"name": ["张三", "李四"]}',
             "at": connection.ops.adapt_datetimefield_value(
                 entries[1].at - dt.timedelta(seconds=1)),
             "actor_id": users["clerk_a1"].pk,
             "prev_hash": "0" * 64}[column]
    _sql(f"UPDATE {TABLE} SET {column} = %s WHERE id = %s", [value, entries[1].pk])
    code, out = _verify(capsys)
    assert code == 1
    assert f"第 {entries[1].pk} 号记录（" in out and "）被改动：内容与其哈希不符" in out


def test_an_entry_deleted_in_the_database_is_named(db, capsys):
    entries = _entries(4)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [entries[1].pk])
    code, out = _verify(capsys)
    assert code == 1
    assert out.startswith(
        f"审计日志核验未通过：{_named(entries[0])}之后、{_named(entries[2])}之前的记录被删除"
        f"（缺第 {entries[1].pk} 号），或者{_named(entries[0])}被改动后重算了哈希"
        "（此前 1 条完好）")


def test_the_first_entry_deleted_is_named(db, capsys):
    entries = _entries(2)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [entries[0].pk])
    code, out = _verify(capsys)
    assert code == 1
    assert f"{_named(entries[1])}之前的记录被删除（它本应接在更早的记录之后）" in out


def _insert_raw(at: dt.datetime, prev_hash: str, hash_: str, summary: str) -> AuditEntry:
    _sql(f"INSERT INTO {TABLE} (at, actor_id, action, object_type, object_id, union_path, "
         "summary, changes, prev_hash, hash) VALUES (%s, NULL, %s, '', '', '', %s, %s, %s, %s)",
         [connection.ops.adapt_datetimefield_value(at), A.MEMBER_UPDATED, summary, "{}",
          prev_hash, hash_])
    return AuditEntry.objects.order_by("-id").first()


def test_a_row_inserted_out_of_order_is_named(db, capsys):
    """A forger who knows the hash: a backdated entry made to follow the first one."""
    entries = _entries(3)
    at = entries[0].at + dt.timedelta(microseconds=1)
    forged_hash = chain.entry_hash(entries[0].hash, at, None, A.MEMBER_UPDATED, "", "", "",
                                   "修改会员 补记", {})
    forged = _insert_raw(at, entries[0].hash, forged_hash, "修改会员 补记")
    code, out = _verify(capsys)
    assert code == 1
    assert out.startswith(
        f"审计日志核验未通过：{_named(forged)}是插入的，不在原链上："
        f"它接在{_named(entries[0])}之后，却排在{_named(entries[2])}之后（此前 3 条完好）")


def test_a_row_inserted_without_a_hash_is_named_even_when_entries_follow_it(db, capsys):
    entries = _entries(2)
    forged = _insert_raw(entries[1].at, "", "", "修改会员 补记")
    later = _entries(1)  # the chain goes on from the forged row's (empty) hash
    assert later[0].prev_hash == ""
    code, out = _verify(capsys)
    assert code == 1
    assert out.startswith(f"审计日志核验未通过：{_named(forged)}是插入的，不在原链上")


def test_the_anchor_catches_a_tail_deleted(db, capsys):
    entries = _entries(4)
    assert main(["audit", "anchor"]) == 0
    out = capsys.readouterr().out
    anchor = AuditEntry.objects.order_by("-id").first()
    assert out.startswith(f"审计日志锚点：{chain.when(anchor.at)[:10]}")
    assert out.endswith(f"共 4 条，链头第 {entries[3].pk} 号，链头哈希 {entries[3].hash}\n")

    code, out = _verify(capsys, "--anchor", entries[3].hash)
    assert code == 0, out
    # Rewriting the tail is invisible to the chain alone, not to the anchor.
    _sql(f"DELETE FROM {TABLE} WHERE id >= %s", [entries[2].pk])
    assert _verify(capsys)[0] == 0
    code, out = _verify(capsys, "--anchor", entries[3].hash)
    assert code == 1
    assert out.startswith(f"审计日志核验未通过：锚点哈希 {entries[3].hash} 不在审计日志中："
                          "记下该锚点之后，有记录被删除，或者被改动后重算了哈希")


def test_the_migration_chains_the_entries_already_written(db, capsys):
    entries = _entries(5)
    _sql(f"UPDATE {TABLE} SET prev_hash = '', hash = ''")
    assert _verify(capsys)[0] == 1
    _sql(f"DELETE FROM {TABLE} WHERE action = %s", [A.AUDIT_VERIFIED])
    migration = importlib.import_module("huzhu.audit.migrations.0013_hash_chain")
    migration.BATCH = 2  # page boundaries crossed
    migration.chain_existing(apps, type("Editor", (), {"connection": connection})())
    assert [e.hash for e in AuditEntry.objects.order_by("id")] == [e.hash for e in entries]
    assert _verify(capsys)[0] == 0


def test_the_walk_streams_in_chunks(db):
    _entries(7)
    verdict = chain.verify(chunk_size=2)
    assert verdict.ok and verdict.count == 7


# ------------------------------------------------------------------ huzhu serve's anchor

def test_serve_logs_the_anchor_at_start_and_then_once_a_day(monkeypatch, caplog):
    line = "审计日志锚点：2026-12-08 08:00:00，共 3 条，链头第 3 号，链头哈希 " + "a" * 64
    supervisor = serve.Supervisor({}, "127.0.0.1:1", 1, 1)
    monkeypatch.setattr(supervisor, "_huzhu", lambda *args: [sys.executable, "-c",
                                                             f"print({line!r})"])
    caplog.set_level("INFO", logger="huzhu.serve")
    supervisor._tend_anchor()
    assert supervisor.anchor.argv[-1] == f"print({line!r})"
    supervisor.anchor.process.wait(timeout=30)
    started = time.monotonic()
    supervisor._tend_anchor()
    assert [r.getMessage() for r in caplog.records] == [line]
    assert supervisor.anchor.process is None
    assert started + serve.ANCHOR_EVERY - 5 < supervisor.anchor_due <= \
        time.monotonic() + serve.ANCHOR_EVERY
    supervisor._tend_anchor()  # not due again for a day
    assert supervisor.anchor.process is None
    supervisor.anchor_due = 0.0
    supervisor._tend_anchor()
    supervisor.anchor.process.wait(timeout=30)
    supervisor._tend_anchor()
    assert [r.getMessage() for r in caplog.records] == [line, line]


def test_serve_logs_a_failed_anchor_as_an_error(monkeypatch, caplog):
    supervisor = serve.Supervisor({}, "127.0.0.1:1", 1, 1)
    monkeypatch.setattr(supervisor, "_huzhu", lambda *args: [
        sys.executable, "-c", "import sys; print('数据库无法连接'); sys.exit(3)"])
    caplog.set_level("INFO", logger="huzhu.serve")
    supervisor._tend_anchor()
    supervisor.anchor.process.wait(timeout=30)
    supervisor._tend_anchor()
    assert [r.getMessage() for r in caplog.records] == [
        "审计日志锚点（huzhu audit anchor）失败（退出码 3）：数据库无法连接"]


# ------------------------------------------------------------------ two appenders at once

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_appenders_at_once_do_not_fork_the_chain(capsys):
    """Each thread has its own connection; without the chain's lock both would read the
    same head and link to it, and verify would name an entry inserted out of turn."""
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def append(who: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(60):
                if i % 10 == 9:
                    rows = AuditRows(None)
                    for j in range(5):
                        rows.add(A.CLAIM_CHANGED, "claim", j, "", f"线程 {who} 批量 {i}-{j}", {})
                    rows.flush()
                else:
                    log.record(None, A.MEMBER_UPDATED, summary=f"线程 {who} 第 {i} 条",
                               changes={"rows": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert AuditEntry.objects.count() == 2 * (54 + 6 * 5)
    code, out = _verify(capsys)
    assert code == 0, out
    assert out.startswith(f"审计日志核验通过：共 {2 * (54 + 6 * 5)} 条")
