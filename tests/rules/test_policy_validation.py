"""Policy files: validation errors name the file, the YAML path and the problem."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import yaml

from huzhu.rules import PolicyError, load_policy, policy_from_dict, shipped_policy_names
from huzhu.rules.columns import EVENT_COLUMNS
from huzhu.rules.loader import _DecimalLoader, resolve_policy_path


def changchun() -> dict:
    path = resolve_policy_path("changchun-2023")
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_DecimalLoader)


def errors_of(data: dict) -> list[tuple[str, str, str]]:
    with pytest.raises(PolicyError) as info:
        policy_from_dict(data, source="test.yaml")
    return info.value.errors


def test_all_shipped_policies_load():
    assert set(shipped_policy_names()) >= {"changchun-2023", "guangdong-covid-2020",
                                           "ningshan-2024", "yongding-2020"}
    for name in shipped_policy_names():
        assert load_policy(name).benefits


def test_rates_are_exact_decimals():
    bands = load_policy("changchun-2023").benefit("hospital").formula.bands
    assert [b.rate for b in bands][:2] == [Decimal("0.0150"), Decimal("0.0200")]
    assert bands[-1].upto is None and bands[-1].label == "(300000,+∞)"


def test_overlapping_bands_named_by_row():
    data = changchun()
    data["benefits"][0]["formula"]["bands"][2]["above"] = 15000
    [(file, path, message)] = errors_of(data)
    assert file == "test.yaml"
    assert path == "benefits[0].formula.bands"
    assert "第 2 档" in message and "第 3 档" in message and "重叠" in message


def test_gap_between_bands():
    data = changchun()
    data["benefits"][0]["formula"]["bands"][1]["upto"] = 19000
    [(_, _, message)] = errors_of(data)
    assert "空档" in message


def test_unknown_key_with_its_path():
    data = changchun()
    data["benefits"][2]["eligibility"]["colour"] = "red"
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[2].eligibility.colour"
    assert "未知的键" in message


def test_cap_without_period():
    data = changchun()
    data["benefits"][0]["caps"] = [{"per": "member", "amount": 50000}]
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[0].caps[0]"
    assert "period" in message


def test_unknown_base_and_formula_kind():
    data = changchun()
    data["benefits"][0]["base"] = "salary"
    data["benefits"][2]["formula"]["kind"] = "magic"
    paths = {path for _, path, _ in errors_of(data)}
    assert paths == {"benefits[0].base", "benefits[2].formula.kind"}


def test_grade_table_with_gap():
    data = changchun()
    disability = data["benefits"][1]["formula"]["disability"]
    del disability[4]  # grade 5
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[1].formula.disability"
    assert "缺少等级 5" in message


def test_wrong_type_and_too_many_decimals():
    data = changchun()
    data["benefits"][0]["formula"]["threshold"] = "five thousand"
    data["benefits"][2]["caps"][0]["amount"] = Decimal("10000.005")
    paths = {path for _, path, _ in errors_of(data)}
    assert paths == {"benefits[0].formula.threshold", "benefits[2].caps[0].amount"}


def test_waiting_period_refused_on_accidents():
    data = copy.deepcopy(changchun())
    data["benefits"][1]["eligibility"].update(
        enrolment=True, waiting={"no_pay_days": 30})
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[1]"
    assert "意外不设等待期" in message


def test_yaml_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("code: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(PolicyError):
        load_policy("no-such-policy")


@pytest.mark.parametrize(("first", "second"), [
    ({"per": "member", "period": "year", "amount": 50000},
     {"per": "member", "period": "period", "amount": 30000}),
    ({"per": "relative", "period": "lifetime", "times": 1},
     {"per": "member", "period": "lifetime", "amount": 20000}),
    ({"per": "family", "period": "year", "amount": 80000},
     {"per": "member", "period": "period", "amount": 30000}),
])
def test_caps_that_do_not_nest_are_refused(first, second):
    """Year vs period or member vs relative: no order of running sums pays what was
    really left under both, so such a benefit is refused with the caps it names."""
    data = changchun()
    data["benefits"][0]["eligibility"] = {"enrolment": True}
    data["benefits"][0]["caps"] = [{"per": "event", "amount": 9000}, first, second]
    [(source, path, message)] = errors_of(data)
    assert (source, path) == ("test.yaml", "benefits[0].caps")
    assert "caps[1]" in message and "caps[2]" in message and "互不包含" in message


def test_nested_caps_load_in_any_written_order():
    data = changchun()
    data["benefits"][0]["caps"] = [
        {"per": "family", "period": "lifetime", "amount": 90000},
        {"per": "member", "period": "lifetime", "times": 3},
        {"per": "event", "amount": 9000},
        {"per": "member", "period": "year", "amount": 50000},
    ]
    caps = policy_from_dict(data).benefits[0].caps
    assert [c.cap_code for c in caps] == ["cap_per_family", "times_per_person", "cap_per_event",
                                         "cap_per_year"]


def test_unless_outcome_only_on_per_event_caps():
    data = changchun()
    data["benefits"][1]["caps"] = [
        {"per": "member", "period": "year", "amount": 5000, "unless_outcome": ["death"]}]
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[1].caps[0].unless_outcome"
    assert "per: event" in message
    with pytest.raises(PolicyError) as info:
        policy_from_dict(data, source="test.yaml")
    assert "benefits[1].caps[0].unless_outcome" in str(info.value)


def test_waiting_period_needs_enrolment():
    data = changchun()
    data["benefits"][0]["eligibility"]["waiting"] = {"no_pay_days": 30}
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[0].eligibility.waiting"
    assert "enrolment: true" in message
    with pytest.raises(PolicyError) as info:
        policy_from_dict(data, source="test.yaml")
    assert "benefits[0].eligibility.waiting" in str(info.value)


def test_prerequisite_must_name_another_benefit_of_the_policy():
    data = changchun()
    data["benefits"][2]["eligibility"]["requires"] = {"benefit": "dental"}
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[2].eligibility.requires.benefit"
    assert "dental" in message and "hospital" in message
    data["benefits"][2]["eligibility"]["requires"] = {"benefit": "fire"}
    [(_, path, _)] = errors_of(data)
    assert path == "benefits[2].eligibility.requires.benefit"
    data["benefits"][2]["eligibility"]["requires"] = {"benefit": "hospital"}
    assert policy_from_dict(data).benefits[2].eligibility.requires.benefit == "hospital"


def per_day_benefit(caps: list[dict]) -> dict:
    return {"code": "policy", "name": "天数", "benefits": [
        {"code": "stay", "name": "住院津贴", "formula": {"kind": "per_day", "amount": 40},
         "caps": caps}]}


def test_day_caps_are_written_like_count_caps():
    caps = policy_from_dict(per_day_benefit([
        {"per": "member", "period": "year", "days": 180},
        {"per": "member", "period": "lifetime", "days": 1000}])).benefits[0].caps
    assert [(c.cap_code, c.measure, c.limit) for c in caps] == [
        ("days_per_year", "days", 180), ("days_lifetime", "days", 1000)]


@pytest.mark.parametrize(("caps", "where", "words"), [
    ([{"per": "event", "days": 30}], "benefits[0].caps[0].days", "max_days"),
    ([{"per": "member", "period": "year", "days": 180},
      {"per": "event", "amount": 500}], "benefits[0].caps[1]", "天数"),
    ([{"per": "member", "period": "year", "days": 180, "amount": 500}], "benefits[0].caps[0]",
     "之一"),
])
def test_day_caps_that_cannot_be_exact_are_refused(caps, where, words):
    [(_, path, message)] = errors_of(per_day_benefit(caps))
    assert path == where and words in message


def test_day_caps_need_a_per_day_formula():
    data = changchun()
    data["benefits"][0]["caps"] = [{"per": "member", "period": "year", "days": 180}]
    [(_, path, message)] = errors_of(data)
    assert path == "benefits[0].caps[0].days" and "per_day" in message


def test_source_and_illustrative_are_schema_fields():
    policy = load_policy("ningshan-2024")
    allowance = policy.benefit("hospital_allowance")
    assert allowance.caps[0].source.startswith("系统设计文档")
    assert allowance.eligibility.waiting.illustrative is True
    assert policy.benefit("critical_illness").formula.illustrative is False
    data = changchun()
    data["benefits"][0]["formula"]["illustrative"] = "maybe"
    [(_, path, _)] = errors_of(data)
    assert path == "benefits[0].formula.illustrative"


def test_content_hash_follows_content_not_layout(tmp_path):
    text = resolve_policy_path("changchun-2023").read_text(encoding="utf-8")
    same = tmp_path / "same.yaml"
    same.write_text("# a comment\n" + text.replace("version: \"2023.1\"",
                                                  "version:   \"2023.1\""), encoding="utf-8")
    base = load_policy("changchun-2023")
    assert load_policy(same).content_hash == base.content_hash
    assert len(base.content_hash) == 64
    data = changchun()
    data["benefits"][0]["caps"][0]["amount"] = 60000
    assert policy_from_dict(data).content_hash != base.content_hash


def test_coded_values_and_event_fields_are_the_input_contract():
    # A policy names relations, statuses … and event fields as the input columns allow
    # them (one definition, huzhu.rules.columns); the messages list them in that order.
    data = yaml.load(resolve_policy_path("guangdong-covid-2020").read_text(encoding="utf-8"),
                     Loader=_DecimalLoader)
    relative = next(b for b in data["benefits"] if b["code"] == "covid_relative")
    relative["eligibility"]["relation"] = ["cousin"]
    relative["eligibility"]["required"] = ["phone"]
    relation, required = errors_of(data)
    events = {c.name: c for c in EVENT_COLUMNS}
    assert relation[1] == "benefits[1].eligibility.relation[0]"
    assert relation[2] == ("取值 'cousin' 无效，应为 'self', 'parent', 'spouse', 'child' or "
                           "'other'")
    assert events["relation"].choices == ("self", "parent", "spouse", "child", "other")
    assert required[1] == "benefits[1].eligibility.required[0]"
    optional = [c.name for c in EVENT_COLUMNS if not c.required]
    assert required[2] == (f"取值 'phone' 无效，应为 {', '.join(map(repr, optional[:-1]))} or "
                           f"{optional[-1]!r}")
