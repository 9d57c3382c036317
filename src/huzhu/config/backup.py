"""``huzhu backup FILE`` and ``huzhu restore FILE``: one file holding a consistent snapshot
of the database and the files the app stores, and its way back onto a fresh install.

The backup is a ``.tar.gz`` with:

- the database: on SQLite a copy made by SQLite's online backup API (one consistent
  snapshot, while the server keeps serving); on PostgreSQL ``pg_dump`` in custom format
  run against a snapshot exported from a REPEATABLE READ transaction, in which the row
  counts and the migration state are read too — they describe exactly what was dumped;
- the uploaded files: claim materials and job files (``UPLOAD_ROOT``), ``MEDIA_ROOT``
  and the SMS outbox files, under ``files/<area>/``; taken after the database snapshot, so
  every file a row of the snapshot names is there. Never the keys (kept outside the data
  directory, :mod:`huzhu.config.secrets`), never a symlink;
- ``manifest.json``: versions, the database's kind and server, the applied migrations, the
  row count of every table, and the size and SHA-256 of every part.

A restore reads the whole file and checks the manifest and every part's hash before it
changes anything; it refuses a database that already holds data unless ``--force``, and a
backup made by a newer version (migrations this one does not have). Then it loads the
database (SQLite's backup API into the live database; ``pg_restore`` in one transaction),
checks the row counts against the manifest, brings the schema up to this version, writes
the files back owner-only and prints the counts. Both are audited (BACKUP_MADE,
BACKUP_RESTORED).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import glob
import hashlib
import io
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from huzhu.lib.django_setup import setup_django

FORMAT = "huzhu-backup"
VERSION = 1
MANIFEST = "manifest.json"
FILES = "files"
SQLITE_PART = "database.sqlite3"
PG_PART = "database.pgdump"
# Where the app keeps files, by the setting naming the folder (under files/<area>/).
AREAS = (("uploads", "UPLOAD_ROOT"), ("media", "MEDIA_ROOT"), ("outbox", "HUZHU_OUTBOX_DIR"))
# Never taken, wherever found: key files (the keys live outside var/, these are the names
# an older or a careless install used).
KEY_FILE_NAMES = ("secrets.json", "keys.json")
DB_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """Backing up or restoring cannot go on; the message (Chinese) says why and what to do.
    Nothing was changed."""


def configure(parser: argparse.ArgumentParser) -> None:
    if parser.prog.split()[-1] == "restore":
        parser.add_argument("path", type=Path, metavar="FILE",
                            help="huzhu backup 写出的备份文件（.tar.gz）")
        parser.add_argument("--force", action="store_true",
                            help="数据库中已有数据也恢复：现有数据被备份中的数据覆盖")
    else:
        parser.add_argument("path", type=Path, metavar="FILE",
                            help="要写出的备份文件，例如 /backup/huzhu-20261208.tar.gz"
                                 "（数据库快照与上传文件，不含密钥）")


def run(args: argparse.Namespace) -> int:
    setup_django()
    try:
        if args.command == "restore":
            restore(args.path, force=args.force)
        else:
            backup(args.path)
    except BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


# ================================================================== backing up

@dataclass
class Snapshot:
    vendor: str
    server: str
    tool: str
    part: Path
    migrations: list[list[str]]
    rows: dict[str, int]


@dataclass
class Stored:
    """One uploaded file: its area, its path within the area, and where it is now."""
    area: str
    relative: str
    path: Path


@dataclass
class Written:
    parts: list[dict[str, Any]] = field(default_factory=list)

    def add(self, tar: tarfile.TarFile, name: str, path: Path) -> None:
        """Add ``path`` as ``name``, hashing the very bytes written."""
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            info = tarfile.TarInfo(name)
            info.size, info.mode = size, 0o600
            info.mtime = int(os.fstat(fh.fileno()).st_mtime)
            reader = _Hashing(fh)
            tar.addfile(info, reader)
        self.parts.append({"name": name, "size": size, "sha256": reader.hexdigest()})


class _Hashing(io.RawIOBase):
    """A file read through, hashing what is read (tarfile reads exactly ``size`` bytes)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        return data

    def readable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self.sha.hexdigest()


