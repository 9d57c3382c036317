"""Typing and validating the engine's inputs inside DuckDB, vectorised.

Every input (a CSV/Parquet file or an Arrow table) becomes a typed temp table named as
in :data:`~huzhu.rules.columns.TABLE_NAMES`. One pass computes the typed columns and a
``_bad`` flag per row; only when some row is bad does a slower second pass find the
first offending rows, columns and values for the error message. Nothing is computed on
bad input.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import tempfile
import weakref
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar, cast

import duckdb

from huzhu.rules.columns import MAX_MONEY, MONEY, TABLE_NAMES, TABLES, Column, duckdb_type
from huzhu.rules.errors import InputError

TRUE_WORDS = ("true", "t", "1", "yes", "y", "是")
FALSE_WORDS = ("false", "f", "0", "no", "n", "否")
T = TypeVar("T")
LABELS = {"members": "会员", "events": "事件", "enrolments": "参保记录", "prior": "已给付记录"}
MAX_REPORTED = 10
TOO_LARGE = f"金额过大，应小于 {MAX_MONEY:,}.00 元"
ErrorRow = tuple[str, int | None, str | None, str]
"""(file, row, column, message): one entry of :class:`InputError`."""


@dataclass
class Source:
    """Where an input comes from: a file path or an Arrow table (``label`` names it)."""

    label: str
    relation: str          # SQL table expression to read from
    is_csv: bool = False
    path: str | None = None
    """CSV: the UTF-8 file DuckDB reads (the original, or its transcoded copy)."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_source(con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str]) -> Source:
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise InputError([(text, None, None, "文件不存在")])
    lower = text.lower()
    if lower.endswith(".parquet") or lower.endswith(".pq"):
        return Source(text, f"read_parquet({_lit(text)})")
    if lower.endswith(".csv") or lower.endswith(".txt") or lower.endswith(".csv.gz"):
        readable, temp = _utf8_csv(text)
        source = Source(
            text,
            f"read_csv({_lit(readable)}, all_varchar=true, header=true, auto_detect=true)",
            is_csv=True, path=readable,
        )
        if temp is not None:
            # The transcoded copy lives as long as the source that reads it.
            weakref.finalize(source, _unlink, temp)
        return source
    raise InputError([(text, None, None, "只支持 .csv 或 .parquet 文件")])


CHUNK = 8 << 20


def _open_bytes(path: str) -> BinaryIO:
    if path.lower().endswith(".gz"):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


