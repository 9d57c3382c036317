"""``huzhu simulate`` and the reforms API: two policies over the same events.

The figures are checked against two independent ``huzhu calc`` runs (one per policy),
summed here in plain Python; a reform identical to its base must report no change.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huzhu.cli import main
from huzhu.rules import (
    PolicyError,
    describe_changes,
    load_policy,
    load_reform,
    shipped_reform_names,
    simulate,
)
from huzhu.rules.synth import generate

REFORMS = {"changchun-2023": "changchun-2023-reform",
           "ningshan-2024": "ningshan-2024-allowance-50",
           "guangdong-covid-2020": "guangdong-covid-2020-relatives"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("simulate")
    generate(members=3_000, events=24_000, seed=5, out=out)
    return out


def test_every_sample_reform_is_shipped_and_loads() -> None:
    assert set(shipped_reform_names()) == set(REFORMS.values())
    for base, reform in REFORMS.items():
        assert load_policy(reform).code == reform
        assert load_reform(reform, base=load_policy(base)).content_hash == \
            load_policy(reform).content_hash


def _calc(data: Path, tmp: Path, policy: str, events: Path, enrol: bool) -> dict[str, dict]:
    out = tmp / f"{policy}.csv"
    args = ["calc", "--policy", policy, "--members", str(data / "members.parquet"),
            "--events", str(events), "--out", str(out), "--quiet"]
    if enrol:
        args += ["--enrolments", str(data / "enrolments.parquet")]
    assert main(args) == 0
    return {r["event_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}


@pytest.mark.parametrize("base", sorted(REFORMS))
def test_difference_is_the_sum_of_two_calc_runs(data, tmp_path, capsys, base) -> None:
    reform = REFORMS[base]
    events = data / f"events-{base}.parquet"
    enrol = base != "guangdong-covid-2020"
    a = _calc(data, tmp_path, base, events, enrol)
    b = _calc(data, tmp_path, reform, events, enrol)
    assert a.keys() == b.keys()
    out = tmp_path / "report.xlsx"
    args = ["simulate", "--policy", base, "--reform", reform,
            "--members", str(data / "members.parquet"), "--events", str(events),
            "--out", str(out), "--json"]
    if enrol:
        args += ["--enrolments", str(data / "enrolments.parquet")]
    capsys.readouterr()
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)

    diff = {e: Decimal(b[e]["payable"]) - Decimal(a[e]["payable"]) for e in a}
    base_total = sum(Decimal(r["payable"]) for r in a.values())
    reform_total = sum(Decimal(r["payable"]) for r in b.values())
    assert report["base_total"] == f"{base_total:.2f}"
    assert report["reform_total"] == f"{reform_total:.2f}"
    assert report["difference"] == f"{sum(diff.values()):.2f}"
    assert Decimal(report["difference"]) != 0  # the sample reform changes something
    per_member: dict[str, Decimal] = defaultdict(Decimal)
    for e, d in diff.items():
        per_member[a[e]["member_id"]] += d
    assert (report["members_paid_more"], report["members_paid_less"],
            report["members_unchanged"]) == (
        sum(d > 0 for d in per_member.values()), sum(d < 0 for d in per_member.values()),
        sum(d == 0 for d in per_member.values()))
    per_benefit: dict[str, Decimal] = defaultdict(Decimal)
    for e, d in diff.items():
        per_benefit[a[e]["benefit"]] += d
    assert {r["key"]: Decimal(r["difference"]) for r in report["by_benefit"]} == per_benefit
    # The members file of synth has a union column: per-union totals add up.
    assert sum(Decimal(r["difference"]) for r in report["by_union"]) == sum(diff.values())
    biggest = max(abs(d) for d in diff.values())
    assert abs(Decimal(report["largest"][0]["difference"])) == biggest

    book = openpyxl.load_workbook(out)
    assert {"方案变化", "总体", "按项目", "按档次", "按月份", "按工会", "图表"} <= set(
        book.sheetnames)
    summary = book["总体"]
    assert round(summary["D2"].value, 2) == float(sum(diff.values()))
    cells = {r[0]: r[1:] for r in summary.iter_rows(min_row=3, values_only=True)}
    assert cells["事件数"] == (len(a), len(a), None)
    assert cells["多付的会员"] == (None, None, report["members_paid_more"])
    assert cells["不变的会员"] == (None, None, report["members_unchanged"])


def test_a_reform_identical_to_its_base_reports_no_change(data, tmp_path, capsys) -> None:
    same = tmp_path / "same.yaml"
    same.write_text("reform_of: changchun-2023\ncode: same\nchanges: []\n", encoding="utf-8")
    base = load_policy("changchun-2023")
    assert describe_changes(base, load_reform(same)) == []
    events = data / "events-changchun-2023.parquet"
    args = ["simulate", "--policy", "changchun-2023", "--reform", str(same), "--members",
            str(data / "members.parquet"), "--events", str(events),
            "--out", str(tmp_path / "r.xlsx"), "--json"]
    capsys.readouterr()
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["difference"] == "0.00"
    assert report["changes"] == [] and report["largest"] == []
    assert report["base_total"] == report["reform_total"] != "0.00"
    assert report["members_paid_more"] == report["members_paid_less"] == 0
    assert report["members_unchanged"] == report["members"] > 0


def test_the_printed_table_names_the_changes(data, tmp_path, capsys) -> None:
    args = ["simulate", "--policy", "changchun-2023", "--reform", "changchun-2023-reform",
            "--members", str(data / "members.parquet"),
            "--events", str(data / "events-changchun-2023.parquet"),
            "--out", str(tmp_path / "r.xlsx")]
    capsys.readouterr()
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "第 7 档（超过 300,000.00 元） · 比例" in text and "12%" in text
    assert "起付标准" in text and "按工会" in text and "变化最大的 20 个事件" in text
    # Tiers by their Chinese names (not `accident death`), member counts on rows of their own.
    assert "非工伤意外伤害补贴 · 身故" in text and "accident death" not in text
    assert "fracture:major" not in text
    assert "多付的会员（人）" in text and "多付 / 少付" not in text


def test_describe_changes_parameter_by_parameter() -> None:
    base = load_policy("changchun-2023")
    reform = load_policy("changchun-2023-reform")
    got = {c.path: (c.before, c.after) for c in describe_changes(base, reform)}
    assert got == {
        "benefits[hospital].formula.threshold": ("5000.00 元", "3000.00 元"),
        "benefits[hospital].formula.bands[0].above": ("5000.00 元", "3000.00 元"),
        "benefits[hospital].formula.bands[6].rate": ("10%", "12%"),
        "benefits[hospital].caps[cap_per_year].amount": ("50000.00 元", "60000.00 元"),
        "benefits[accident].formula.death": ("20000.00 元", "30000.00 元"),
    }
    back = {c.path for c in describe_changes(reform, base)}
    assert back == set(got)
    removed = load_policy("guangdong-covid-2020").model_copy(update={"benefits": [
        load_policy("guangdong-covid-2020").benefit("covid_staff")]})
    [change] = describe_changes(load_policy("guangdong-covid-2020"), removed)
    assert change.path == "benefits[covid_relative]" and change.after == "删除该项目"


def test_overlay_errors_name_the_reform_file_and_change(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("reform_of: changchun-2023\nchanges:\n  - set: benefits[dental].caps[0]\n"
                   "    to: 1\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_reform(bad)
    [(file, path, message)] = info.value.errors
    assert (file, path) == (str(bad), "changes[0]") and "dental" in message
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("reform_of: changchun-2023\nchanges:\n"
                       "  - set: benefits[hospital].formula.bands[1].rate\n    to: 2\n",
                       encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_reform(invalid)
    assert info.value.errors[0][:2] == (str(invalid), "benefits[0].formula.bands[1].rate")
    with pytest.raises(PolicyError) as info:
        load_reform("changchun-2023-reform", base=load_policy("ningshan-2024"))
    assert info.value.errors[0][1] == "reform_of"


MEMBER = {"member_id": "m1", "birth_date": dt.date(1980, 5, 1), "gender": "M",
          "status": "active"}
ENROL = [{"member_id": "m1", "period_start": dt.date(2024, 1, 1),
          "period_end": dt.date(2024, 12, 31), "first_enrolled": dt.date(2023, 1, 1)}]


def _stay(eid: str, day: dt.date, days: int) -> dict:
    return {"event_id": eid, "member_id": "m1", "benefit": "hospital_allowance",
            "event_date": day, "days": days}


def test_a_rate_change_mid_year_under_a_day_cap() -> None:
    """40 a day until June, 50 from July, 180 days a year. Worked by hand: the first stay
    pays 100 days (40 × 100 = 4,000 under both); the second has 80 days left: 3,200 at
    40, 4,000 at 50. A money cap of 180 × 40 would have stopped the reform at 7,200."""
    events = pa.Table.from_pylist([_stay("d1", dt.date(2024, 5, 1), 103),
                                   _stay("d2", dt.date(2024, 8, 1), 103)])
    report = simulate(load_policy("ningshan-2024"), load_policy("ningshan-2024-allowance-50"),
                      pa.Table.from_pylist([MEMBER]), events, pa.Table.from_pylist(ENROL))
    assert (report.base_total, report.reform_total, report.difference) == (
        Decimal("7200.00"), Decimal("8000.00"), Decimal("800.00"))
    [change] = report.largest
    assert change.event_id == "d2"
    assert (change.base["days_paid"], change.reform["days_paid"]) == (80, 80)
    assert report.by_union is None


def test_a_reform_that_adds_a_benefit() -> None:
    """Events of a benefit only the reform has are benefit_not_in_policy under the base."""
    extra = {"code": "allowance", "name": "慰问金", "formula": {"kind": "lump_sum",
                                                               "amount": 300}}
    base = load_policy("changchun-2023")
    data = base.model_dump(mode="python", exclude_none=True)
    data["benefits"].append(extra)
    from huzhu.rules import policy_from_dict

    reform = policy_from_dict({**data, "code": "with-allowance"})
    events = pa.Table.from_pylist([{"event_id": "x", "member_id": "m1", "benefit": "allowance",
                                    "event_date": dt.date(2023, 3, 1)}])
    report = simulate(base, reform, pa.Table.from_pylist([{**MEMBER, "union": "朝阳区总工会"}]),
                      events)
    assert report.difference == Decimal("300.00")
    [change] = report.largest
    assert change.base["reason"] == "benefit_not_in_policy"
    assert change.base["reason_message"] == "本方案没有该保障项目"
    assert [(r.key, r.difference) for r in report.by_union] == [("朝阳区总工会",
                                                                 Decimal("300.00"))]
    assert [c.after.startswith("新增该项目") for c in report.changes] == [True]


def test_json_has_the_documented_keys_as_strings(data) -> None:
    members = pq.read_table(data / "members.parquet")
    events = pq.read_table(data / "events-changchun-2023.parquet").slice(0, 2000)
    report = simulate(load_policy("changchun-2023"), load_policy("changchun-2023-reform"),
                      members, events)
    payload = json.loads(report.to_json())
    for key in ("base_total", "reform_total", "difference"):
        assert isinstance(payload[key], str) and payload[key].split(".")[1].__len__() == 2
    for key in ("members_paid_more", "members_paid_less", "members_unchanged"):
        assert isinstance(payload[key], int)