def backup(out: Path) -> Path:
    """Write the backup to ``out`` (atomically: a failed backup leaves no file there)."""
    from django.conf import settings

    from huzhu.audit import log
    from huzhu.audit.models import AuditEntry

    out = out.expanduser().absolute()
    if out.is_dir():
        raise BackupError(f"{out} 是一个目录：请给出备份文件的名字，例如 {out / 'huzhu.tar.gz'}")
    if not out.parent.is_dir():
        raise BackupError(f"目录 {out.parent} 不存在：请先创建它")
    for _area, setting in AREAS:
        root = Path(getattr(settings, setting)).resolve()
        if out.resolve().is_relative_to(root):
            raise BackupError(f"备份文件不能写在数据目录 {root} 之内：请写到别处（最好是另一块磁盘"
                              "或另一台机器）")
    partial = out.with_name(f".{out.name}.partial")
    with tempfile.TemporaryDirectory(prefix=".huzhu-backup-", dir=out.parent) as work:
        snapshot = _snapshot(Path(work))
        stored = list(_stored_files())
        written = Written()
        try:
            with _private_file(partial) as fh, \
                    tarfile.open(fileobj=fh, mode="w:gz", compresslevel=6) as tar:
                written.add(tar, snapshot.part.name, snapshot.part)
                for item in stored:
                    written.add(tar, f"{FILES}/{item.area}/{item.relative}", item.path)
                manifest = _manifest(snapshot, written)
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(data), 0o600
                info.mtime = int(dt.datetime.now().timestamp())
                tar.addfile(info, io.BytesIO(data))
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    fingerprint = _sha256(out)
    size = out.stat().st_size
    rows = sum(snapshot.rows.values())
    log.record(None, AuditEntry.Action.BACKUP_MADE,
               summary=f"备份数据：{out.name}（{DB_NAMES[snapshot.vendor]} 数据库 {rows:,} 行，"
                       f"上传文件 {len(stored):,} 个）",
               changes={"file": str(out), "size": size, "sha256": fingerprint, "rows": rows,
                        "files": len(stored)})
    print(f"备份完成：{out}（{size:,} 字节）")
    print(f"  数据库：{DB_NAMES[snapshot.vendor]} {snapshot.server}，{snapshot.tool}的一致性快照，"
          f"{len(snapshot.rows)} 张表共 {rows:,} 行")
    print(f"  上传文件：{len(stored):,} 个")
    print(f"  备份文件指纹（SHA-256）：{fingerprint}（请与备份文件分开记下）")
    print("  备份中没有密钥：恢复时要用原来的密钥（HUZHU_KEYS_FILE 或环境变量），请另行妥善保管")
    return out


def _snapshot(work: Path) -> Snapshot:
    from django.db import connection

    if connection.vendor == "sqlite":
        return _sqlite_snapshot(work)
    if connection.vendor == "postgresql":
        return _postgres_snapshot(work)
    raise BackupError(f"不支持备份这种数据库：{connection.vendor}")


def _sqlite_snapshot(work: Path) -> Snapshot:
    """SQLite's online backup API: one consistent copy while others read and write (it
    starts over if another connection writes mid-copy; with all pages at once it does not
    need to)."""
    from django.db import connection

    part = work / SQLITE_PART
    connection.ensure_connection()
    target = sqlite3.connect(part)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    copy = sqlite3.connect(f"file:{part}?mode=ro", uri=True)
    try:
        tables = [name for (name,) in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        rows = {name: copy.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
                for name in tables}
        migrations = [[app, name] for app, name in copy.execute(
            "SELECT app, name FROM django_migrations ORDER BY app, name")] \
            if "django_migrations" in rows else []
    finally:
        copy.close()
    return Snapshot("sqlite", sqlite3.sqlite_version, "SQLite 在线备份", part, migrations, rows)


def _postgres_snapshot(work: Path) -> Snapshot:
    """``pg_dump`` in custom format, on a snapshot exported from this connection's
    REPEATABLE READ transaction, in which the counts and migrations are read as well."""
    from django.db import connection, transaction

    pg_dump = _pg_tool("pg_dump")
    part = work / PG_PART
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot_id, server = cursor.fetchone()
        done = subprocess.run(
            [pg_dump, "--format=custom", "--no-owner", "--no-privileges",
             f"--snapshot={snapshot_id}", f"--file={part}"],
            env=_pg_env(), capture_output=True, text=True, check=False)
        if done.returncode:
            raise BackupError(f"pg_dump 失败（退出码 {done.returncode}），未写出备份："
                              f"{done.stderr.strip()[-500:]}")
        tables = sorted(connection.introspection.table_names(cursor))
        rows = {}
        for name in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(name)}")
            rows[name] = cursor.fetchone()[0]
        migrations: list[list[str]] = []
        if "django_migrations" in rows:
            cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
            migrations = [[app, name] for app, name in cursor.fetchall()]
    version = subprocess.run([pg_dump, "--version"], capture_output=True, text=True,
                             check=False).stdout.strip().split()[-1:]
    tool = f"pg_dump {version[0]} " if version else "pg_dump "
    return Snapshot("postgresql", server, tool, part, migrations, rows)