def _is_utf8(path: str) -> bool:
    """Whether the whole file is UTF-8 (a BOM allowed: DuckDB skips it). Chunks of plain
    ASCII, nearly all of a typical file, are passed by ``isascii`` without decoding."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with _open_bytes(path) as fh:
        while chunk := fh.read(CHUNK):
            if chunk.isascii() and not decoder.getstate()[0]:
                continue
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _utf8_csv(path: str) -> tuple[str, str | None]:
    """(a path DuckDB can read as UTF-8, the temporary copy to remove or None).

    Clerks' CSV files come from Excel as UTF-8 (often with a BOM) or as GBK; the
    project's imports read both (``huzhu.imports.reading``), and so does the engine:
    a file that is not UTF-8 is read as GB18030 (a superset of GBK) and copied to a
    UTF-8 temporary file, line for line, so row numbers stay those of the original.
    """
    if _is_utf8(path):
        return path, None
    fd, temp = tempfile.mkstemp(prefix="huzhu-csv-", suffix=".csv")
    try:
        with _open_bytes(path) as raw, os.fdopen(fd, "wb") as out:
            decoder = codecs.getincrementaldecoder("gb18030")("strict")
            while chunk := raw.read(CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError:
        _unlink(temp)
        raise InputError([(path, None, None,
                           "文件编码无法识别：应为 UTF-8 或 GBK（GB18030）编码的 CSV")]) from None
    except BaseException:
        _unlink(temp)
        raise
    return temp, temp


def _ragged_rows(source: Source) -> list[ErrorRow]:
    """CSV rows whose number of fields differs from the header's, by line in the file.

    DuckDB's dialect sniffer takes such a file for one of another shape (a row with an
    extra field made it read the header as data and report the real columns missing)
    or gives up ("Error when sniffing file"); this slow pass runs only after DuckDB
    failed or found columns missing, to say which row is at fault."""
    if not source.is_csv or source.path is None:
        return []
    errors: list[ErrorRow] = []
    with io.TextIOWrapper(_open_bytes(source.path), encoding="utf-8-sig", errors="replace",
                          newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                return []
            width = len(header)
            start = reader.line_num + 1
            for fields in reader:
                if fields and len(fields) != width:
                    errors.append((source.label, start, None,
                                   f"该行有 {len(fields)} 个字段，表头有 {width} 个"
                                   "（行号为文件中的行，表头为第 1 行；"
                                   "含逗号的内容须用英文双引号括起）"))
                    if len(errors) >= MAX_REPORTED:
                        break
                start = reader.line_num + 1
        except csv.Error:
            errors.append((source.label, start, None,
                           "无法按 CSV 读取此行（引号未成对？）"))
    return errors


def _unreadable(source: Source, exc: Exception) -> InputError:
    """The error for a file DuckDB could not read: its ragged rows if it has any."""
    return InputError(_ragged_rows(source)
                      or [(source.label, None, None, f"无法读取：{_short(exc)}")])


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def arrow_source(con: duckdb.DuckDBPyConnection, kind: str, table: Any) -> Source:
    name = f"_src_{kind}"
    con.register(name, table)
    return Source(f"{LABELS[kind]}表（{kind}）", _q(name))


def _clean(ref: str) -> str:
    """A text cell without its surrounding spaces, NULL when nothing is left. Most cells
    have no spaces to trim: testing the first and last character is several times cheaper
    than ``trim`` on millions of rows (DuckDB's ``trim`` removes spaces only)."""
    return (f"NULLIF(CASE WHEN {ref} LIKE ' %' OR {ref} LIKE '% ' THEN trim({ref}) "
            f"ELSE {ref} END, '')")


def _typed(col: Column, found: tuple[str, str] | None) -> str:
    """The typed value of ``col``; ``found``: its (name, type) in the source, if any."""
    target = duckdb_type(col.type)
    if found is None:
        return f"CAST(NULL AS {target})"
    actual, src_type = found
    ref = _q(actual)
    if src_type != "VARCHAR":
        if col.type == "boolean" and src_type != "BOOLEAN":
            ref = f"CAST({ref} AS VARCHAR)"
        elif src_type == target or col.type == "string":
            return f"CAST({ref} AS {target})"
        else:
            return f"TRY_CAST({ref} AS {target})"
    clean = _clean(ref)
    if col.type == "string":
        return clean
    if col.type == "boolean":
        low = f"lower(trim({ref}))"
        trues = ", ".join(_lit(w) for w in TRUE_WORDS)
        falses = ", ".join(_lit(w) for w in FALSE_WORDS)
        return f"(CASE WHEN {low} IN ({trues}) THEN true WHEN {low} IN ({falses}) THEN false END)"
    if col.type == MONEY:
        clean = f"replace({clean}, ',', '')"
    return f"TRY_CAST({clean} AS {target})"


def _checks(col: Column, found: tuple[str, str] | None, typed: str,
            benefits: list[str] | None) -> list[tuple[str, str]]:
    """(condition that marks a bad row, Chinese message) for one column."""
    out: list[tuple[str, str]] = []
    if found is None:
        return out
    actual, src_type = found
    raw = _q(actual)
    textual = src_type == "VARCHAR"
    present = f"{_clean(raw)} IS NOT NULL" if textual else f"{raw} IS NOT NULL"
    if col.not_null:
        out.append((f"NOT ({present})", "不能为空"))
    what = {"date": "日期（应为 YYYY-MM-DD）", "int32": "整数", "boolean": "是/否（true/false）",
            MONEY: "金额"}.get(col.type)
    if what:
        out.append((f"({present}) AND {typed} IS NULL", f"不是有效的{what}"))
    if col.type == MONEY and not _exact_money(src_type):
        exact = (f"TRY_CAST(replace({_clean(raw)}, ',', '') AS DECIMAL(38,10))" if textual
                 else f"TRY_CAST({raw} AS DECIMAL(38,10))")
        out.append((f"{typed} IS NOT NULL AND {exact} <> {typed}", "金额最多两位小数（分）"))
    if col.type == MONEY:
        out.append((f"abs({typed}) >= {MAX_MONEY}", TOO_LARGE))
    if col.non_negative:
        out.append((f"{typed} < 0", "不能为负数"))
    if col.range:
        lo, hi = col.range
        out.append((f"{typed} NOT BETWEEN {lo} AND {hi}", f"应在 {lo} 到 {hi} 之间"))
    if col.choices:
        allowed = ", ".join(_lit(c) for c in col.choices)
        out.append((f"{typed} NOT IN ({allowed})", f"取值无效，应为 {'/'.join(col.choices)}"))
    if col.name == "benefit" and benefits is not None:
        allowed = ", ".join(_lit(c) for c in benefits)
        out.append((f"{typed} NOT IN ({allowed})",
                    f"未知的保障项目，本政策只有 {'/'.join(benefits)}"))
    return out


def _exact_money(src_type: str) -> bool:
    """Source types that always fit decimal(18,2) without rounding."""
    if src_type in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                    "UINTEGER"):
        return True
    if src_type.startswith("DECIMAL("):
        width, scale = (int(x) for x in src_type[8:-1].split(","))
        return scale <= 2 and width - scale <= 16
    return False


