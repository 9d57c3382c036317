"""The hand-worked cases beside each shipped policy (``src/huzhu/policies/cases/*.yaml``).

One test per case, named ``<policy>::<case name>``; the case format and the checks are
in :mod:`huzhu.rules.cases` (batch and one claim at a time must both give the expected
values). A case file is data a policy officer can extend without writing Python.
"""

from __future__ import annotations

import pytest

from huzhu.rules import shipped_policy_names
from huzhu.rules.cases import Case, check, shipped_cases

CASES = shipped_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hand_worked_case(case: Case) -> None:
    problems = check(case)
    assert not problems, "\n".join([f"{case.file.name}: {case.name}", *problems])


def test_every_shipped_policy_has_cases() -> None:
    assert {c.policy_name for c in CASES} == set(shipped_policy_names())


def test_a_wrong_expectation_fails() -> None:
    """The checker is not a rubber stamp: a case expecting one fen too much fails, in the
    batch and in the message it gives."""
    case = next(c for c in CASES if c.name.startswith("住院：10000.25"))
    wrong = Case(**{**case.__dict__, "expect": [{"event_id": "e1", "payable": "200.02"}]})
    problems = check(wrong)
    assert problems and "200.01" in problems[0] and "200.02" in problems[0]
