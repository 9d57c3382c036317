"""The 计算过程 in sentences (huzhu.rules.explain): every step with its numbers, the
numbers adding up to what the engine paid, on every shipped policy and on a policy made
to hold every formula kind and cap."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from huzhu.rules import evaluate, evaluate_claim, load_policy, policy_from_dict
from huzhu.rules.explain import explain, progressive_split
from huzhu.rules.schema import BandsFormula
from huzhu.rules.synth import CATALOGUE, generate

D = dt.date
AMOUNT = r"([0-9][0-9,]*(?:\.[0-9]+)?) 元"
GROUPED = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})*\.[0-9]{2}$")
CODE = re.compile(r"[A-Za-z_]{2,}")
MEMBER = {"member_id": "1", "birth_date": D(1980, 1, 1), "gender": "F", "status": "active",
          "occupation": "medical", "family_id": "1"}
ENROLLED = [{"member_id": "1", "period_start": D(2024, 1, 1), "period_end": D(2024, 12, 31),
             "first_enrolled": D(2024, 1, 1)}]


def amounts(text: str) -> list[Decimal]:
    return [Decimal(a.replace(",", "")) for a in re.findall(AMOUNT, text)]


def check_words(sentences: list[str], row: dict[str, Any]) -> None:
    """What every explanation must satisfy, whatever the row."""
    text = "；".join(sentences)
    assert not CODE.search(text), text
    for found in re.findall(AMOUNT, text):
        assert GROUPED.match(found), (found, text)
    assert not re.search(r"[0-9]\.[0-9]{3,}", text), text  # a rate reads 60%, not 0.6000
    assert amounts(sentences[-1]) == [Decimal(str(row["payable"]))], text
    assert "按当时的政策" not in text, text  # the split agrees with the engine
    progressive = [s for s in sentences if s.startswith("分段累进：")]
    for s in progressive:
        found = amounts(s)
        slices = found[1::2] if len(found) % 2 == 0 else found[1:-1:2]
        total = found[-1]
        assert sum(slices) == total, s
        if row["reason"] != "waiting_period_reduced":
            assert total == Decimal(str(row["raw_amount"])), (s, row)
    for s in sentences:
        for part, rate, value in re.findall(r"([0-9,.]+) 元按 ([0-9.]+)% 计 ([0-9,.]+) 元", s):
            exact = Decimal(part.replace(",", "")) * Decimal(rate) / 100
            assert abs(exact - Decimal(value.replace(",", ""))) < Decimal("0.01"), s


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("explain")
    generate(members=400, events=4_000, seed=5, out=out)
    return out


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_row_of_every_shipped_policy_adds_up(synth: Path, name: str) -> None:
    policy = load_policy(name)
    events = pq.read_table(synth / f"events-{name}.parquet")
    rows = evaluate(policy, pq.read_table(synth / "members.parquet"), events,
                    pq.read_table(synth / "enrolments.parquet")).to_pylist()
    facts = {e["event_id"]: e for e in events.to_pylist()}
    statuses = set()
    for row in rows:
        sentences = explain(policy, row["benefit"], row, facts[row["event_id"]])
        check_words(sentences, row)
        if row["status"] == "ineligible":
            assert row["reason_message"] in sentences[-2]
        statuses.add(row["status"])
    assert statuses == {"payable", "capped", "ineligible"}


def test_the_issue_example_reads_as_a_clerk_computes_it() -> None:
    """Claim 36 of the issue: 12,800.50 out of pocket, ningshan's 1,000 deductible, then
    10,000 at 50% and 1,800.50 at 60% — not 12,800.50 × 60%."""
    policy = load_policy("ningshan-2024")
    event = {"event_id": "e", "member_id": "1", "benefit": "hospital_aid",
             "event_date": D(2024, 10, 1), "out_of_pocket": Decimal("12800.50")}
    row = evaluate_claim(policy, MEMBER, event, ENROLLED)
    kept = {k: (str(v) if v is not None and not isinstance(v, int) else v)
            for k, v in row.items()}  # as the claim keeps it (claims.computation.json_safe)
    assert explain(policy, "hospital_aid", kept, event) == [
        "个人自付 12,800.50 元，减免赔额 1,000.00 元，余 11,800.50 元",
        "分段累进：10,000.00 元按 50% 计 5,000.00 元，1,800.50 元按 60% 计 1,080.30 元，"
        "合计 6,080.30 元",
        "本人本互助期已给付 0.00 元，每人每互助期上限 50,000.00 元，尚余 50,000.00 元，本次未超过",
        "应付 6,080.30 元",
    ]
    # In the reduced phase of the waiting period the half is its own step.
    early = evaluate_claim(policy, MEMBER, {**event, "event_date": D(2024, 5, 1)}, ENROLLED)
    assert explain(policy, "hospital_aid", early, event)[2:] == [
        "处于等待期减额给付阶段（首次参保后 180 天内按 50% 给付），计 3,040.15 元",
        "本人本互助期已给付 0.00 元，每人每互助期上限 50,000.00 元，尚余 50,000.00 元，本次未超过",
        "应付 3,040.15 元",
    ]


def test_days_read_as_days_and_a_day_cap_says_what_was_used() -> None:
    policy = load_policy("ningshan-2024")
    event = {"event_id": "e", "member_id": "1", "benefit": "hospital_allowance",
             "event_date": D(2024, 6, 1), "days": 25}
    prior = [{"event_id": "p", "member_id": "1", "benefit": "hospital_allowance",
              "event_date": D(2024, 5, 1), "days": 200, "paid": Decimal("6800.00"),
              "days_paid": 170}]
    assert explain(policy, "hospital_allowance",
                   evaluate_claim(policy, MEMBER, event, ENROLLED), event) == [
        "住院 25 天，自第 4 天起给付，计 22 天",
        "22 天 × 每天 40.00 元，计 880.00 元",
        "本人本年已给付 0 天，每人每年最多 180 天，尚余 180 天，本次给付 22 天后尚余 158 天",
        "应付 880.00 元",
    ]
    assert explain(policy, "hospital_allowance",
                   evaluate_claim(policy, MEMBER, event, ENROLLED, prior), event)[2:] == [
        "本人本年已给付 170 天，每人每年最多 180 天，尚余 10 天，本次按 10 天给付："
        "10 天 × 每天 40.00 元，计 400.00 元",
        "应付 400.00 元",
    ]


def test_an_ineligible_row_states_the_reason_with_its_number() -> None:
    policy = load_policy("changchun-2023")
    event = {"event_id": "e", "member_id": "1", "benefit": "hospital",
             "event_date": D(2024, 6, 1), "out_of_pocket": Decimal("4800.00")}
    row = evaluate_claim(policy, MEMBER, event)
    assert explain(policy, "hospital", row, event) == [
        "个人自付 4,800.00 元",
        "不符合给付条件：未达到起付标准（起付标准 5,000.00 元）",
        "应付 0.00 元",
    ]
    old = {**MEMBER, "birth_date": D(1960, 1, 1)}
    row = evaluate_claim(policy, old, {**event, "out_of_pocket": Decimal("12000.00")})
    assert explain(policy, "hospital", row, event)[1] == \
        "不符合给付条件：年龄不在保障范围内（须 16 至 60 周岁）"


def test_a_bracket_band_pays_the_whole_amount_at_its_rate() -> None:
    policy = load_policy("changchun-2023")
    event = {"event_id": "e", "member_id": "1", "benefit": "hospital",
             "event_date": D(2024, 6, 1), "out_of_pocket": Decimal("152000.00")}
    prior = [{"event_id": "p", "member_id": "1", "benefit": "hospital",
              "event_date": D(2024, 2, 1), "out_of_pocket": Decimal("400000.00"),
              "paid": Decimal("40000.00")}]
    row = evaluate_claim(policy, MEMBER, event, [], prior)
    assert explain(policy, "hospital", row, event) == [
        "个人自付 152,000.00 元，超过起付标准 5,000.00 元，全额计算",
        "152,000.00 元在超过 150,000.00 元至 300,000.00 元（含）一档，全额按 8% 计 "
        "12,160.00 元",
        "本人本年已给付 40,000.00 元，每人每年上限 50,000.00 元，尚余 10,000.00 元，"
        "按剩余额度给付 10,000.00 元",
        "应付 10,000.00 元",
    ]


def test_accident_outcomes_and_the_per_event_cap() -> None:
    policy = load_policy("changchun-2023")
    base = {"event_id": "e", "member_id": "1", "benefit": "accident", "event_date": D(2024, 6, 1),
            "work_related": False}
    death = {**base, "outcome": "death"}
    assert explain(policy, "accident", evaluate_claim(policy, MEMBER, death), death) == [
        "身故，给付 20,000.00 元", "身故不受单次给付上限 5,000.00 元限制", "应付 20,000.00 元"]
    broken = {**base, "outcome": "fracture", "fracture_site": "major"}
    assert explain(policy, "accident", evaluate_claim(policy, MEMBER, broken), broken) == [
        "骨折（颅骨、脊椎、骨盆、股骨），给付 2,000.00 元", "未超过单次给付上限 5,000.00 元",
        "应付 2,000.00 元"]
    fire = {"event_id": "f", "member_id": "1", "benefit": "fire", "event_date": D(2024, 6, 1),
            "loss_amount": Decimal("123456.78"), "certificate_no": "长公消火认字1号"}
    assert explain(policy, "fire", evaluate_claim(policy, MEMBER, fire), fire) == [
        "核定损失 123,456.78 元，按 10% 计 12,345.68 元",
        "超过单次给付上限 10,000.00 元，按上限给付 10,000.00 元", "应付 10,000.00 元"]


# Every formula kind and cap the shipped policies do not hold: a bracket after a
# deductible, a grade table, a day allowance with its first day and most days and a
# reduced waiting phase, times caps above one, per-family money caps.
EVERY_KIND = {
    "code": "every-kind", "name": "各种公式", "benefits": [
        {"code": "bracket", "name": "档次", "base": "total_cost",
         "formula": {"kind": "bands", "mode": "bracket", "deductible": 300,
                     "bands": [{"above": 0, "upto": 1000, "rate": "10%"},
                               {"above": 1000, "rate": "12.5%"}]},
         "caps": [{"per": "member", "period": "lifetime", "amount": 2000},
                  {"per": "family", "period": "lifetime", "amount": 3000}]},
        {"code": "grades", "name": "伤残", "kind": "accident",
         "formula": {"kind": "grade_table", "grades": [{"grade": 1, "amount": 9000},
                                                       {"grade": 2, "amount": 7000}]},
         "caps": [{"per": "member", "period": "year", "times": 2}]},
        {"code": "allowance", "name": "津贴",
         "eligibility": {"enrolment": True,
                         "waiting": {"no_pay_days": 30, "reduced_days": 90,
                                     "reduced_rate": "33.33%"}},
         "formulas": [{"kind": "per_day", "amount": "35.55", "from_day": 2, "max_days": 10},
                      {"kind": "per_day", "amount": 50, "effective_from": "2024-07-01"}]},
        {"code": "halves", "name": "半", "base": "out_of_pocket",
         "formula": {"kind": "bands", "mode": "progressive",
                     "bands": [{"above": 0, "upto": "0.01", "rate": "50%"},
                               {"above": "0.01", "rate": "50%"}]}},
    ]}


def test_every_formula_kind_adds_up_with_the_engine() -> None:
    policy = policy_from_dict(EVERY_KIND)
    cases = [
        ("bracket", {"total_cost": Decimal("1800.50")}, [
            "医疗费总额 1,800.50 元，减免赔额 300.00 元，余 1,500.50 元",
            "1,500.50 元在超过 1,000.00 元一档，全额按 12.5% 计 187.56 元",
            "累计上限（每人终身 2,000.00 元、每个家庭终身 3,000.00 元）中最少尚余 2,000.00 元，"
            "本次未超过"]),
        ("grades", {"disability_grade": 2}, [
            "伤残 2 级，按伤残等级表给付 7,000.00 元", "每人每年限给付 2 次，本次在次数之内"]),
        ("allowance", {"days": 15, "event_date": D(2024, 3, 1)}, [
            "住院 15 天，自第 2 天起给付，每次最多 10 天，计 10 天",
            "10 天 × 每天 35.55 元，计 355.50 元",
            "处于等待期减额给付阶段（首次参保后 90 天内按 33.33% 给付），计 118.49 元"]),
        ("allowance", {"days": 15, "event_date": D(2024, 8, 1)}, [
            "住院 15 天", "15 天 × 每天 50.00 元，计 750.00 元"]),
        # Two half fen round to one fen, once: the slices still add up to it.
        ("halves", {"out_of_pocket": Decimal("0.02")}, [
            "个人自付 0.02 元",
            "分段累进：0.01 元按 50% 计 0.01 元，0.01 元按 50% 计 0.00 元，合计 0.01 元"]),
    ]
    for code, facts, want in cases:
        event = {"event_id": "e", "member_id": "1", "benefit": code,
                 "event_date": D(2024, 6, 1), **facts}
        row = evaluate_claim(policy, MEMBER, event, ENROLLED)
        got = explain(policy, code, row, event)
        assert got[:-1] == want, got
        check_words(got, row)


def test_slices_rounded_alone_would_not_add_up() -> None:
    formula = BandsFormula.model_validate(EVERY_KIND["benefits"][3]["formula"])
    slices, total = progressive_split(formula, Decimal("0.02"))
    assert [s.amount for s in slices] == [Decimal("0.01"), Decimal("0.00")]
    assert total == Decimal("0.01")


def test_a_row_the_policy_no_longer_gives_states_the_engines_amount_only() -> None:
    """A kept row whose amount the policy would not give today (the policy was changed):
    no split is invented; the engine's amount stands."""
    policy = load_policy("ningshan-2024")
    row = {"event_date": "2024-10-01", "status": "payable", "reason": "", "payable": "6000.00",
           "base": "12800.50", "raw_amount": "6000.00", "cap_room": "50000.00"}
    got = explain(policy, "hospital_aid", row)
    assert got[0] == "按当时的政策计 6,000.00 元"
    assert got[-1] == "应付 6,000.00 元"


