"""Compiled plans as SQL text, cached in memory and on disk by policy content hash.

Compiling a policy means importing Ibis, building the expression and rendering SQL:
about half a second, as long as DuckDB takes for a million events. So the SQL is kept
per (engine version, policy content hash, dialect, prior payouts or not, column set)
under ``$HUZHU_PLAN_CACHE`` (default ``$XDG_CACHE_HOME/huzhu/plans`` or
``~/.cache/huzhu/plans``; ``off`` disables the disk). The engine version is a hash of
the engine's own source files, so a changed compiler never reads an old plan. Nothing
here imports Ibis unless a plan has to be compiled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the schema imports pydantic, which a cached run never needs
    from huzhu.rules.schema import Policy

# The files whose text decides what SQL a policy compiles to, or what a policy file means.
_ENGINE_FILES = ("compiler.py", "output.py", "columns.py", "schema.py", "plans.py",
                 "loader.py", "reform.py")


@lru_cache(maxsize=1)
def engine_version() -> str:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _ENGINE_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path | None:
    """Where plans are kept on disk (None: in memory only)."""
    setting = os.environ.get("HUZHU_PLAN_CACHE", "").strip()
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "huzhu" / "plans"


def plan_key(content_hash: str, dialect: str, with_prior: bool, columns: str,
             foreign_benefits: bool, enum_texts: bool = False) -> str:
    flags = f"{dialect}:{int(with_prior)}:{columns}:{int(foreign_benefits)}:{int(enum_texts)}"
    text = f"{engine_version()}:{content_hash}:{flags}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_memory: dict[str, str] = {}


def cached_sql(content_hash: str, dialect: str = "duckdb", *, with_prior: bool = True,
               columns: str = "full", foreign_benefits: bool = False,
               enum_texts: bool = False) -> str | None:
    """The plan of the policy with this content hash, if it was compiled before."""
    key = plan_key(content_hash, dialect, with_prior, columns, foreign_benefits, enum_texts)
    sql = _memory.get(key)
    if sql is not None:
        return sql
    folder = cache_dir()
    path = folder / f"{key}.sql" if folder is not None else None
    if path is not None and path.is_file():
        sql = path.read_text(encoding="utf-8")
        _remember(key, sql)
    return sql


def _remember(key: str, sql: str) -> None:
    if len(_memory) > 128:
        _memory.clear()
    _memory[key] = sql


def compiled_sql(policy: Policy, dialect: str = "duckdb", *, with_prior: bool = True,
                 columns: str = "full", foreign_benefits: bool = False,
                 enum_texts: bool = False) -> str:
    """The policy's plan as SQL in ``dialect`` over the ``hz_*`` tables.

    ``enum_texts`` (DuckDB, for plans written to a file): the text columns come out as
    ENUM values, which DuckDB writes to Parquet and CSV as plain text but without
    hashing every cell into a dictionary; for Arrow results leave it off (they would be
    dictionary arrays)."""
    sql = cached_sql(policy.content_hash, dialect, with_prior=with_prior, columns=columns,
                     foreign_benefits=foreign_benefits, enum_texts=enum_texts)
    if sql is None:
        key = plan_key(policy.content_hash, dialect, with_prior, columns, foreign_benefits,
                       enum_texts)
        folder = cache_dir()
        sql = _compile(policy, dialect, with_prior, columns, foreign_benefits, enum_texts)
        if folder is not None:
            _store(folder / f"{key}.sql", sql)
        _remember(key, sql)
    return sql


def unread_inputs(policy: Policy) -> set[str]:
    """Inputs the policy's plan never reads (their rows must be checked separately)."""
    return set() if policy.reads_enrolments else {"enrolments"}


def _compile(policy: Policy, dialect: str, with_prior: bool, columns: str,
             foreign_benefits: bool, enum_texts: bool) -> str:
    # Lazy: the compiler brings Ibis (about a second), which a `huzhu calc` whose plan
    # is cached never needs.
    from huzhu.rules.compiler import to_sql

    return to_sql(policy, dialect, with_prior=with_prior, columns=columns,
                  foreign_benefits=foreign_benefits, enum_texts=enum_texts)


def _store(path: Path, sql: str) -> None:
    # A cache that cannot be written (read-only home, full disk) only costs speed.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".plan-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(sql)
        os.replace(tmp, path)
    except OSError:
        pass


@dataclass(frozen=True)
class PolicyFacts:
    """What ``huzhu calc`` needs of a policy besides its plan."""

    code: str
    name: str
    benefit_codes: list[str]
    day_capped_codes: list[str]
    unread: list[str]
    content_hash: str

    @classmethod
    def of(cls, policy: Policy) -> PolicyFacts:
        return cls(policy.code, policy.name, policy.benefit_codes, policy.day_capped_codes,
                   sorted(unread_inputs(policy)), policy.content_hash)


_OVERLAY = re.compile(rb"^reform_of\s*:", re.M)


def _facts_path(raw: bytes) -> Path | None:
    folder = cache_dir()
    if folder is None or _OVERLAY.search(raw):
        # An overlay's meaning depends on its base's file too: always load it.
        return None
    digest = hashlib.sha256(engine_version().encode() + b"\0" + raw).hexdigest()[:32]
    return folder / f"facts-{digest}.json"


def facts_for_file(path: Path) -> PolicyFacts | None:
    """The facts of a policy file validated before with these very bytes (else None)."""
    try:
        where = _facts_path(path.read_bytes())
        if where is None or not where.is_file():
            return None
        return PolicyFacts(**json.loads(where.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def remember_facts(path: Path, policy: Policy) -> None:
    try:
        where = _facts_path(path.read_bytes())
    except OSError:
        return
    if where is not None:
        _store(where, json.dumps(asdict(PolicyFacts.of(policy)), ensure_ascii=False))