def _pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: on PATH, else the newest Debian server package's."""
    found = shutil.which(name)
    if found:
        return found
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                            key=lambda p: int(Path(p).parent.name)
                            if Path(p).parent.name.isdigit() else 0, reverse=True):
        if (Path(directory) / name).is_file():
            return str(Path(directory) / name)
    raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端程序（Debian/Ubuntu："
                      "apt-get install postgresql-client，版本不低于数据库服务器）")


def _pg_env() -> dict[str, str]:
    """The connection's settings as libpq's environment (the password never on a
    command line, where ps shows it)."""
    from django.db import connection

    db = connection.settings_dict
    environ = {**os.environ}
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                      ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        if db.get(key):
            environ[name] = str(db[key])
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        environ["PGSSLMODE"] = str(sslmode)
    return environ


def _stored_files() -> Iterator[Stored]:
    """Every regular file in the app's file areas, in a stable order; no symlinks, no key
    files, nothing outside the areas."""
    from django.conf import settings

    for area, setting in AREAS:
        root = Path(getattr(settings, setting))
        if not root.is_dir():
            continue
        for directory, folders, names in os.walk(root, followlinks=False):
            folders.sort()
            for name in sorted(names):
                path = Path(directory) / name
                if path.is_symlink() or not path.is_file() or name in KEY_FILE_NAMES:
                    continue
                yield Stored(area, path.relative_to(root).as_posix(), path)


def _manifest(snapshot: Snapshot, written: Written) -> dict[str, Any]:
    import django
    from django.utils import timezone

    return {
        "format": FORMAT, "version": VERSION,
        "created": timezone.localtime().isoformat(timespec="seconds"),
        "huzhu": _huzhu_version(), "django": django.get_version(),
        "python": platform.python_version(),
        "database": {"vendor": snapshot.vendor, "server": snapshot.server,
                     "part": snapshot.part.name, "tool": snapshot.tool.strip()},
        "migrations": snapshot.migrations,
        "rows": snapshot.rows,
        "parts": written.parts,
    }


