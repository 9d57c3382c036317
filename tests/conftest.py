"""Suite-wide switches: which database the Django tests run on, and CI strictness.

``HUZHU_TEST_DB=postgresql`` runs the Django suite on a real PostgreSQL server that this
file starts in a temporary directory (initdb + pg_ctl, on 127.0.0.1 and a free port) and
stops at the end. As root, the server runs as the ``postgres`` user, because PostgreSQL
refuses to run as root. Under ``CI=true`` a missing PostgreSQL is a usage error; locally
the database tests are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

DB_KINDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def requested_db() -> str:
    return os.environ.get("HUZHU_TEST_DB", "sqlite").strip().lower() or "sqlite"


def missing(reason: str) -> None:
    """A tool the tests need is absent: a failure in CI, a skip on a developer's machine."""
    if in_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------- PostgreSQL server

def find_pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl: $HUZHU_PG_BIN when set (and then only
    it), else PATH, then Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    candidates: list[Path] = []
    if os.environ.get("HUZHU_PG_BIN"):
        candidates.append(Path(os.environ["HUZHU_PG_BIN"]))
        return _pg_bin_among(candidates)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                    else 0, reverse=True)
    candidates += [Path(p) for p in debian]
    return _pg_bin_among(candidates)


def _pg_bin_among(candidates: list[Path]) -> Path | None:
    for directory in candidates:
        if (directory / "pg_ctl").is_file() and (directory / "initdb").is_file():
            return directory
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    base: Path
    port: int
    run_as: str | None  # the OS user the server runs as, when we are root
    settings: str = ""  # more ``-c name=value`` options (the benches size the server)

    @property
    def data(self) -> Path:
        return self.base / "data"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              cwd=self.base)

    def start(self) -> None:
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                         "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb 失败：{done.stderr or done.stdout}")
        # Durability settings off: a test server is thrown away anyway.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        if self.settings:
            options += f" {self.settings}"
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"),
                         "-w", "-t", "60", "-o", options, "start")
        if done.returncode:
            log = (self.base / "server.log")
            detail = log.read_text() if log.exists() else ""
            raise RuntimeError(f"PostgreSQL 启动失败：{done.stderr}{detail}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def version(self) -> str:
        return self._run("pg_ctl", "--version").stdout.strip()


def start_postgres(bin_dir: Path) -> PostgresServer:
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("以 root 运行时需要系统用户 postgres 来启动 PostgreSQL") from None
        run_as = "postgres"
    # The postgres user must reach the directory: $TMPDIR may sit under /root.
    base = Path(tempfile.mkdtemp(prefix="huzhu-pg-", dir="/tmp" if run_as else None))
    if run_as:
        shutil.chown(base, user=run_as)
    server = PostgresServer(bin_dir=bin_dir, base=base, port=_free_port(), run_as=run_as)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return server


# ---------------------------------------------------------------- pytest hooks

def pytest_configure(config: pytest.Config) -> None:
    kind = requested_db()
    if kind not in DB_KINDS:
        raise pytest.UsageError(f"HUZHU_TEST_DB={kind!r}: expected one of {', '.join(DB_KINDS)}")
    if kind == "postgresql" and in_ci() and find_pg_bin() is None:
        raise pytest.UsageError(
            "CI=true and HUZHU_TEST_DB=postgresql, but no PostgreSQL server binaries were "
            "found (initdb/pg_ctl in $HUZHU_PG_BIN, or PATH and /usr/lib/postgresql/*/bin); "
            "install the Debian package 'postgresql'."
        )
    try:
        from django.conf import settings
    except ImportError:  # the engine suite runs without Django too
        return
    if settings.configured:
        # Password hashing is deliberately slow; tests create many users.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_report_header(config: pytest.Config) -> str:
    return f"huzhu: database={requested_db()} CI={'yes' if in_ci() else 'no'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_dir = Path(__file__).parent / "browser"
    keep, dropped = [], []
    for item in items:
        if browser_dir in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
        # PostgreSQL-only tests belong to the PostgreSQL pass; in the SQLite pass they are
        # deselected (not skipped): nothing is missing, they are simply another run's.
        if requested_db() != "postgresql" and item.get_closest_marker("postgres"):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def huzhu_db() -> str:
    """The database the Django suite runs on: "sqlite" or "postgresql"."""
    return requested_db()


@pytest.fixture(scope="session")
def postgresql_server():
    bin_dir = find_pg_bin()
    if bin_dir is None:
        missing("HUZHU_TEST_DB=postgresql but PostgreSQL is not installed "
                "(no initdb/pg_ctl found; apt-get install postgresql)")
    server = start_postgres(bin_dir)
    yield server
    server.stop()
    shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, huzhu_db,
                                 request) -> None:
    """Point Django at the throwaway server before pytest-django creates the test database."""
    if huzhu_db != "postgresql":
        return
    server = request.getfixturevalue("postgresql_server")
    from django.conf import settings
    from django.db import connections

    # In place: Django's connection handler holds this very dict.
    default = settings.DATABASES["default"]
    default.update(ENGINE="django.db.backends.postgresql", NAME="huzhu", USER="postgres",
                   PASSWORD="", HOST="127.0.0.1", PORT=str(server.port), OPTIONS={})
    try:
        connections["default"].close()
        del connections["default"]  # a wrapper made earlier still speaks SQLite
    except AttributeError:
        pass


# The Django fixtures (a small union tree, units, members, one user per role) for every
# app's tests; the engine suite never asks for them.
pytest_plugins = ["tests.fixtures"]


# ---------------------------------------------------------------- Spark

@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for every Spark test (the engine's and the proactive
    batch's), under the missing-tool rule: a failure under CI=true, a skip elsewhere."""
    try:
        import pyspark  # noqa: F401  (an optional extra: huzhu[spark])
    except ImportError:
        missing("pyspark 未安装（pip install 'huzhu[spark]'）")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing("找不到 Java（PySpark 需要 Java 17）")
    from huzhu.rules.spark import local_session

    session = local_session()
    session.conf.set("spark.sql.shuffle.partitions", "4")  # tiny test tables
    yield session
    session.stop()
