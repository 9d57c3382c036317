"""Bad rows: each of the issue's errors named by file, row and column, and nothing of the
feed imported (all or nothing, as the member import), unless the officer asks for the
valid rows only."""

from __future__ import annotations

import openpyxl
import pytest

from huzhu.feeds.importing import import_feed, import_records
from huzhu.feeds.models import Feed, FeedRow, Settlement
from huzhu.imports.errors import write_report
from tests.feeds.conftest import TODAY, outsider, stay, write_csv

pytestmark = pytest.mark.django_db


def _bad_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


def _one_bad(feed_dir, bad: dict, *, chinese: bool = True):
    """A feed of a good row, the bad one (row 3), and another good row."""
    rows = [stay(outsider(1)), bad, stay(outsider(2))]
    return import_feed(write_csv(feed_dir / "结算0301.csv", rows, chinese=chinese),
                       today=TODAY)


CASES = {
    "bad check digit": ({"id_number": _bad_check_digit(outsider(3))}, "证件号码", "校验"),
    "discharge before admission": ({"admit_date": "2026-03-10",
                                    "discharge_date": "2026-03-09"}, "出院日期",
                                   "出院日期早于入院日期"),
    "sums differ by two fen": ({"out_of_pocket": "7000.02"}, "医疗费总额", "相差 0.02"),
    "negative fund": ({"fund_paid": "-12000.00"}, "基金支付", "不能为负数"),
    "negative total": ({"total_cost": "-20000.00"}, "医疗费总额", "不能为负数"),
    "negative cash": ({"out_of_pocket": "-1.00"}, "个人现金支付", "不能为负数"),
    "negative self-expense": ({"self_expense": "-3.00"}, "个人自费", "不能为负数"),
    "not a date": ({"admit_date": "2026-13-01"}, "入院日期", ""),
    "bad ICD-10": ({"diagnosis": "肺癌"}, "主要诊断编码", "ICD-10"),
    "empty name": ({"name": ""}, "姓名", "不能为空"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_error_names_file_row_column_and_imports_nothing(case, feed_dir):
    overrides, column, words = CASES[case]
    outcome = _one_bad(feed_dir, stay(**{"id_number": outsider(4), **overrides}))
    assert not outcome.imported
    assert (outcome.rows, outcome.invalid) == (3, 1)
    error = outcome.errors[0]
    assert (error.file, error.row, error.column) == ("结算0301.csv", 3, column), error
    assert words in error.message
    assert Settlement.objects.count() == 0
    assert FeedRow.objects.count() == 0
    feed = Feed.objects.get()
    assert feed.status == Feed.Status.FAILED
    assert feed.invalid == 1 and feed.errors[0]["row"] == 3
    assert "全部未导入" in feed.message


def test_english_headers_are_named_as_written(feed_dir):
    outcome = _one_bad(feed_dir, stay(outsider(5), out_of_pocket="-1"), chinese=False)
    assert outcome.errors[0].column == "out_of_pocket"


def test_a_fen_of_rounding_is_accepted(feed_dir):
    outcome = _one_bad(feed_dir, stay(outsider(6), out_of_pocket="7000.01"))
    assert outcome.imported and outcome.new == 3


def test_messages_never_repeat_the_id_number(feed_dir):
    number = _bad_check_digit(outsider(7))
    outcome = _one_bad(feed_dir, stay(number))
    assert all(number not in e.message and number[:14] not in e.message
               for e in outcome.errors)


def test_duplicate_settlement_id_in_the_file(feed_dir):
    first = stay(outsider(8))
    rows = [first, stay(outsider(9)), dict(stay(outsider(10)),
                                           settlement_id=first["settlement_id"])]
    outcome = import_feed(write_csv(feed_dir / "dup.csv", rows), today=TODAY)
    assert not outcome.imported
    error = outcome.errors[0]
    assert (error.row, error.column, error.message) == (4, "结算ID", "结算ID与第2行重复")
    assert Settlement.objects.count() == 0


def test_every_bad_row_is_reported_and_counted(feed_dir):
    rows = [stay(outsider(i), out_of_pocket="-1") for i in range(11, 16)]
    rows.append(stay(outsider(16), discharge_date="2025-01-01", out_of_pocket="9000.00"))
    outcome = import_feed(write_csv(feed_dir / "f.csv", rows), today=TODAY, error_limit=3)
    assert outcome.invalid == 6
    assert outcome.error_count >= 7  # the last row has two errors
    assert len(outcome.errors) == 3  # only the first ones are kept


def test_valid_only_imports_the_valid_rows_and_records_the_others(feed_dir):
    bad = stay(outsider(17), out_of_pocket="1.00")
    rows = [stay(outsider(18)), bad, stay(outsider(19))]
    outcome = import_feed(write_csv(feed_dir / "f.csv", rows), today=TODAY, valid_only=True)
    assert outcome.imported
    assert (outcome.rows, outcome.invalid, outcome.new) == (3, 1, 2)
    invalid = FeedRow.objects.get(outcome=FeedRow.Outcome.INVALID)
    assert (invalid.row, invalid.settlement_id, invalid.stay) == (3, bad["settlement_id"], None)
    assert "医疗费总额" in invalid.reason
    assert [r.outcome for r in outcome.row_outcomes()] == ["new", "invalid", "new"]


def test_the_error_report_names_file_row_and_column(feed_dir, tmp_path):
    outcome = _one_bad(feed_dir, stay(outsider(20), admit_date="2026-03-11"))
    report = tmp_path / "errors.xlsx"
    write_report(outcome.errors, report, total_errors=outcome.error_count)
    sheet = openpyxl.load_workbook(report).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("文件", "行号", "列", "错误说明")
    assert rows[1] == ("结算0301.csv", 3, "出院日期", "出院日期早于入院日期")


def test_api_records_get_the_same_checks(db):
    outcome = import_records([stay(outsider(21)), stay(outsider(22), fund_paid="-5")],
                             today=TODAY)
    assert not outcome.imported
    assert (outcome.errors[0].row, outcome.errors[0].column) == (2, "fund_paid")
    assert Settlement.objects.count() == 0