def _huzhu_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("huzhu")
    except PackageNotFoundError:
        return "未知"


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """A new file, 0600 from the moment it exists: the backup holds personal data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        yield fh


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            sha.update(block)
    return sha.hexdigest()


# ================================================================== restoring

@dataclass
class Unpacked:
    work: Path
    manifest: dict[str, Any]

    @property
    def vendor(self) -> str:
        return str(self.manifest["database"]["vendor"])

    @property
    def database(self) -> Path:
        return self.work / str(self.manifest["database"]["part"])

    def files(self) -> Iterator[tuple[str, str, Path]]:
        for part in self.manifest["parts"]:
            name = PurePosixPath(part["name"])
            if name.parts[0] == FILES:
                yield name.parts[1], "/".join(name.parts[2:]), self.work / part["name"]


def restore(path: Path, *, force: bool = False) -> None:
    from django.db import connection

    from huzhu.audit import log
    from huzhu.audit.models import AuditEntry

    path = path.expanduser().absolute()
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}")
    fingerprint = _sha256(path)
    with tempfile.TemporaryDirectory(prefix="huzhu-restore-") as work:
        unpacked = _unpack(path, Path(work))
        manifest = unpacked.manifest
        if unpacked.vendor != connection.vendor:
            raise BackupError(
                f"这是 {DB_NAMES.get(unpacked.vendor, unpacked.vendor)} 数据库的备份，当前数据库是 "
                f"{DB_NAMES.get(connection.vendor, connection.vendor)}：请在同一种数据库上恢复")
        _check_migrations(manifest)
        _check_empty(force)
        if connection.vendor == "sqlite":
            _restore_sqlite(unpacked.database)
        else:
            _restore_postgres(unpacked.database, set(manifest["rows"]))
        _check_rows(manifest["rows"])
        migrated = _migrate()
        files = _restore_files(unpacked)
    counts = _counts()
    rows = sum(manifest["rows"].values())
    log.record(None, AuditEntry.Action.BACKUP_RESTORED,
               summary=f"从备份恢复数据：{path.name}（备份于 {_when(manifest['created'])}，"
                       f"数据库 {rows:,} 行，上传文件 {files:,} 个）",
               changes={"file": str(path), "sha256": fingerprint, "rows": rows, "files": files,
                        "forced": force})
    print(f"已从备份恢复：{path}（备份于 {_when(manifest['created'])}，"
          f"huzhu {manifest['huzhu']}）")
    print(f"  备份文件指纹（SHA-256）：{fingerprint}")
    print("  " + "、".join(f"{label} {n:,} {unit}" for label, n, unit in counts))
    print(f"  数据库：{len(manifest['rows'])} 张表共 {rows:,} 行，与备份清单一致")
    print(f"  上传文件：{files:,} 个，文件指纹与备份清单一致")
    if migrated:
        print(f"  数据库已升级到本版本（执行了 {migrated} 个迁移）")
    if not _keys_open_the_data():
        print("  注意：当前密钥解不开恢复的身份证号：请换用备份时的密钥（HUZHU_KEYS_FILE 或"
              "环境变量）后再启动")


def _when(created: str) -> str:
    try:
        return dt.datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return created


def _unpack(path: Path, work: Path) -> Unpacked:
    """Read the whole archive into ``work`` and check it against its manifest: every part
    there with its size and hash, nothing else, no path leading out."""
    broken = f"{path} 不是完整的 huzhu 备份文件（无法读取压缩包），未作任何改动"
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                name = PurePosixPath(member.name)
                if not member.isfile() or name.is_absolute() or ".." in name.parts:
                    raise BackupError(f"备份文件中有不该有的内容（{member.name}），未作任何改动")
            tar.extractall(work, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BackupError(broken) from exc
    try:
        manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} 中没有可读的备份清单：不是 huzhu 的备份文件，未作任何改动") \
            from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} 不是 huzhu 的备份文件，未作任何改动")
    if manifest.get("version") != VERSION:
        raise BackupError(f"{path} 的备份格式（第 {manifest.get('version')} 版）本程序不认识："
                          "请用写出它的 huzhu 版本恢复，未作任何改动")
    listed = {part["name"] for part in manifest["parts"]}
    extra = sorted({m.name for m in members} - listed - {MANIFEST})
    if extra:
        raise BackupError(f"备份文件中有清单以外的文件（{extra[0]}），未作任何改动")
    for part in manifest["parts"]:
        target = work / part["name"]
        if not target.is_file() or target.stat().st_size != part["size"] \
                or _sha256(target) != part["sha256"]:
            raise BackupError(f"备份文件已损坏：{part['name']} 与备份清单中的文件指纹不符，"
                              "未作任何改动")
    unpacked = Unpacked(work, manifest)
    if unpacked.database.name not in listed:
        raise BackupError(f"备份清单中没有数据库（{unpacked.database.name}），未作任何改动")
    areas = {area for area, _ in AREAS}
    for area, _relative, _path in unpacked.files():
        if area not in areas:
            raise BackupError(f"备份文件中有不认识的文件目录（{area}），未作任何改动")
    return unpacked


def _check_migrations(manifest: dict[str, Any]) -> None:
    """A backup of a newer version has migrations this one does not know: refused."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(connection, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{app} {name}" for app, name in manifest["migrations"] if (app, name) not in known]
    if unknown:
        raise BackupError(f"这份备份来自较新的 huzhu 版本：其中有本程序没有的数据库迁移"
                          f"（{unknown[0]} 等 {len(unknown)} 个）。请先升级 huzhu 再恢复，"
                          "未作任何改动")


def _check_empty(force: bool) -> None:
    """A fresh install (the empty database ``migrate`` leaves) or ``--force``."""
    found = [(label, n, unit) for label, n, unit in _counts() if n]
    if found and not force:
        held = "、".join(f"{label} {n:,} {unit}" for label, n, unit in found)
        raise BackupError(f"数据库中已有数据（{held}）：恢复会覆盖它们。请在新安装"
                          "（huzhu manage migrate 之后的空数据库）上恢复；确认要覆盖，"
                          "请加 --force。未作任何改动")


