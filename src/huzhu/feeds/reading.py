"""A feed's rows, whatever the bureau sent: CSV (UTF-8, GBK/GB18030), xlsx, Parquet, or
the API's JSON rows — each as ``(row_number, cells)`` in the order of a
:class:`~huzhu.imports.columns.Mapping`, so one validator serves all of them.

CSV and Excel go through :func:`huzhu.imports.reading.open_table` (encoding by content,
zip-bomb checks, bounded lines). Parquet is read a batch at a time from its row groups,
never whole: a feed may be a million rows. Row numbers are what the clerk would see with
the file opened as a sheet: the header is row 1, the first record row 2 (for JSON rows,
the record's position in the list, from 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from huzhu.feeds.columns import FEED_COLUMNS
from huzhu.feeds.rows import NotText
from huzhu.imports.columns import Mapping, find_header
from huzhu.imports.errors import ImportFileError
from huzhu.imports.limits import ImportLimits, too_big
from huzhu.imports.reading import Cell, open_table

PARQUET_MAGIC = b"PAR1"
PARQUET_BATCH_ROWS = 50_000
JSON_NAME = "接口推送"

Rows = Iterator[tuple[int, list[Cell]]]


@dataclass
class FeedTable:
    file_name: str
    format: str  # "csv:gb18030", "xlsx", "parquet", "json"
    mapping: Mapping
    rows: Rows  # data rows only: blank lines are skipped
    fraction_read: Callable[[], float]


def open_feed(path: Path, file_name: str | None = None,
              limits: ImportLimits | None = None) -> FeedTable:
    """Open a feed file and read past its header; raises :class:`ImportFileError` when it
    is not a feed (unreadable, too large, required columns missing)."""
    name = file_name or path.name
    limits = limits or ImportLimits.from_settings()
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(PARQUET_MAGIC))
    except OSError as exc:
        raise ImportFileError(name, f"无法读取文件：{exc.strerror or exc}") from None
    if magic == PARQUET_MAGIC:
        return _open_parquet(path, name, limits)
    table = open_table(path, name, limits)
    mapping = find_header(FEED_COLUMNS, name, table.rows)
    return FeedTable(name, table.format, mapping, _records(table.rows), table.fraction_read)


def records_table(records: list[dict], file_name: str = JSON_NAME) -> FeedTable:
    """The API's JSON rows (English field names) as a table; unknown names are refused."""
    fields = [c.field for c in FEED_COLUMNS]
    known = set(fields)
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise ImportFileError(file_name, f"第{number}条记录不是 JSON 对象", row=number)
        unknown = sorted(k for k in record if k not in known)
        if unknown:
            shown = "、".join(str(k)[:40] for k in unknown[:5])
            raise ImportFileError(file_name, f"第{number}条记录有未知字段：{shown}", row=number)
    mapping = Mapping(0, {f: i for i, f in enumerate(fields)}, {f: f for f in fields})
    done = [0]

    def rows() -> Rows:
        for number, record in enumerate(records, 1):
            done[0] = number
            # NotText stands in a Cell's place; the validator knows it (json=True).
            yield number, cast("list[Cell]", [_json_cell(f, record.get(f)) for f in fields])

    return FeedTable(file_name, "json", mapping, rows(),
                     lambda: done[0] / len(records) if records else 1.0)


# Lists of codes are a fair way to send diagnoses; anywhere else a JSON object or array
# is not a cell. A settlement ID must be a string: a number loses leading zeros.
_LISTS_ALLOWED = frozenset({"diagnosis", "other_diagnosis"})


def _json_cell(field: str, value: object) -> object:
    if field == "settlement_id" and value is not None and not isinstance(value, str):
        return NotText(value)
    if isinstance(value, dict) or (isinstance(value, list) and field not in _LISTS_ALLOWED):
        return NotText(value)
    return value


def _open_parquet(path: Path, name: str, limits: ImportLimits) -> FeedTable:
    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        meta = parquet.metadata
    except Exception:  # pyarrow's errors may quote the file's bytes
        raise ImportFileError(name, "无法读取 Parquet 文件（文件可能已损坏）") from None
    if meta.num_rows > limits.max_rows:
        raise ImportFileError(name, f"文件超过 {limits.max_rows:,} 行，无法导入；请拆分为多个文件")
    if len(names) > limits.max_columns:
        raise ImportFileError(name, f"文件有 {len(names):,} 列，超过上限 {limits.max_columns} 列")
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if unpacked > limits.max_unpacked_bytes:
        raise too_big(name, limits)
    found = find_header(FEED_COLUMNS, name, iter([(1, list(names))]))
    fields = list(found.index)
    columns = [names[found.index[f]] for f in fields]
    mapping = Mapping(1, {f: i for i, f in enumerate(fields)},
                      {f: found.headers[f] for f in fields})
    done = [0]
    total = max(1, meta.num_rows)
    return FeedTable(name, "parquet", mapping,
                     _records(_parquet_rows(parquet, columns, name, done)),
                     lambda: done[0] / total)


def _records(rows: Rows) -> Rows:
    """The rows with something in them (blank lines between records are not records).
    :func:`huzhu.imports.reading.data_rows` says the same, at a fifth of a million-row
    feed's reading time: here the first non-blank cell decides, usually the first."""
    for row, cells in rows:
        for cell in cells:
            if cell is not None and cell != "" and (type(cell) is not str
                                                    or not cell.isspace()):
                yield row, cells
                break


def _plain(column):
    """Decimals and dates as text: Python builds a Decimal from text in a third of the
    time pyarrow takes to hand one over, and the validator's fast path reads text."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        column = pc.cast(column, pa.date32())
        kind = column.type
    if pa.types.is_decimal(kind) or pa.types.is_date(kind):
        return pc.cast(column, pa.string()).to_pylist()
    return column.to_pylist()


def _parquet_rows(parquet, columns: list[str], name: str, done: list[int]) -> Rows:
    row = 1
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
            values = [_plain(batch.column(i)) for i in range(batch.num_columns)]
            for cells in zip(*values, strict=True):
                row += 1
                yield row, list(cells)
            done[0] = row - 1
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(name, f"第{row + 1}行附近的数据无法读取（Parquet 文件可能已损坏）",
                              row=row + 1) from None
