"""Every format a bureau sends reads to the same stays: CSV in UTF-8 and GBK, xlsx and
Parquet, with the settlement list's Chinese headers or the English ones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu.feeds.importing import import_feed, import_records
from huzhu.feeds.models import Settlement
from tests.feeds.conftest import (
    TODAY,
    csv_text,
    outsider,
    stay,
    write_csv,
    write_parquet,
    write_xlsx,
)

pytestmark = pytest.mark.django_db


def _rows(member):
    return [stay(member.id_number, name="王芳", hospital="长春市中心医院"),
            stay(outsider(1), name="赵敏", account_paid="", self_pay="", self_expense="",
                 fund_paid="13000.00", other_diagnosis=""),
            stay(outsider(2), total_cost="5000.5", fund_paid="3000.25", account_paid="0",
                 out_of_pocket="2000.25", diagnosis="N18.500；E11.900")]


WRITERS = {
    "csv-utf8-zh": lambda p, r: write_csv(p.with_suffix(".csv"), r),
    "csv-utf8-bom-en": lambda p, r: write_csv(p.with_suffix(".csv"), r, chinese=False,
                                              encoding="utf-8-sig"),
    "csv-gbk-zh": lambda p, r: write_csv(p.with_suffix(".csv"), r, encoding="gbk"),
    "csv-gbk-en": lambda p, r: write_csv(p.with_suffix(".csv"), r, encoding="gbk",
                                         chinese=False),
    "xlsx-zh": lambda p, r: write_xlsx(p.with_suffix(".xlsx"), r),
    "parquet-en": lambda p, r: write_parquet(p.with_suffix(".parquet"), r),
    "parquet-zh": lambda p, r: write_parquet(p.with_suffix(".parquet"), r, chinese=True),
}


@pytest.mark.parametrize("kind", WRITERS)
def test_every_format_reads_the_same_stays(kind, feed_dir, make_member):
    member = make_member("a1")
    rows = _rows(member)
    path = WRITERS[kind](feed_dir / "feed", rows)
    outcome = import_feed(path, today=TODAY)
    assert outcome.imported, outcome.errors
    assert (outcome.rows, outcome.new, outcome.matched, outcome.invalid) == (3, 3, 1, 0)
    first, second, third = (Settlement.objects.get(settlement_id=r["settlement_id"])
                            for r in rows)
    assert (first.name, first.hospital, first.member) == ("王芳", "长春市中心医院", member)
    assert first.admit_date == dt.date(2026, 3, 1)
    assert first.discharge_date == dt.date(2026, 3, 10)
    assert (first.total_cost, first.fund_paid, first.account_paid, first.out_of_pocket,
            first.self_pay, first.self_expense) == tuple(Decimal(v) for v in (
                "20000.00", "12000.00", "1000.00", "7000.00", "4000.00", "3000.00"))
    assert first.diagnosis == "C34.900;I10.X00"
    assert (second.name, second.account_paid, second.self_pay, second.self_expense) == (
        "赵敏", None, None, None)
    assert second.diagnosis == "C34.900"
    assert (third.total_cost, third.fund_paid, third.out_of_pocket) == (
        Decimal("5000.50"), Decimal("3000.25"), Decimal("2000.25"))
    assert third.diagnosis == "N18.500;E11.900;I10.X00"  # main ones first, then others


def test_national_platform_codes_and_pooled_fund(feed_dir):
    """A bureau export with the platform's codes (setl_id, certno …) and only the pooled
    fund column; 就诊ID alone stands in for 结算ID."""
    number = outsider(3)
    text = ("mdtrt_id,certno,psn_name,fixmedins_name,入院时间,出院时间,medfee_sumamt,"
            "hifp_pay,acct_pay,psn_cash_pay,主要诊断代码\n"
            f"JZ001,{number},孙丽,吉林省人民医院,2026-05-01,2026-05-04,1000.00,600.00,"
            "100.00,300.00,K35.800\n")
    path = feed_dir / "platform.csv"
    path.write_text(text, encoding="utf-8")
    outcome = import_feed(path, today=TODAY)
    assert outcome.imported, outcome.errors
    stay_ = Settlement.objects.get()
    assert (stay_.settlement_id, stay_.fund_paid, stay_.hospital) == (
        "JZ001", Decimal("600.00"), "吉林省人民医院")


def test_json_records_read_like_a_file(db):
    rows = [stay(outsider(4), total_cost=100, fund_paid=Decimal("60.5"), account_paid=None,
                 out_of_pocket="39.50", self_pay=None, self_expense="10")]
    outcome = import_records(rows, today=TODAY)
    assert outcome.imported, outcome.errors
    assert Settlement.objects.get().fund_paid == Decimal("60.50")


def test_a_file_without_the_required_columns_is_refused(feed_dir):
    path = feed_dir / "f.csv"
    path.write_text(csv_text([stay(outsider(5))], drop=("id_number", "out_of_pocket")))
    outcome = import_feed(path, today=TODAY)
    assert not outcome.imported
    message = outcome.errors[0].message
    assert "证件号码" in message and "个人现金支付" in message
    assert Settlement.objects.count() == 0


def test_header_only_and_junk_are_refused(feed_dir):
    header_only = feed_dir / "h.csv"
    header_only.write_text(csv_text([]))
    outcome = import_feed(header_only, today=TODAY)
    assert not outcome.imported and "没有数据行" in outcome.errors[0].message
    junk = feed_dir / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    outcome = import_feed(junk, today=TODAY)
    assert not outcome.imported and "Parquet" in outcome.errors[0].message


def test_a_title_line_above_the_header(feed_dir):
    path = feed_dir / "titled.csv"
    path.write_text("长春市医疗保障局住院结算数据（2026年3月）\n" + csv_text([stay(outsider(6))]),
                    encoding="gbk")
    outcome = import_feed(path, today=TODAY)
    assert outcome.imported and outcome.new == 1, outcome.errors
    assert outcome.row_list[0].row == 3  # as the sheet shows it


def test_parquet_list_column_of_other_diagnoses(feed_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = stay(outsider(7))
    columns = {k: [v] for k, v in row.items() if k != "other_diagnosis"}
    columns["other_diagnosis"] = [["I10.x00", "E11.900"]]
    path = feed_dir / "list.parquet"
    pq.write_table(pa.table(columns), path)
    outcome = import_feed(path, today=TODAY)
    assert outcome.imported, outcome.errors
    assert Settlement.objects.get().diagnosis == "C34.900;I10.X00;E11.900"
