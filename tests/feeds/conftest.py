"""Feed files for the tests: settlement rows as CSV (UTF-8 or GBK), xlsx or Parquet."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from huzhu.feeds.columns import CHINESE_HEADERS, ENGLISH_FIELDS
from huzhu.members.idcard import make_id_number

TODAY = dt.date(2026, 12, 1)
_seq = itertools.count(1)


def stay(id_number: str, **overrides) -> dict:
    """One valid settlement row (English field names); amounts add up."""
    n = next(_seq)
    row = {
        "settlement_id": f"JS2201{n:010d}", "id_number": id_number, "name": "张三",
        "hospital": "吉林大学第一医院", "admit_date": "2026-03-01",
        "discharge_date": "2026-03-10", "total_cost": "20000.00", "fund_paid": "12000.00",
        "account_paid": "1000.00", "out_of_pocket": "7000.00", "self_pay": "4000.00",
        "self_expense": "3000.00", "diagnosis": "C34.900", "other_diagnosis": "I10.x00",
    }
    row.update(overrides)
    return row


def outsider(n: int) -> str:
    """A valid ID number nobody in the fixtures has."""
    return make_id_number("110105", dt.date(1970, 1, 1) + dt.timedelta(days=n), 500 + n % 400)


ZH = dict(zip((*ENGLISH_FIELDS, "other_diagnosis"), (
    "结算ID", "证件号码", "姓名", "定点医药机构名称", "入院日期", "出院日期", "医疗费总额",
    "基金支付", "个人账户支付", "个人现金支付", "个人自付", "个人自费", "主要诊断编码",
    "其他诊断编码"), strict=True))
assert tuple(ZH.values()) == CHINESE_HEADERS


def csv_text(rows: list[dict], *, chinese: bool = True, drop: tuple[str, ...] = ()) -> str:
    fields = [f for f in ZH if f not in drop]
    header = [ZH[f] if chinese else f for f in fields]
    lines = [",".join(header)]
    for r in rows:
        lines.append(",".join(str(r.get(f, "")) for f in fields))
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict], *, encoding: str = "utf-8", **kw) -> Path:
    path.write_bytes(csv_text(rows, **kw).encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[dict]) -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    fields = list(ZH)
    sheet.write_row(0, 0, [ZH[f] for f in fields])
    for i, r in enumerate(rows, 1):
        for j, f in enumerate(fields):
            value = r.get(f, "")
            if f in ("total_cost", "fund_paid", "account_paid", "out_of_pocket", "self_pay",
                     "self_expense") and value != "":
                sheet.write_number(i, j, float(value))  # Excel keeps money as numbers
            else:
                sheet.write_string(i, j, str(value))
    book.close()
    return path


def write_parquet(path: Path, rows: list[dict], *, row_group_size: int = 2,
                  chinese: bool = False) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    money = pa.decimal128(14, 2)
    schema = pa.schema([
        ("settlement_id", pa.string()), ("id_number", pa.string()), ("name", pa.string()),
        ("hospital", pa.string()), ("admit_date", pa.date32()), ("discharge_date", pa.date32()),
        ("total_cost", money), ("fund_paid", money), ("account_paid", money),
        ("out_of_pocket", money), ("self_pay", money), ("self_expense", money),
        ("diagnosis", pa.string()), ("other_diagnosis", pa.string()),
    ])

    def value(field: str, v):
        if v in ("", None):
            return None
        if schema.field(field).type == money:
            return Decimal(v)
        if field.endswith("_date"):
            return dt.date.fromisoformat(v)
        return v

    table = pa.Table.from_pylist([{f: value(f, r.get(f)) for f in schema.names} for r in rows],
                                 schema=schema)
    if chinese:
        table = table.rename_columns([ZH[f] for f in table.column_names])
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The API's rate-limit counters live in the default (local-memory) cache: each test
    starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def feed_dir(tmp_path, settings) -> Path:
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    path = tmp_path / "feeds"
    path.mkdir()
    return path