def _counts() -> list[tuple[str, int, str]]:
    """What a person recognises of the data, counted (zero where a table is missing)."""
    from django.db import connection

    from huzhu.audit.models import AuditEntry
    from huzhu.claims.models import Claim, ClaimMaterial
    from huzhu.members.models import Member
    from huzhu.orgs.models import Union, User

    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
    kinds = ((Union, "工会", "个"), (User, "工作人员", "名"), (Member, "会员", "名"),
             (Claim, "理赔", "件"), (ClaimMaterial, "理赔材料", "份"),
             (AuditEntry, "审计日志", "条"))
    return [(label, model.objects.count() if model._meta.db_table in existing else 0, unit)
            for model, label, unit in kinds]


def _restore_sqlite(part: Path) -> None:
    """SQLite's backup API from the snapshot into the live database: the whole database
    replaced at once (its -wal and -shm files stay consistent, unlike a copied file)."""
    from django.db import connection

    connection.ensure_connection()
    source = sqlite3.connect(f"file:{part}?mode=ro", uri=True)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def _restore_postgres(part: Path, tables: set[str]) -> None:
    """The dump as SQL (``pg_restore --clean``: its objects dropped, then made and loaded)
    run by ``psql`` in one transaction that stops at the first error, so a failure leaves
    the database as it was. Tables the backup does not have (a newer version's, empty on a
    fresh install) are dropped first in the same transaction: the migrations after the
    restore make them again, and their foreign keys would stop the drops."""
    from django.db import connection

    pg_restore, psql = _pg_tool("pg_restore"), _pg_tool("psql")
    with connection.cursor() as cursor:
        extra = sorted(set(connection.introspection.table_names(cursor)) - tables)
    connection.close()  # nothing of ours holds a lock on what is dropped
    environ = _pg_env()
    dump = subprocess.Popen(
        [pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-",
         str(part)], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with tempfile.TemporaryFile() as psql_out:
        load = subprocess.Popen(
            [psql, "--quiet", "--no-psqlrc", "--single-transaction", "--set=ON_ERROR_STOP=1",
             "--file=-"], env=environ, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=psql_out)
        assert dump.stdout is not None and load.stdin is not None
        try:
            load.stdin.write("".join(f"DROP TABLE IF EXISTS {connection.ops.quote_name(t)} "
                                     "CASCADE;\n" for t in extra).encode())
            shutil.copyfileobj(dump.stdout, load.stdin, CHUNK)
        except BrokenPipeError:
            pass  # psql stopped at an error: its message below
        finally:
            with contextlib.suppress(BrokenPipeError):
                load.stdin.close()
        dumped_err = dump.stderr.read().decode(errors="replace") if dump.stderr else ""
        dump.wait()
        load.wait()
        psql_out.seek(0)
        loaded_err = psql_out.read().decode(errors="replace")
    if dump.returncode or load.returncode:
        detail = (dumped_err if dump.returncode else loaded_err).strip()[-500:]
        raise BackupError(f"恢复 PostgreSQL 数据库失败（pg_restore 退出码 {dump.returncode}，"
                          f"psql 退出码 {load.returncode}），数据库未改动：{detail}")


def _check_rows(expected: dict[str, int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table, count in sorted(expected.items()):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            found = cursor.fetchone()[0]
            if found != count:
                raise BackupError(f"恢复后数据表 {table} 有 {found:,} 行，备份清单记的是 "
                                  f"{count:,} 行：恢复不完整，请勿使用这个数据库")


def _migrate() -> int:
    """Bring a backup of an older version up to this one; the number of migrations run."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", interactive=False, verbosity=0)
    return len(plan)


def _restore_files(unpacked: Unpacked) -> int:
    """Each file back in its area, owner-only, written atomically."""
    from django.conf import settings

    from huzhu.lib.filemodes import private_dir

    roots = {area: Path(getattr(settings, setting)) for area, setting in AREAS}
    count = 0
    for area, relative, source in unpacked.files():
        root = roots[area].resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise BackupError(f"备份中的文件 {area}/{relative} 会写到数据目录以外，已停止")
        for parent in reversed(target.relative_to(root).parents):
            private_dir(root / parent)
        partial = target.with_name(f".{target.name}.restoring")
        with _private_file(partial) as out, source.open("rb") as fh:
            shutil.copyfileobj(fh, out, CHUNK)
        os.replace(partial, target)
        count += 1
    return count


def _keys_open_the_data() -> bool:
    """Whether this install's keys decrypt a restored ID number (a backup restored with
    other keys is unreadable, and says so here rather than at the first page)."""
    from huzhu.members.models import Member

    member = Member.objects.order_by("pk").first()
    if member is None:
        return True
    try:
        return bool(member.id_number)
    except Exception:
        return False
