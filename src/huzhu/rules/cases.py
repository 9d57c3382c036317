"""Hand-worked cases beside each policy, as YAML, and a small pytest plugin for them.

A union's policy officer adds a case without writing Python, the way OpenFisca's YAML
tests work: ``src/huzhu/policies/cases/<policy>.yaml`` ::

    policy: changchun-2023
    defaults:                      # members / enrolments / prior used by every case
      members:
        - {member_id: m1, birth_date: 1980-05-01, gender: M, status: active}
    cases:
      - name: 住院：个人支付刚好5000元不给付（超过才给）
        events:
          - {event_id: e1, member_id: m1, benefit: hospital, event_date: 2023-06-01,
             out_of_pocket: 5000.00}
        expect:
          - {event_id: e1, status: ineligible, payable: 0.00, reason: below_threshold}

Keys of a case: ``name``, ``events``, ``expect`` (one row per event to check: any output
column of ``huzhu calc``; ``reason_message_contains`` checks part of the Chinese text),
and optionally ``members``, ``enrolments``, ``prior`` (else the file's ``defaults``),
``note``. A case that must be refused gives ``error:`` (part of the message) instead of
``expect``. Columns and values are those of the ``huzhu calc`` input files.

Every case is computed twice: as one batch, and one event at a time through
:func:`~huzhu.rules.evaluate_claim` with the earlier payouts passed as prior payouts (and
the later events of the same day as payouts of nothing, for prerequisites); both must
give the expected values. ``tests/rules/test_policy_cases.py`` runs every shipped case;
``pytest -p huzhu.rules.cases path/to/cases/`` runs case files anywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import yaml

from huzhu.rules.columns import MONEY, TABLES, arrow_schema
from huzhu.rules.engine import evaluate, evaluate_claim
from huzhu.rules.errors import InputError
from huzhu.rules.loader import _DecimalLoader, load_policy
from huzhu.rules.output import OUTPUT_TYPES
from huzhu.rules.schema import Policy

if TYPE_CHECKING:
    import pytest
    from _pytest._code.code import TerminalRepr

CASE_KEYS = {"name", "note", "members", "enrolments", "prior", "events", "expect", "error"}
CHECKED_TWICE = ("payable", "status", "reason")
"""Columns the one-at-a-time run must reproduce (the rest are compared on the batch)."""


def cases_dir() -> Path:
    return Path(str(resources.files("huzhu") / "policies" / "cases"))


@dataclass
class Case:
    file: Path
    policy_name: str
    name: str
    members: list[dict[str, Any]]
    events: list[dict[str, Any]]
    enrolments: list[dict[str, Any]] = field(default_factory=list)
    prior: list[dict[str, Any]] = field(default_factory=list)
    expect: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def id(self) -> str:
        return f"{self.policy_name}::{self.name}"


class CaseFileError(ValueError):
    """A case file is malformed (names the file and the case)."""


def load_cases(path: str | Path) -> list[Case]:
    path = Path(path)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_DecimalLoader)
    if not isinstance(data, dict) or "policy" not in data or "cases" not in data:
        raise CaseFileError(f"{path}: 需要 policy 与 cases 两个键")
    defaults = data.get("defaults") or {}
    out = []
    for i, raw in enumerate(data["cases"]):
        unknown = set(raw) - CASE_KEYS
        if unknown:
            raise CaseFileError(f"{path}: cases[{i}] 有未知的键 {sorted(unknown)}")
        if "name" not in raw or "events" not in raw or ("expect" in raw) == ("error" in raw):
            raise CaseFileError(f"{path}: cases[{i}] 需要 name、events，以及 expect 或 error 之一")
        out.append(Case(
            file=path, policy_name=str(data["policy"]), name=str(raw["name"]),
            members=list(raw.get("members", defaults.get("members", []))),
            events=list(raw["events"]),
            enrolments=list(raw.get("enrolments", defaults.get("enrolments", []))),
            prior=list(raw.get("prior", defaults.get("prior", []))),
            expect=list(raw.get("expect", [])), error=raw.get("error"),
        ))
    return out


def shipped_cases() -> list[Case]:
    return [c for f in sorted(cases_dir().glob("*.yaml")) for c in load_cases(f)]


def _arrow(kind: str, rows: list[dict[str, Any]]) -> pa.Table:
    spec = TABLES[kind]
    columns = {c.name: [_value(c.type, r.get(c.name)) for r in rows] for c in spec}
    return pa.table(columns, schema=arrow_schema(kind))


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == MONEY:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind == "string":
        return str(value)
    return value


def run_batch(policy: Policy, case: Case) -> list[dict[str, Any]]:
    return evaluate(policy, _arrow("members", case.members), _arrow("events", case.events),
                    _arrow("enrolments", case.enrolments) if case.enrolments else None,
                    _arrow("prior", case.prior) if case.prior else None).to_pylist()


def run_one_at_a_time(policy: Policy, case: Case,
                      batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event alone (the web app's claim path), earlier payouts passed as prior.
    Every event's member must be in ``case.members`` (a claim needs its member)."""
    members = {m["member_id"]: m for m in case.members}
    events = {str(e["event_id"]): e for e in case.events}
    paid = list(case.prior)
    out = []
    for k, row in enumerate(batch):
        event = events[row["event_id"]]
        same_day = [{**events[later["event_id"]], "paid": "0.00", "days_paid": 0}
                    for later in batch[k + 1:] if later["event_date"] == row["event_date"]]
        member = members[event["member_id"]]
        out.append(evaluate_claim(policy, member, event, case.enrolments, paid + same_day))
        paid.append({**event, "paid": row["payable"], "days_paid": row["days_paid"]})
    return out


