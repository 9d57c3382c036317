"""``huzhu synth``: deterministic, realistic, and exactly the calc input contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from huzhu.cli import main
from huzhu.rules import load_policy
from huzhu.rules.columns import arrow_schema
from huzhu.rules.synth import AS_OF, CATALOGUE, decimal_from_cents, generate

MEMBERS, EVENTS = 5_000, 40_000


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(members=MEMBERS, events=EVENTS, seed=7, out=out)
    return out


def sql(query: str, data: Path) -> list[tuple]:
    con = duckdb.connect()
    for name in ("members", "events", "enrolments"):
        con.execute(f"create view {name} as select * from read_parquet('{data / name}.parquet')")
    return con.execute(query).fetchall()


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    for run in ("a", "b", "c"):
        generate(members=300, events=2_000, seed=3 if run != "c" else 4, out=tmp_path / run)
    for name in ("members", "enrolments", "events", "events-changchun-2023"):
        a = (tmp_path / "a" / f"{name}.parquet").read_bytes()
        b = (tmp_path / "b" / f"{name}.parquet").read_bytes()
        assert a == b, name
    assert not pq.read_table(tmp_path / "a" / "events.parquet").equals(
        pq.read_table(tmp_path / "c" / "events.parquet")
    )


def test_files_have_the_schemas_of_the_input_contract(data: Path) -> None:
    # Every column the engine reads, in contract order and with its contract type; the
    # extra columns (union, policy) come after.
    assert pq.read_schema(data / "members.parquet") == arrow_schema(
        "members", extra=[("union", pa.string())])
    assert pq.read_schema(data / "enrolments.parquet") == arrow_schema("enrolments")
    assert pq.read_schema(data / "events.parquet") == arrow_schema(
        "events", extra=[("policy", pa.string())])
    assert pq.read_schema(data / "events-changchun-2023.parquet") == arrow_schema("events")


def test_every_benefit_of_every_shipped_policy_has_events(data: Path) -> None:
    rows = sql("select policy, benefit, count(*) from events group by all", data)
    seen: dict[str, set[str]] = {}
    for policy, benefit, count in rows:
        assert count > 0
        seen.setdefault(policy, set()).add(benefit)
    assert set(seen) == set(CATALOGUE)
    for name, benefits in seen.items():
        assert benefits == set(load_policy(name).benefit_codes), name


def test_per_policy_files_partition_the_events(data: Path) -> None:
    total = 0
    for name in CATALOGUE:
        part = pq.read_table(data / f"events-{name}.parquet")
        assert "policy" not in part.column_names
        assert set(part.column("benefit").to_pylist()) <= set(load_policy(name).benefit_codes)
        total += part.num_rows
    assert total == EVENTS


def test_members_ages_statuses_occupations_families(data: Path) -> None:
    members = pq.read_table(data / "members.parquet").to_pylist()
    assert len(members) == MEMBERS
    ages = [_age(m["birth_date"], AS_OF) for m in members]
    assert min(ages) == 18 and max(ages) == 65
    status = [m["status"] for m in members]
    retired = status.count("retired") / MEMBERS
    assert 0.01 <= retired <= 0.10
    assert 0.005 <= status.count("left") / MEMBERS <= 0.06
    assert all(_age(m["birth_date"], AS_OF) >= 50 for m in members if m["status"] == "retired")
    occupations = {m["occupation"] for m in members}
    assert occupations == {"medical", "cdc", "other"}
    assert {m["gender"] for m in members} == {"M", "F"}
    families = [m["family_id"] for m in members]
    assert len(set(families)) < MEMBERS  # some couples share a family
    assert len({m["member_id"] for m in members}) == MEMBERS


def test_money_is_decimal_18_2_and_lognormal(data: Path) -> None:
    events = pq.read_table(data / "events.parquet")
    for column in ("out_of_pocket", "total_cost", "loss_amount"):
        assert events.schema.field(column).type == pa.decimal128(18, 2)
    # Each amount is exactly some whole number of fen: Decimal values with two places.
    oop = [v for v in events.column("out_of_pocket").to_pylist() if v is not None]
    assert all(isinstance(v, Decimal) and v.as_tuple().exponent == -2 for v in oop[:1000])
    assert all(v > 0 for v in oop)
    logs = np.log([float(v) for v in oop])  # float only to look at the shape
    median, mean = np.median(oop), sum(oop) / len(oop)
    assert mean > median  # right-skewed, as hospital costs are
    assert abs(np.mean(logs) - np.median(logs)) < 0.3  # roughly symmetric in log space
    over = sql("select count(*) from events where out_of_pocket > total_cost", data)
    assert over == [(0,)]


def test_changchun_hospital_costs_hit_every_band(data: Path) -> None:
    policy = load_policy("changchun-2023")
    formula = policy.benefit("hospital").versions[0]
    costs = [
        r[0]
        for r in sql(
            "select out_of_pocket from events "
            "where policy = 'changchun-2023' and benefit = 'hospital'",
            data,
        )
    ]
    assert any(c <= formula.threshold for c in costs)
    for band in formula.bands:
        hits = sum(1 for c in costs if band.contains(c))
        assert hits > 0, band.label


def test_event_facts_per_kind(data: Path) -> None:
    def one(query: str):
        return sql(query, data)[0]

    lo, hi = one("select min(event_date), max(event_date) from events")
    assert lo >= dt.date(2020, 1, 1) and hi <= dt.date(2024, 12, 31)
    outcomes = {r[0] for r in sql("select distinct outcome from events where benefit = "
                                  "'accident'", data)}  # fmt: skip
    assert outcomes == {"death", "disability", "fracture", "none"}
    grades = {r[0] for r in sql("select distinct disability_grade from events "
                                "where outcome = 'disability'", data)}  # fmt: skip
    assert grades == set(range(1, 11))
    sites = {r[0] for r in sql("select distinct fracture_site from events "
                               "where outcome = 'fracture'", data)}  # fmt: skip
    assert sites == {"major", "other"}
    assert one("select bool_or(work_related), bool_or(not work_related) from events "
               "where benefit = 'accident'") == (True, True)  # fmt: skip
    fires, missing = one("select count(*), count(*) - count(certificate_no) from events "
                         "where benefit = 'fire'")  # fmt: skip
    assert 0 < missing < fires * 0.15
    assert one("select count(*) from events where benefit = 'critical_illness' "
               "and diagnosis = 'U07.1'")[0] > 0  # fmt: skip
    assert one("select count(*) from events where benefit = 'hospital_allowance' "
               "and days >= 4 and admit_date = event_date - days::int")[0] > 0  # fmt: skip
    # COVID claims sit around the campaign window, including its last days.
    assert one("select count(*) from events where benefit like 'covid%' "
               "and event_date in ('2020-12-30', '2020-12-31')")[0] > 0  # fmt: skip
    assert one("select bool_or(on_duty), bool_or(not on_duty) from events "
               "where benefit = 'covid_staff'") == (True, True)  # fmt: skip


def test_covid_relatives_reach_the_family_cap_and_repeat(data: Path) -> None:
    per_staff = sql(
        "select member_id, count(*) n, count(distinct relative_id) d from events "
        "where benefit = 'covid_relative' group by member_id",
        data,
    )
    assert max(n for _m, n, _d in per_staff) >= 5
    assert any(d < n for _m, n, d in per_staff)  # a relative claimed twice
    staff = sql(
        "select count(*) from events e join members m using (member_id) "
        "where benefit = 'covid_relative' and occupation in ('medical', 'cdc')",
        data,
    )[0][0]
    total = sql("select count(*) from events where benefit = 'covid_relative'", data)[0][0]
    assert staff == total
    relations = {r[0] for r in sql("select distinct relation from events "
                                   "where benefit = 'covid_relative'", data)}  # fmt: skip
    assert {"parent", "spouse", "child"} <= relations


def test_female_special_goes_almost_only_to_women(data: Path) -> None:
    women, total = sql(
        "select count(*) filter (where gender = 'F'), count(*) from events "
        "join members using (member_id) where benefit = 'female_special'",
        data,
    )[0]
    assert total > 0 and women / total > 0.9


def test_enrolments_are_year_periods_after_first_enrolment(data: Path) -> None:
    rows = sql(
        "select min(period_start), max(period_end), bool_and(period_start >= first_enrolled),"
        " bool_and(month(period_end) = 12 and day(period_end) = 31),"
        " bool_and(year(period_start) = year(period_end)),"
        " count(distinct member_id) from enrolments",
        data,
    )[0]
    assert rows[0] >= dt.date(2019, 1, 1) and rows[1] == dt.date(2024, 12, 31)
    assert rows[2] and rows[3] and rows[4]
    assert 0.5 * MEMBERS < rows[5] < 0.9 * MEMBERS
    recent = sql("select count(*) from enrolments where first_enrolled >= '2024-01-01'", data)
    assert recent[0][0] > 0  # newly enrolled members meet their waiting periods


def test_decimal_from_cents_is_exact() -> None:
    cents = np.array([0, 1, -1, 500_030, 10**17 - 1], dtype=np.int64)
    valid = np.array([True, True, True, True, False])
    values = decimal_from_cents(cents, valid).to_pylist()
    assert values == [Decimal("0.00"), Decimal("0.01"), Decimal("-0.01"), Decimal("5000.30"), None]


def test_cli_single_policy_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cc"
    code = main(["synth", "--members", "200", "--events", "1000", "--seed", "1",
                 "--out", str(out), "--policy", "changchun-2023"])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "enrolments.parquet", "events.parquet", "members.parquet",
    ]  # fmt: skip
    events = pq.read_table(out / "events.parquet")
    assert "policy" not in events.column_names
    assert set(events.column("benefit").to_pylist()) == {"hospital", "accident", "fire"}
    assert "事件 1,000 条" in capsys.readouterr().err

    code = main(["synth", "--members", "10", "--events", "10", "--out", str(tmp_path / "x"),
                 "--policy", "nowhere-2099"])  # fmt: skip
    assert code == 2
    assert "未知的政策 nowhere-2099" in capsys.readouterr().err
    assert not (tmp_path / "x" / "events.parquet").exists()


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