def test_a_row_kept_with_the_generic_reason_gets_its_number() -> None:
    """Claims computed before the engine wrote the numbers keep 年龄不在保障范围内 alone:
    the page still says the range, and the threshold that refused the amount."""
    policy = load_policy("changchun-2023")
    row = {"event_date": "2024-06-01", "status": "ineligible", "reason": "age_out_of_range",
           "reason_message": "年龄不在保障范围内", "payable": "0.00", "base": "12000.00"}
    assert explain(policy, "hospital", row)[1] == \
        "不符合给付条件：年龄不在保障范围内（须 16 至 60 周岁）"
    row = {**row, "reason": "below_threshold", "reason_message": "未达到起付标准",
           "base": "5000.00"}
    assert explain(policy, "hospital", row)[1] == \
        "不符合给付条件：未达到起付标准（起付标准 5,000.00 元）"
    ningshan = load_policy("ningshan-2024")
    row = {**row, "reason": "below_min_days", "reason_message": "", "base": "3"}
    assert explain(ningshan, "hospital_allowance", row)[:2] == [
        "住院 3 天", "不符合给付条件：住院天数未达到给付起始天数（自住院第 4 天起给付）"]


def test_a_day_capped_row_the_policy_no_longer_gives_states_days_not_money() -> None:
    policy = load_policy("ningshan-2024")
    row = {"event_date": "2024-06-01", "status": "capped", "reason": "days_per_year",
           "cap": "days_per_year", "payable": "300.00", "base": "25", "raw_amount": "660.00",
           "days_paid": 10, "days_left": 0}
    assert explain(policy, "hospital_allowance", row) == [
        "按当时的政策计 660.00 元",
        "本人本年已给付 170 天，每人每年最多 180 天，尚余 10 天，本次按 10 天给付",
        "应付 300.00 元"]
