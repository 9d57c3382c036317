"""The four shipped policies on synthetic data: engine and reference agree on every row."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from huzhu.rules import evaluate, load_policy
from huzhu.rules.synth import CATALOGUE, generate
from tests.rules import reference


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shipped")
    generate(members=3_000, events=30_000, seed=11, out=out)
    return out


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_engine_agrees_with_reference_on_synth_data(data: Path, name: str) -> None:
    policy = load_policy(name)
    members = pq.read_table(data / "members.parquet")
    enrolments = pq.read_table(data / "enrolments.parquet")
    events = pq.read_table(data / f"events-{name}.parquet")
    got = evaluate(policy, members, events, enrolments).to_pylist()
    want = reference.evaluate(
        policy, members.to_pylist(), events.to_pylist(), enrolments.to_pylist()
    )
    assert reference.disagreements(got, want) == []
    # The data must exercise the policy: money paid and at least one cap bitten.
    assert sum(r["payable"] for r in want) > 0
    assert any(r["status"] == "capped" for r in want)
    assert any(r["status"] == "ineligible" for r in want)
