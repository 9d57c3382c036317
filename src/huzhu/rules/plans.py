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
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from huzhu.rules.schema import Policy

# The files whose text decides what SQL a policy compiles to.
_ENGINE_FILES = ("compiler.py", "output.py", "columns.py", "schema.py", "plans.py")


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


def plan_key(policy: Policy, dialect: str, with_prior: bool, columns: str,
             foreign_benefits: bool) -> str:
    flags = f"{dialect}:{int(with_prior)}:{columns}:{int(foreign_benefits)}"
    text = f"{engine_version()}:{policy.content_hash}:{flags}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_memory: dict[str, str] = {}


def compiled_sql(policy: Policy, dialect: str = "duckdb", *, with_prior: bool = True,
                 columns: str = "full", foreign_benefits: bool = False) -> str:
    """The policy's plan as SQL in ``dialect`` over the ``hz_*`` tables."""
    key = plan_key(policy, dialect, with_prior, columns, foreign_benefits)
    sql = _memory.get(key)
    if sql is not None:
        return sql
    folder = cache_dir()
    path = folder / f"{key}.sql" if folder is not None else None
    if path is not None and path.is_file():
        sql = path.read_text(encoding="utf-8")
    else:
        sql = _compile(policy, dialect, with_prior, columns, foreign_benefits)
        if path is not None:
            _store(path, sql)
    if len(_memory) > 128:
        _memory.clear()
    _memory[key] = sql
    return sql


def needs_enrolment(policy: Policy) -> bool:
    """Whether the plan joins the enrolments (enrolment rules or per-period caps)."""
    return any(b.eligibility.enrolment or any(c.period == "period" for c in b.caps)
               for b in policy.benefits)


def unread_inputs(policy: Policy) -> set[str]:
    """Inputs the policy's plan never reads (their rows must be checked separately)."""
    return set() if needs_enrolment(policy) else {"enrolments"}


def _compile(policy: Policy, dialect: str, with_prior: bool, columns: str,
             foreign_benefits: bool) -> str:
    import ibis

    from huzhu.rules.compiler import build

    expr = build(policy, with_prior=with_prior, columns=columns,
                 foreign_benefits=foreign_benefits, array_lookups=dialect == "duckdb")
    return str(ibis.to_sql(expr, dialect=dialect))


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
