"""``huzhu calc``: output files, and bad input refused with file/row/column, nothing written."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from huzhu.cli import main

MEMBERS = "member_id,birth_date,gender,status\nm1,1980-05-01,M,active\nm2,1990-01-01,F,active\n"
HEADER = "event_id,member_id,benefit,event_date,out_of_pocket\n"
EVENTS = HEADER + "e1,m1,hospital,2023-01-05,5000.30\ne2,m2,hospital,2023-02-01,10000.25\n"


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def calc(tmp: Path, events: str, out: str = "out.csv", members: str = MEMBERS,
         extra: list[str] = ()) -> tuple[int, Path]:
    args = ["calc", "--policy", "changchun-2023", "--members", write(tmp, "members.csv", members),
            "--events", write(tmp, "events.csv", events), "--out", str(tmp / out), "--quiet",
            *extra]  # a later --policy in extra wins
    return main(args), tmp / out


def test_csv_output(tmp_path):
    code, out = calc(tmp_path, EVENTS)
    assert code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["event_id"], r["payable"], r["status"]) for r in rows] == [
        ("e1", "75.00", "payable"), ("e2", "200.01", "payable")]
    assert rows[1]["band"] == "(10000,20000]" and rows[1]["rate"] == "0.0200"


def test_minimal_columns(tmp_path):
    code, out = calc(tmp_path, EVENTS, extra=["--columns", "minimal"])
    assert code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["event_id", "member_id", "benefit", "payable", "status", "reason"]
    assert [(r["event_id"], r["payable"], r["reason"]) for r in rows] == [
        ("e1", "75.00", ""), ("e2", "200.01", "")]


def test_policy_check_shows_sources_and_reads_an_overlay(capsys):
    assert main(["policy", "check", "ningshan-2024"]) == 0
    text = capsys.readouterr().out
    assert "每年最多180天" in text and "示例数值" in text and "内容哈希" in text
    assert main(["policy", "check", "changchun-2023-reform"]) == 0
    assert "3,000.00" in capsys.readouterr().out


def test_a_changed_policy_file_is_not_served_from_the_cache(tmp_path):
    """The second run of the same file reads its facts and plan from the disk cache; a
    file edited in place is validated and compiled again."""
    from huzhu.rules.loader import resolve_policy_path

    policy = tmp_path / "policy.yaml"
    text = resolve_policy_path("changchun-2023").read_text(encoding="utf-8")
    policy.write_text(text, encoding="utf-8")
    args = ["--policy", str(policy)]
    for _ in range(2):
        code, out = calc(tmp_path, EVENTS, extra=args)
        assert code == 0
        assert [r["payable"] for r in csv.DictReader(out.open(encoding="utf-8"))] == [
            "75.00", "200.01"]
    policy.write_text(text.replace('rate: "1.5%"', 'rate: "2.5%"'), encoding="utf-8")
    code, out = calc(tmp_path, EVENTS, extra=args)
    assert [r["payable"] for r in csv.DictReader(out.open(encoding="utf-8"))] == [
        "125.01", "200.01"]
    policy.write_text(text.replace("threshold: 5000", "threshold: five"), encoding="utf-8")
    code, out = calc(tmp_path, EVENTS, extra=args)
    assert code != 0


def test_parquet_output_and_prior(tmp_path):
    prior = write(tmp_path, "prior.csv",
                  HEADER.strip() + ",paid\np1,m1,hospital,2023-01-01,,49950.00\n")
    code, out = calc(tmp_path, EVENTS, "out.parquet", extra=["--prior", prior])
    assert code == 0
    table = pq.read_table(out)
    rows = {r["event_id"]: r for r in table.to_pylist()}
    assert str(rows["e1"]["payable"]) == "50.00" and rows["e1"]["reason"] == "cap_per_year"
    assert "p1" not in rows


@pytest.mark.parametrize(("events", "row", "column", "words"), [
    (HEADER + "e1,m1,dental,2023-01-05,100\n", 2, "benefit", "未知的保障项目"),
    (HEADER + "e1,m1,hospital,2023-13-05,100\n", 2, "event_date", "日期"),
    (HEADER + "e1,m1,hospital,2023-01-05,12abc\n", 2, "out_of_pocket", "金额"),
    (HEADER + "e1,m1,hospital,2023-01-05,100\ne2,m1,hospital,2023-01-05,-5\n", 3,
     "out_of_pocket", "负数"),
    (HEADER + "e1,m1,hospital,2023-01-05,100.005\n", 2, "out_of_pocket", "两位小数"),
    (HEADER + "e1,m1,hospital,2023-01-05,100\ne1,m2,hospital,2023-01-06,100\n", 3,
     "event_id", "重复"),
    ("event_id,member_id,event_date\ne1,m1,2023-01-05\n", None, "benefit", "缺少必需的列"),
])
def test_bad_input_is_refused(tmp_path, capsys, events, row, column, words):
    code, out = calc(tmp_path, events)
    assert code != 0
    assert not out.exists()
    assert not list(tmp_path.glob(".out.csv*"))
    err = capsys.readouterr().err
    assert "events.csv" in err
    assert f"列 {column}" in err
    assert words in err
    if row is not None:
        assert f"第 {row} 行" in err


def test_bad_member_file(tmp_path, capsys):
    members = MEMBERS + "m3,1990-01-01,X,active\n"
    code, out = calc(tmp_path, EVENTS, members=members)
    assert code != 0 and not out.exists()
    err = capsys.readouterr().err
    assert "members.csv" in err and "第 4 行" in err and "列 gender" in err


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("member", ["m1", "m9"])
def test_a_duplicated_member_is_refused_even_when_no_event_names_it(
        tmp_path, capsys, fmt, member):
    """The keys are counted beside the computation, which succeeds when no event names
    the duplicated member (m9): the run must still fail and write nothing."""
    members = MEMBERS + f"{member},1970-01-01,M,active\n{member},1971-01-01,F,active\n"
    if fmt == "parquet":
        import duckdb

        write(tmp_path, "m.csv", members)
        duckdb.execute(f"COPY (FROM read_csv('{tmp_path / 'm.csv'}', all_varchar=true)) "
                       f"TO '{tmp_path / 'members.parquet'}' (FORMAT parquet)")
        members_arg = ["--members", str(tmp_path / "members.parquet")]
    else:
        members_arg = []
    code, out = calc(tmp_path, EVENTS, members=members, extra=members_arg)
    assert code != 0 and not out.exists()
    assert not list(tmp_path.glob(".out.csv*"))
    err = capsys.readouterr().err
    assert "members" in err and "列 member_id" in err and "重复" in err


def test_a_file_broken_past_the_sniffed_lines_is_refused_by_name(tmp_path, capsys):
    """DuckDB reads the first 20,480 lines to learn a CSV's shape; a broken line after
    them fails only the full scan, which now runs beside the key counts."""
    good = "".join(f"e{i},m1,hospital,2023-01-05,100\n" for i in range(25_000))
    code, out = calc(tmp_path, HEADER + good + 'eX,m1,hospital,2023-01-05,100,extra,"x\n')
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "events.csv，第 25002 行：该行有 7 个字段，表头有 5 个" in err


def test_existing_output_is_kept_on_error(tmp_path):
    (tmp_path / "out.csv").write_text("old", encoding="utf-8")
    code, out = calc(tmp_path, HEADER + "e1,m1,dental,2023-01-05,100\n")
    assert code != 0
    assert out.read_text(encoding="utf-8") == "old"


def test_policy_check_command(capsys):
    assert main(["policy", "check", "guangdong-covid-2020"]) == 0
    assert "医护疾控人员因公感染救助金" in capsys.readouterr().out


def test_cells_are_trimmed_of_spaces(tmp_path):
    """IDs and codes with spaces around them (as Excel leaves them) mean the same as
    without; a cell of spaces only is empty; and two IDs equal once trimmed are
    duplicates."""
    members = ("member_id,birth_date,gender,status\n m1 ,1980-05-01, M ,active \n"
               "m2,1990-01-01,F,active\n")
    events = (HEADER + " e1,m1 , hospital ,2023-01-05, 5000.30 \n"
              "e2 , m2,hospital,2023-02-01,10000.25\ne3,m2,hospital,2023-02-02,   \n")
    code, out = calc(tmp_path, events, members=members)
    assert code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["event_id"], r["member_id"], r["payable"], r["reason"]) for r in rows] == [
        ("e1", "m1", "75.00", ""), ("e2", "m2", "200.01", ""),
        ("e3", "m2", "0.00", "missing_field")]
    code, out = calc(tmp_path, HEADER + "e1,m1,hospital,2023-01-05,100\ne1 ,m2,hospital,"
                     "2023-01-06,100\n", out="dup.csv")
    assert code != 0 and not out.exists()


def test_progress_ends_with_totals_per_status_and_quiet_skips_them(tmp_path, capsys):
    """The per-status totals re-read the output: printed with progress, not computed
    when nobody would see them."""
    from huzhu.rules.batch import run_calc

    args = {"policy": "changchun-2023", "members": write(tmp_path, "members.csv", MEMBERS),
            "events": write(tmp_path, "events.csv", EVENTS)}
    loud = ["calc", *(x for k, v in args.items() for x in (f"--{k}", v)),
            "--out", str(tmp_path / "out.parquet")]
    assert main(loud) == 0
    assert "payable: 2 行，给付合计 275.01 元" in capsys.readouterr().err
    counts = run_calc(**args, out=str(tmp_path / "quiet.parquet"), totals=False)
    assert counts == {}
    assert (pq.read_table(tmp_path / "quiet.parquet").to_pylist()
            == pq.read_table(tmp_path / "out.parquet").to_pylist())
    assert {k: (n, str(t)) for k, (n, t) in run_calc(
        **args, out=str(tmp_path / "again.parquet")).items()} == {"payable": (2, "275.01")}


@pytest.mark.parametrize(("events", "line", "fields"), [
    # two rows, one field too many: DuckDB took row 2 for the header and reported the
    # real columns missing
    (HEADER + "e1,m1,hospital,2023-01-05,100\ne2,m1,hospital,2023-01-06,100,7\n", 3, 6),
    # one too few: "Error when sniffing file"
    (HEADER + "e1,m1,hospital,2023-01-05,100\ne2,m1,hospital,2023-01-06\n"
     "e3,m1,hospital,2023-01-06,5\n", 3, 4),
    # in a longer file
    (HEADER + "".join(f"e{i},m1,hospital,2023-01-05,100\n" for i in range(300))
     + "eX,m1,hospital,2023-01-05\n" + "eY,m1,hospital,2023-01-05,100\n", 302, 4),
])
def test_a_row_of_another_width_is_named(tmp_path, capsys, events, line, fields):
    code, out = calc(tmp_path, events)
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert f"events.csv，第 {line} 行：该行有 {fields} 个字段，表头有 5 个" in err
    assert "缺少必需的列" not in err and "sniffing" not in err


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_gbk_and_bom_files_are_read(tmp_path, encoding):
    """Excel saves CSV as GBK or as UTF-8 with a BOM; both read as the imports read
    them (a GBK file was refused with "CSV Error on Line: 2")."""
    (tmp_path / "members.csv").write_bytes(
        (MEMBERS.replace("status\n", "status,family_id\n").replace("active\n", "active,张家\n"))
        .encode(encoding))
    events = ("event_id,member_id,benefit,event_date,out_of_pocket,diagnosis\n"
              "e1,m1,hospital,2023-01-05,5000.30,肺炎\ne2,m2,hospital,2023-02-01,10000.25,"
              "骨折\n")
    (tmp_path / "events.csv").write_bytes(events.encode(encoding))
    code = main(["calc", "--policy", "changchun-2023", "--members",
                 str(tmp_path / "members.csv"), "--events", str(tmp_path / "events.csv"),
                 "--out", str(tmp_path / "out.csv"), "--quiet"])
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [(r["event_id"], r["payable"]) for r in rows] == [("e1", "75.00"), ("e2", "200.01")]


def test_a_file_neither_utf8_nor_gbk_is_refused_by_name(tmp_path, capsys):
    (tmp_path / "events.csv").write_bytes(
        HEADER.encode() + b"e1,m1,hospital,2023-01-05,\xff\xff\xff\n")
    code = main(["calc", "--policy", "changchun-2023", "--members",
                 write(tmp_path, "members.csv", MEMBERS), "--events", str(tmp_path / "events.csv"),
                 "--out", str(tmp_path / "out.csv"), "--quiet"])
    assert code == 2 and not (tmp_path / "out.csv").exists()
    assert "events.csv：文件编码无法识别：应为 UTF-8 或 GBK" in capsys.readouterr().err


@pytest.mark.parametrize("column", ["out_of_pocket", "loss_amount", "total_cost"])
def test_an_amount_of_ten_trillion_is_refused_by_name(tmp_path, capsys, column):
    """It died in DuckDB with a decimal overflow traceback and wrote nothing."""
    events = (f"event_id,member_id,benefit,event_date,{column}\n"
              f"e1,m1,hospital,2023-01-05,100\ne2,m1,hospital,2023-01-06,10000000000000.00\n")
    code, out = calc(tmp_path, events)
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert (f"events.csv，第 3 行，列 {column}：金额过大，应小于 10,000,000,000,000.00 元"
            f"（值：'10000000000000.00'）") in err


def test_the_largest_amount_accepted_computes_without_overflow(tmp_path):
    """9,999,999,999,999.99 times the top rate (bracket) and through every progressive
    band, and a prior payout as large, stay exact."""
    events = HEADER + "e1,m1,hospital,2023-01-05,9999999999999.99\n"
    code, out = calc(tmp_path, events)
    assert code == 0
    row = next(csv.DictReader(out.open(encoding="utf-8")))
    assert (row["raw_amount"], row["payable"]) == ("1000000000000.00", "50000.00")
    enrolments = write(tmp_path, "enrolments.csv", "member_id,period_start,period_end,"
                       "first_enrolled\nm1,2023-01-01,2023-12-31,2020-01-01\n")
    events = ("event_id,member_id,benefit,event_date,out_of_pocket,days\n"
              "e1,m1,hospital_aid,2023-01-05,9999999999999.99,\n"
              "e2,m1,hospital_allowance,2023-01-05,,36600\n")
    code, out = calc(tmp_path, events, "n.csv",
                     extra=["--policy", "ningshan-2024", "--enrolments", enrolments])
    assert code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    # 1,000 deductible; 50% of 10,000, 60% of 40,000, 70% of the rest
    assert [(r["raw_amount"], r["payable"]) for r in rows] == [
        ("6999999993299.99", "50000.00"), ("1463880.00", "7200.00")]