@dataclass
class _Typed:
    """How one input becomes its typed table: the select list and the row checks."""

    selects: list[str]
    checks: list[tuple[str, str, str]]
    """(column, condition marking a bad row, Chinese message)."""
    typed_of: dict[str, str]
    key: str | None

    @property
    def bad(self) -> str:
        return " OR ".join(f"coalesce({cond}, false)" for _, cond, _ in self.checks) or "false"


_KEYS = {"events": "event_id", "prior": "event_id", "members": "member_id"}


def _typed_input(con: duckdb.DuckDBPyConnection, kind: str, source: Source,
                 benefits: list[str] | None, day_capped: list[str]) -> _Typed:
    spec = TABLES[kind]
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source.relation}").fetchall()
    except duckdb.Error as exc:
        raise _unreadable(source, exc) from None
    actual = {str(name).strip().lstrip("\ufeff").lower(): (str(name), str(typ))
              for name, typ, *_ in described}
    missing = [c.name for c in spec if c.required and c.name not in actual]
    if missing:
        raise InputError(_ragged_rows(source)
                         or [(source.label, None, m, "缺少必需的列") for m in missing])

    selects: list[str] = []
    checks: list[tuple[str, str, str]] = []
    typed_of: dict[str, str] = {}
    for col in spec:
        found = actual.get(col.name)
        typed = typed_of[col.name] = _typed(col, found)
        selects.append(f"{typed} AS {_q(col.name)}")
        checks += [(col.name, cond, msg) for cond, msg in _checks(col, found, typed, benefits)]
    if kind == "prior" and day_capped:
        codes = ", ".join(_lit(c) for c in day_capped)
        checks.append((
            "days_paid",
            f"{typed_of['benefit']} IN ({codes}) AND {typed_of['paid']} > 0 "
            f"AND {typed_of['days_paid']} IS NULL",
            f"按天数计上限的项目（{'/'.join(day_capped)}）已给付金额大于 0 时须填写给付天数",
        ))
    if kind == "enrolments":
        checks.append(("period_end", f"{typed_of['period_start']} > {typed_of['period_end']}",
                       "互助期结束日期早于开始日期"))
    return _Typed(selects, checks, typed_of, _KEYS.get(kind))


