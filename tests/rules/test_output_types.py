"""Every shipped policy over synthesized events: the output keeps the contract's types
(money decimal(18,2), days integers) in every output format, and every reason a
reviewer reads is Chinese and names the number that decides it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from huzhu.cli import main
from huzhu.rules import evaluate, load_policy
from huzhu.rules.output import OUTPUT_TYPES
from huzhu.rules.paths import shipped_policy_names
from huzhu.rules.synth import CATALOGUE, decimal_from_cents, generate

MONEY_COLUMNS = [c for c, t in OUTPUT_TYPES.items() if t == "decimal(18,2)"]
DAY_COLUMNS = ["days_paid", "days_left"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("types")
    generate(members=1_500, events=6_000, seed=11, out=out)
    for name in CATALOGUE:
        events = pq.read_table(out / f"events-{name}.parquet")
        pq.write_table(_prior(events), out / f"prior-{name}.parquet")
    return out


def _prior(events: pa.Table) -> pa.Table:
    """Every seventh event as an earlier payout, so the caps' running sums are used."""
    rows = pa.array(range(0, events.num_rows, 7))
    prior = events.take(rows)
    prior = prior.append_column(
        "paid", decimal_from_cents((pc.cast(rows, pa.int64()).to_numpy() * 997) % 60_000))
    prior = prior.append_column(
        "days_paid", pa.array((pc.cast(rows, pa.int64()).to_numpy() * 3) % 40, pa.int32()))
    ids = pc.binary_join_element_wise("P", prior.column("event_id"), "")
    return prior.set_column(0, "event_id", ids)


def test_every_shipped_policy_is_synthesized() -> None:
    assert sorted(CATALOGUE) == sorted(shipped_policy_names())


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_money_stays_decimal_18_2_in_every_output(data: Path, name: str,
                                                  tmp_path: Path) -> None:
    """A day-capped benefit (ningshan-2024's hospital allowance) widened every money
    column to decimal(38,6): ``3880.000000`` in CSV."""
    files = ["--members", str(data / "members.parquet"),
             "--enrolments", str(data / "enrolments.parquet"),
             "--events", str(data / f"events-{name}.parquet"),
             "--prior", str(data / f"prior-{name}.parquet")]
    for out in ("out.parquet", "out.csv"):
        assert main(["calc", "--policy", name, *files, "--out", str(tmp_path / out),
                     "--quiet"]) == 0
    schema = pq.read_schema(tmp_path / "out.parquet")
    for column in MONEY_COLUMNS:
        assert schema.field(column).type == pa.decimal128(18, 2), column
    for column in DAY_COLUMNS:
        assert schema.field(column).type == pa.int32(), column
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert len(rows) == pq.read_metadata(tmp_path / "out.parquet").num_rows
    for column in MONEY_COLUMNS:
        bad = [r[column] for r in rows if r[column] and not re.fullmatch(r"\d+\.\d\d", r[column])]
        assert bad[:3] == [], column
    for column in DAY_COLUMNS:
        assert all(re.fullmatch(r"\d*", r[column]) for r in rows), column
    paid = [r for r in rows if r["days_paid"]]
    assert bool(paid) == (name == "ningshan-2024")

    table = evaluate(load_policy(name), pq.read_table(data / "members.parquet"),
                     pq.read_table(data / f"events-{name}.parquet"),
                     pq.read_table(data / "enrolments.parquet"),
                     pq.read_table(data / f"prior-{name}.parquet"))
    for column in MONEY_COLUMNS:
        assert table.schema.field(column).type == pa.decimal128(18, 2), column


@pytest.fixture(scope="module")
def reasons(data: Path) -> dict[str, set[str]]:
    """Every distinct reason text each shipped policy gives over the synthesized events
    (with earlier payouts, so caps bite)."""
    out = {}
    for name in sorted(CATALOGUE):
        table = evaluate(load_policy(name), pq.read_table(data / "members.parquet"),
                         pq.read_table(data / f"events-{name}.parquet"),
                         pq.read_table(data / "enrolments.parquet"),
                         pq.read_table(data / f"prior-{name}.parquet"))
        out[name] = set(table.column("reason_message").to_pylist())
    return out


def test_every_reason_is_chinese_without_codes(reasons: dict[str, set[str]]) -> None:
    """"超过上限（once_per_person_period）" was shown to reviewers."""
    texts = set().union(*reasons.values()) - {""}
    assert len(texts) > 20
    coded = sorted(t for t in texts if re.search(r"[A-Za-z]{2,}|_", t))
    assert coded == []


@pytest.mark.parametrize(("name", "text"), [
    ("changchun-2023", "未达到起付标准（起付标准 5,000.00 元）"),
    ("changchun-2023", "年龄不在保障范围内（须 16 至 60 周岁）"),
    ("changchun-2023", "超过每人每年累计上限（50,000.00 元）"),
    ("changchun-2023", "超过单次给付上限（10,000.00 元）"),
    ("ningshan-2024", "处于等待期内（等待期至 ＊，首次参保后 90 天内不给付）"),
    ("ningshan-2024", "未超过免赔额（免赔额 1,000.00 元）"),
    ("ningshan-2024", "住院天数未达到给付起始天数（自住院第 4 天起给付）"),
    ("ningshan-2024", "每人每互助期限给付一次，已给付过"),
    ("ningshan-2024", "性别不符合条件（限女性）"),
    ("yongding-2020", "非工伤，本项目只给付工伤"),
])
def test_reasons_name_the_number_that_decides(reasons: dict[str, set[str]], name: str,
                                              text: str) -> None:
    if "＊" in text:  # a date from the row
        pattern = re.escape(text).replace("＊", r"\d{4}-\d\d-\d\d")
        assert any(re.fullmatch(pattern, r) for r in reasons[name])
    else:
        assert text in reasons[name]