def check(case: Case) -> list[str]:
    """What is wrong with ``case`` (empty: it passes)."""
    policy = load_policy(case.policy_name)
    try:
        batch = run_batch(policy, case)
    except InputError as exc:
        if case.error is not None and case.error in str(exc):
            return []
        return [f"输入被拒绝：{exc}"]
    if case.error is not None:
        return [f"应被拒绝（{case.error}），却算出了结果"]
    problems = _compare(case, {r["event_id"]: r for r in batch}, "批量计算")
    if not problems and all(e["member_id"] in {m["member_id"] for m in case.members}
                            for e in case.events):
        single = {r["event_id"]: r for r in run_one_at_a_time(policy, case, batch)}
        for row in batch:
            one = single[row["event_id"]]
            for col in CHECKED_TWICE:
                if one[col] != row[col]:
                    problems.append(f"{row['event_id']}.{col}：逐件计算 {one[col]!r}，"
                                    f"批量计算 {row[col]!r}")
    return problems


def _compare(case: Case, rows: dict[str, dict[str, Any]], how: str) -> list[str]:
    problems = []
    for want in case.expect:
        eid = str(want.get("event_id", case.events[0]["event_id"] if len(case.events) == 1
                           else ""))
        got = rows.get(eid)
        if got is None:
            problems.append(f"没有事件 {eid!r} 的结果")
            continue
        for key, value in want.items():
            if key == "event_id":
                continue
            if key.endswith("_contains"):
                column = key[: -len("_contains")]
                if str(value) not in (got.get(column) or ""):
                    problems.append(f"{eid}.{column}：{got.get(column)!r} 中没有 {value!r}")
                continue
            if key not in OUTPUT_TYPES:
                problems.append(f"{eid}：没有输出列 {key!r}")
                continue
            expected = _expected(key, value)
            if got[key] != expected:
                problems.append(f"{eid}.{key}：{how}得 {got[key]!r}，应为 {expected!r}")
    return problems


def _expected(column: str, value: Any) -> Any:
    kind = OUTPUT_TYPES[column]
    if value is None:
        return None
    if kind.startswith("decimal"):
        scale = int(kind.split(",")[1].rstrip(")"))
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-scale))
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind == "string":
        return "" if value == "" else str(value)
    return value


# ---------------------------------------------------------------- the pytest plugin

def pytest_collect_file(parent: Any, file_path: Path) -> Any:
    """With ``-p huzhu.rules.cases``: every ``cases/*.yaml`` becomes a test file."""
    if file_path.suffix == ".yaml" and file_path.parent.name == "cases":
        case_file, _item = _plugin_classes()
        return case_file.from_parent(parent, path=file_path)
    return None


@functools.lru_cache(maxsize=1)
def _plugin_classes() -> tuple[type[pytest.File], type[pytest.Item]]:
    # Lazy: pytest is only imported when the plugin is used (the engine never needs it).
    import pytest

    class CaseFile(pytest.File):
        def collect(self) -> Iterator[pytest.Item]:
            for case in load_cases(self.path):
                yield CaseItem.from_parent(self, name=case.name, case=case)

    class CaseItem(pytest.Item):
        def __init__(self, *, case: Case, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.case = case

        def runtest(self) -> None:
            problems = check(self.case)
            if problems:
                raise CaseFailed(problems)

        def repr_failure(self, excinfo: Any, style: Any = None) -> str | TerminalRepr:
            if isinstance(excinfo.value, CaseFailed):
                return "\n".join([f"{self.case.file}: {self.case.name}", *excinfo.value.args[0]])
            return super().repr_failure(excinfo)

        def reportinfo(self) -> tuple[Path, int, str]:
            return self.path, 0, f"case: {self.case.name}"

    return CaseFile, CaseItem


class CaseFailed(AssertionError):
    """The case's expectations were not met (args[0] lists what differs)."""