def _no_view(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Make room for a table where a streamed run defined a view of that name."""
    # Cheaper than asking the catalog (duckdb_views() costs tens of milliseconds): a
    # table of that name refuses a DROP VIEW, and is replaced by the caller anyway.
    try:
        con.execute(f"DROP VIEW IF EXISTS {name}")
    except duckdb.CatalogException:
        pass


def _empty_table(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    _no_view(con, TABLE_NAMES[kind])
    cols = ", ".join(f"{_q(c.name)} {duckdb_type(c.type)}" for c in TABLES[kind])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE_NAMES[kind]} ({cols})")


def load_input(con: duckdb.DuckDBPyConnection, kind: str, source: Source | None,
               benefits: list[str] | None = None, day_capped: Sequence[str] = ()) -> int:
    """Create the typed table for ``kind`` from ``source`` (an empty one when None).

    ``benefits``: the benefit codes allowed (events, prior); ``day_capped``: benefits
    whose prior payouts must say how many days they paid (``days_paid``, when paid > 0).
    Returns the number of rows; raises :class:`InputError` on any bad row, naming the
    file, row, column and value.
    """
    target = TABLE_NAMES[kind]
    if source is None:
        _empty_table(con, kind)
        return 0
    typed = _typed_input(con, kind, source, benefits, list(day_capped))
    _no_view(con, target)
    key = typed.key
    # One pass types and flags every row; one more counts rows, bad rows and distinct
    # keys together. Only on bad input do the slower passes find what to report.
    distinct = f"count(DISTINCT {_q(key)})" if key else "count(*)"
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {target} AS "
            f"SELECT {', '.join(typed.selects)}, ({typed.bad}) AS _bad FROM {source.relation}"
        )
        n_rows, n_bad, n_keys = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE _bad), {distinct} FROM {target}"
        ).fetchall()[0]
    except duckdb.Error as exc:
        raise _unreadable(source, exc) from None
    errors: list[ErrorRow] = []
    if n_bad:
        errors += _explain_bad_rows(con, source, typed.checks)
    elif key and n_keys != n_rows:
        errors += _explain_duplicates(con, source, target, key)
    if errors:
        con.execute(f"DROP TABLE IF EXISTS {target}")
        raise InputError(errors)
    # The typed table keeps its (all false) _bad column: the plans name their columns,
    # and dropping one would rewrite the table.
    return int(n_rows)


BAD_ROW = "hz_bad_input_row"
"""The error a streamed input raises on its first bad row (see :func:`stream_inputs`)."""


@dataclass
class Streamed:
    """Inputs defined as checked views (:func:`stream_inputs`)."""

    rows: dict[str, int]
    """Rows per input; events' count is what a complete output must have. Filled in
    by :meth:`settle_keys` for the inputs whose keys are still to be counted."""
    sources: dict[str, Source | None]
    benefits: list[str] | None
    day_capped: list[str]
    key_queries: dict[str, str] = field(default_factory=dict)
    """(rows, distinct keys) query per input not yet counted (``defer_keys``)."""

    def run_plan(self, con: duckdb.DuckDBPyConnection, run: Callable[[], T]) -> T:
        """``run()``, the plan over the checked views on ``con``: the first bad row stops
        it, and the input error names it."""
        try:
            return run()
        except duckdb.Error as exc:
            if is_bad_row_error(exc):
                raise self.explain(con) from None
            raise

    def check_complete(self, con: duckdb.DuckDBPyConnection, rows_out: int) -> None:
        """One output row per event, else the input error (a duplicated member adds
        rows)."""
        if rows_out != self.rows["events"]:
            raise self.explain(con)

    def count_keys(self, con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
        """(rows, distinct keys) of the inputs not yet counted. Safe to run on a thread
        beside a query on ``con`` when every input is a file: each count runs on a
        cursor of its own."""
        return _key_counts(con, self.sources, self.key_queries)

    def settle_keys(self, con: duckdb.DuckDBPyConnection,
                    counts: dict[str, tuple[int, int]]) -> None:
        """Record the counts; on a duplicated key raise the error naming its rows."""
        for kind, (n_rows, n_keys) in counts.items():
            if n_keys != n_rows:
                load_input(con, kind, self.sources[kind],
                           self.benefits if kind in ("events", "prior") else None,
                           self.day_capped)  # raises, naming the duplicated rows
            self.rows[kind] = int(n_rows)
        self.key_queries = {}

    def explain(self, con: duckdb.DuckDBPyConnection) -> InputError:
        """The precise error (file, row, column) after a streamed run hit bad input: the
        inputs are loaded again the slow way, which names what is wrong."""
        for kind, source in self.sources.items():
            try:
                load_input(con, kind, source,
                           benefits=self.benefits if kind in ("events", "prior") else None,
                           day_capped=self.day_capped)
            except InputError as exc:
                return exc
        return InputError([("输入", None, None, "输入数据有误，但未能定位到具体行")])


def stream_inputs(con: duckdb.DuckDBPyConnection, sources: dict[str, Source | None],
                  benefits: list[str], day_capped: Sequence[str] = (),
                  unread: AbstractSet[str] = frozenset(), defer_keys: bool = False) -> Streamed:
    """Define each input's typed table as a VIEW over its source, its row checks inside
    the same scan: the key column of a bad row calls ``error()``, so a plan reading the
    views fails on the first bad row instead of paying a separate validation pass (the
    caller then asks :meth:`Streamed.explain` for the message). Keys are checked for
    duplicates here, on the key column alone; and a plan's output must have exactly one
    row per event (a duplicated member would add rows).

    ``unread``: inputs the plan does not read (enrolments under a policy without
    enrolment rules); a view nobody scans checks nothing, so these are loaded and checked
    the ordinary way.

    ``defer_keys``: leave the key counts to the caller (:meth:`Streamed.count_keys`,
    then :meth:`Streamed.settle_keys`), who can run them beside the plan: the plan
    leaves part of the machine idle (one thread reads a Parquet file of one row group
    and builds the members' hash table), and the counts fill it.
    """
    rows: dict[str, int] = {}
    counts: dict[str, str] = {}
    for kind, source in sources.items():
        if source is None:
            _empty_table(con, kind)
            rows[kind] = 0
            continue
        if kind in unread:
            rows[kind] = load_input(con, kind, source, day_capped=day_capped)
            continue
        typed = _typed_input(con, kind, source,
                             benefits if kind in ("events", "prior") else None, list(day_capped))
        guard = typed.key or ("member_id" if kind == "enrolments" else None)
        selects = [
            f"CASE WHEN {typed.bad} THEN error('{BAD_ROW}') ELSE {typed.typed_of[c.name]} END "
            f"AS {_q(c.name)}" if c.name == guard else sel
            for c, sel in zip(TABLES[kind], typed.selects, strict=True)
        ]
        con.execute(f"CREATE OR REPLACE TEMP VIEW {TABLE_NAMES[kind]} AS "
                    f"SELECT {', '.join(selects)} FROM {source.relation}")
        key = typed.typed_of[typed.key] if typed.key else None
        distinct = f"count(DISTINCT {key})" if key else "count(*)"
        counts[kind] = f"SELECT count(*), {distinct} FROM {source.relation}"
    streamed = Streamed(rows, dict(sources), benefits, list(day_capped), counts)
    if not defer_keys:
        streamed.settle_keys(con, streamed.count_keys(con))
    return streamed


def _key_counts(con: duckdb.DuckDBPyConnection, sources: dict[str, Source | None],
                queries: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(rows, distinct keys) per input. Files are counted side by side, each on its own
    cursor: a Parquet file of one row group is scanned by one thread, so the members'
    count would otherwise leave the other core idle. (Arrow tables are registered on
    ``con`` alone and are counted there.)"""
    def count(cursor: duckdb.DuckDBPyConnection, kind: str) -> tuple[int, int]:
        try:
            n_rows, n_keys = cursor.execute(queries[kind]).fetchall()[0]
        except duckdb.Error as exc:
            source = sources[kind]
            if source is None:  # counted: never None
                raise
            raise _unreadable(source, exc) from None
        return int(n_rows), int(n_keys)

    files = all(_is_file(sources[kind]) for kind in queries)
    if not queries or not files:
        return {kind: count(con, kind) for kind in queries}
    cursors = {kind: con.cursor() for kind in queries}
    try:
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            futures = {kind: pool.submit(count, cursors[kind], kind) for kind in queries}
            return {kind: future.result() for kind, future in futures.items()}
    finally:
        for cursor in cursors.values():
            cursor.close()


def _is_file(source: Source | None) -> bool:
    return source is not None and source.relation.startswith("read_")


def is_bad_row_error(exc: BaseException) -> bool:
    return BAD_ROW in str(exc)


def _row(source: Source, rowid: int) -> int:
    # CSV: the line in the file (the header is line 1), as a clerk sees it in Excel.
    return rowid + 2 if source.is_csv else rowid + 1


def _explain_bad_rows(con: duckdb.DuckDBPyConnection, source: Source,
                      checks: list[tuple[str, str, str]]) -> list[ErrorRow]:
    """Second, ordered pass: which rows and columns are bad, and with what value."""
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads TO 1")  # one thread keeps file order for row numbers
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _hz_raw AS SELECT * FROM {source.relation}")
    finally:
        con.execute(f"SET threads TO {int(threads)}")
    errors: list[ErrorRow] = []
    raw_cols = {str(c[0]).strip().lstrip("\ufeff").lower(): str(c[0])
                for c in con.execute("DESCRIBE _hz_raw").fetchall()}
    for column, cond, message in checks:
        # A check may name a column the file lacks (days_paid); it shows no value then.
        shown_col = _q(raw_cols[column]) if column in raw_cols else "NULL"
        rows = con.execute(
            f"SELECT rowid, CAST({shown_col} AS VARCHAR) FROM _hz_raw "
            f"WHERE coalesce({cond}, false) ORDER BY rowid LIMIT {MAX_REPORTED}"
        ).fetchall()
        for rowid, value in rows:
            shown = "" if value is None else f"（值：{value!r}）"
            errors.append((source.label, _row(source, rowid), column, message + shown))
        if len(errors) >= MAX_REPORTED:
            break
    con.execute("DROP TABLE IF EXISTS _hz_raw")
    errors.sort(key=lambda e: (e[1] or 0))
    return errors[:MAX_REPORTED]


def _explain_duplicates(con: duckdb.DuckDBPyConnection, source: Source, target: str,
                        key: str) -> list[ErrorRow]:
    rows = con.execute(
        f"SELECT rowid, {_q(key)}, first_rowid FROM ("
        f"  SELECT rowid, {_q(key)}, min(rowid) OVER (PARTITION BY {_q(key)}) AS first_rowid"
        f"  FROM {target}) WHERE rowid > first_rowid ORDER BY rowid LIMIT {MAX_REPORTED}"
    ).fetchall()
    return [
        (source.label, _row(source, rowid), key,
         f"{key} {value!r} 重复（第一次出现在第 {_row(source, first)} 行）")
        for rowid, value, first in rows
    ]


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
