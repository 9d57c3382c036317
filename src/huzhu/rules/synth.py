"""Deterministic synthetic inputs for ``huzhu calc``: members, enrolments, events.

Used by benchmarks, demos and tests; a seed gives byte-for-byte the same data.

What the files hold (columns are the calc input contract, see ``huzhu.rules``):

- ``members.parquet``: ``member_id`` (``M00000001`` …), ``birth_date`` (ages 18–65 in
  full years on ``AS_OF``), ``gender`` (M/F), ``status`` (active; a few percent
  ``retired`` among those over 50; some ``left``), ``occupation`` (medical, cdc, other),
  ``family_id`` (some members share one: couples who are both members), ``union``
  (one of ten district unions; not an engine input, used by ``huzhu simulate``).
- ``enrolments.parquet``: one row per member and calendar-year period 2019–2024 for the
  premium schemes; ``first_enrolled`` is the day the member first joined (so waiting
  periods bite for the newly enrolled), the first period starts that day.
- ``events.parquet``: one claim event per row, every benefit of the selected shipped
  policies, with the facts that benefit needs and nulls elsewhere: hospital stays with
  lognormal costs (a heavy tail so that every changchun band, up to above 300,000, gets
  hits), per-day allowance days, critical illness with ICD-10 codes incl. U07.1, female
  special diseases, accidents (death / disability grade / fracture site / none,
  some work-related), fires (loss, certificate number, a few missing), COVID-19 staff
  (on duty or not) and their relatives (relation, relative id, co-resident; some
  families with more than four relatives, some relatives claimed twice; most claim
  through a staff member with an earlier covid_staff event, a few through one without,
  which the prerequisite refuses), deaths and
  graded injuries, most of them at work (condolence, injury_condolence).
  Event dates lie in 2020–2024. With more than one policy selected each event also
  carries ``policy`` and a file ``events-<policy>.parquet`` per policy is written.

Money is drawn with numpy (floats only as random draws), turned into whole fen as
int64 and written as Parquet DECIMAL(18,2) straight from those integers: no float value
ever becomes an amount.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from huzhu.rules.columns import ARROW_MONEY, FractureSite, Outcome, Relation, arrow_schema

AS_OF = dt.date(2022, 7, 1)
MIN_AGE, MAX_AGE = 18, 65
FIRST_EVENT_DAY = dt.date(2020, 1, 1)
LAST_EVENT_DAY = dt.date(2024, 12, 31)
ENROL_YEARS = range(2019, 2025)
EPOCH = dt.date(1970, 1, 1)


class SynthError(ValueError):
    """Bad arguments for the generator (e.g. an unknown policy name)."""


@dataclass(frozen=True)
class Kind:
    """A kind of claim event and how often it happens relative to the others."""

    name: str
    weight: float


# Event kinds and the benefit ids each shipped policy gives them. Weights are relative
# frequencies within a policy: hospital stays dominate real claim books.
CATALOGUE: dict[str, dict[str, Kind]] = {
    "changchun-2023": {
        "hospital": Kind("hospital", 0.80),
        "accident": Kind("accident", 0.15),
        "fire": Kind("fire", 0.05),
    },
    "guangdong-covid-2020": {
        "covid_staff": Kind("covid_staff", 0.45),
        "covid_relative": Kind("covid_relative", 0.55),
    },
    "ningshan-2024": {
        "hospital_aid": Kind("hospital", 0.45),
        "hospital_allowance": Kind("allowance", 0.25),
        "critical_illness": Kind("critical", 0.08),
        "female_special": Kind("female", 0.04),
        "accident": Kind("accident", 0.18),
    },
    "yongding-2020": {
        "hospital": Kind("hospital", 0.80),
        "critical_illness": Kind("critical", 0.12),
        # Deaths and injuries are drawn together; each benefit pays its own part.
        "condolence": Kind("condolence", 0.05),
        "injury_condolence": Kind("condolence", 0.03),
    },
}
POLICY_WEIGHTS = {
    "changchun-2023": 0.45,
    "guangdong-covid-2020": 0.05,
    "ningshan-2024": 0.30,
    "yongding-2020": 0.20,
}

# ICD-10 codes by what they stand for, drawn for the matching kinds of event.
ORDINARY_DX = (
    "J18.9", "I10", "E11.9", "K80.2", "K35.8", "N20.0", "J44.1", "I25.1",
    "M51.2", "K29.7", "O80", "I63.9", "S72.0", "K74.6", "N18.4",
)  # fmt: skip
CRITICAL_DX = (
    "C34.9", "C16.9", "C22.0", "C18.7", "C50.9", "I21.9", "I63.9", "N18.5",
    "Z94.0", "G35", "I61.9", "C91.0", "U07.1",
)  # fmt: skip
FEMALE_DX = ("C50.9", "C53.9", "C54.1", "C56", "D06.9")
NOT_CRITICAL_DX = ("J18.9", "K80.2", "M51.2")
ACCIDENT_DX = ("S72.0", "S32.0", "S02.0", "S42.2", "S52.5", "S82.2", "T14.0", "S06.0")
DEATH_DX = ("I21.9", "C34.9", "I61.9", "V89.2", "J18.9")
# The coded values come from the input contract; the draws below index them by position.
OUTCOMES = get_args(Outcome)  # death, disability, fracture, none
FRACTURE_SITES = get_args(FractureSite)  # major, other
RELATIONS = tuple(r for r in get_args(Relation) if r != "self")  # parent, spouse, child, other
FIRE_PREFIX = ("长公消火认字", "宁公消火认字", "永公消火认字")
UNIONS = tuple(f"{d}总工会" for d in ("南关区", "宽城区", "朝阳区", "二道区", "绿园区", "双阳区",
                                      "九台区", "农安县", "榆树市", "德惠市"))

Progress = Callable[[str], None]


def generate(
    members: int,
    events: int,
    seed: int,
    out: str | os.PathLike[str],
    policies: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> list[tuple[Path, int]]:
    """Write the Parquet files into ``out``; return ``(path, rows)`` for each file."""
    selected = _select(policies)
    say = progress or (lambda _m: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()

    member_table = make_members(rng, members)
    say(f"会员 {members:,} 人已生成（{time.perf_counter() - started:.1f} 秒）")
    enrolment_table = make_enrolments(rng, member_table)
    say(f"参保记录 {enrolment_table.num_rows:,} 条已生成（{time.perf_counter() - started:.1f} 秒）")
    event_table = make_events(rng, member_table, events, selected)
    say(f"事件 {events:,} 条已生成（{time.perf_counter() - started:.1f} 秒）")

    written = [
        _write(member_table, out / "members.parquet"),
        _write(enrolment_table, out / "enrolments.parquet"),
        _write(event_table, out / "events.parquet"),
    ]
    if len(selected) > 1:
        policy_col = event_table.column("policy")
        for name in selected:
            # pyarrow-stubs: a Python str is a valid scalar operand (pyarrow wraps it)
            is_policy = pc.equal(policy_col, name)  # type: ignore[call-overload]
            part = event_table.filter(is_policy).drop_columns(["policy"])
            written.append(_write(part, out / f"events-{name}.parquet"))
    say(f"已写出 {len(written)} 个文件到 {out}（共 {time.perf_counter() - started:.1f} 秒）")
    return written


def _select(policies: Sequence[str] | None) -> list[str]:
    if not policies:
        return list(CATALOGUE)
    unknown = [p for p in policies if p not in CATALOGUE]
    if unknown:
        known = "、".join(CATALOGUE)
        raise SynthError(f"未知的政策 {'、'.join(unknown)}；可选：{known}")
    return list(dict.fromkeys(policies))


def _write(table: pa.Table, path: Path) -> tuple[Path, int]:
    # Write beside the target and rename, so a crash never leaves half a file behind.
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="snappy", row_group_size=1 << 20)
    os.replace(tmp, path)
    return path, table.num_rows


# ----------------------------------------------------------------------------- members


def make_members(rng: np.random.Generator, n: int) -> pa.Table:
    """Members aged 18–65 on ``AS_OF``; statuses, occupations and shared families."""
    oldest = _day(_years_before(AS_OF, MAX_AGE + 1)) + 1
    youngest = _day(_years_before(AS_OF, MIN_AGE))
    birth = rng.integers(oldest, youngest + 1, size=n)
    age = _age_on(birth, AS_OF)

    gender = np.where(rng.random(n) < 0.52, "M", "F")
    u = rng.random(n)
    retired = ((age >= 55) & (u < 0.20)) | ((age >= 50) & (age < 55) & (u < 0.05))
    left = ~retired & (rng.random(n) < 0.03)
    status = np.where(retired, "retired", np.where(left, "left", "active"))
    o = rng.random(n)
    occupation = np.where(o < 0.06, "medical", np.where(o < 0.075, "cdc", "other"))

    # A member shares the family of the one before with some probability: both spouses
    # work for member units, so a per-family cap must sum over two members.
    family = np.arange(n, dtype=np.int64)
    joins = rng.random(n) < 0.12
    joins[0] = False
    starts = np.maximum.accumulate(np.where(joins, 0, family))
    family = starts

    return pa.table(
        {
            "member_id": _ids("M", np.arange(1, n + 1), 8),
            "birth_date": _dates(birth),
            "gender": pa.array(gender, pa.string()),
            "status": pa.array(status, pa.string()),
            "occupation": pa.array(occupation, pa.string()),
            "family_id": _ids("F", family + 1, 8),
            # Not an engine input (calc ignores it): the district union, for the
            # per-union figures of ``huzhu simulate``.
            "union": pc.take(pa.array(UNIONS), _indices(rng.integers(0, len(UNIONS), n))),
        },
        schema=arrow_schema("members", extra=[("union", pa.string())]),
    )


# -------------------------------------------------------------------------- enrolments


def make_enrolments(rng: np.random.Generator, members: pa.Table) -> pa.Table:
    """Calendar-year periods 2019–2024 for about seven in ten members."""
    n = members.num_rows
    enrolled = rng.random(n) < 0.70
    first_year = rng.choice(np.arange(2012, 2025), size=n)
    first_day = np.array([_day(dt.date(y, 1, 1)) for y in range(2012, 2026)])
    year_len = first_day[1:] - first_day[:-1]
    offset = (rng.random(n) * year_len[first_year - 2012]).astype(np.int64)
    first_enrolled = first_day[first_year - 2012] + offset
    # Some stop paying: their last period is a year at or after the first one.
    stops = rng.random(n) < 0.15
    last_year = np.where(stops, first_year + rng.integers(0, 4, size=n), max(ENROL_YEARS)).clip(
        max=max(ENROL_YEARS)
    )

    member_idx, starts, ends, firsts = [], [], [], []
    for year in ENROL_YEARS:
        take = np.flatnonzero(enrolled & (first_year <= year) & (last_year >= year))
        jan1, dec31 = _day(dt.date(year, 1, 1)), _day(dt.date(year, 12, 31))
        member_idx.append(take)
        starts.append(np.maximum(jan1, first_enrolled[take]))
        ends.append(np.full(take.size, dec31))
        firsts.append(first_enrolled[take])
    idx = np.concatenate(member_idx)
    order = np.argsort(idx, kind="stable")
    return pa.table(
        {
            "member_id": members.column("member_id").take(_indices(idx[order])),
            "period_start": _dates(np.concatenate(starts)[order]),
            "period_end": _dates(np.concatenate(ends)[order]),
            "first_enrolled": _dates(np.concatenate(firsts)[order]),
        },
        schema=arrow_schema("enrolments"),
    )


# ------------------------------------------------------------------------------ events


def make_events(
    rng: np.random.Generator, members: pa.Table, m: int, policies: Sequence[str]
) -> pa.Table:
    """``m`` mixed claim events over every benefit of ``policies``."""
    slots = [(p, b, k) for p in policies for b, k in CATALOGUE[p].items()]
    weights = np.array([POLICY_WEIGHTS[p] * k.weight for p, _b, k in slots])
    slot = rng.choice(len(slots), size=m, p=weights / weights.sum())
    # A relative's claim is drawn against the staff members' own infections, so staff
    # events come first.
    kind_names = sorted({k.name for _p, _b, k in slots}, key=lambda n: (n == "covid_relative", n))
    kind_of_slot = np.array([kind_names.index(k.name) for _p, _b, k in slots])
    kind = kind_of_slot[slot]

    def is_kind(name: str) -> np.ndarray:
        return kind == kind_names.index(name) if name in kind_names else np.zeros(m, bool)

    b = _EventBuilder(rng, members, m)
    b.event_dates()
    for name in kind_names:
        getattr(b, name)(is_kind(name))

    columns: dict[str, pa.Array[Any] | pa.ChunkedArray[Any]] = {
        "event_id": _ids("E", np.arange(1, m + 1), 9),
        "member_id": members.column("member_id").take(_indices(b.member)),
        "benefit": pc.take(pa.array([bn for _p, bn, _k in slots], pa.string()), _indices(slot)),
        "event_date": _dates(b.date),
        **b.columns(),
    }
    if len(policies) > 1:
        columns["policy"] = pc.take(
            pa.array([p for p, _b, _k in slots], pa.string()), _indices(slot)
        )
    extra = [("policy", pa.string())] if len(policies) > 1 else []
    return pa.table(columns, schema=arrow_schema("events", extra=extra))


class _EventBuilder:
    """Fills the per-kind facts of ``m`` events column by column, vectorised."""

    def __init__(self, rng: np.random.Generator, members: pa.Table, m: int):
        self.rng, self.m = rng, m
        occupation = members.column("occupation").to_numpy(zero_copy_only=False)
        gender = members.column("gender").to_numpy(zero_copy_only=False)
        n = members.num_rows
        self.n = n
        self.staff = np.flatnonzero((occupation == "medical") | (occupation == "cdc"))
        self.women = np.flatnonzero(gender == "F")
        self.member = rng.integers(0, n, size=m)
        self.date = np.zeros(m, np.int64)
        self.cents: dict[str, np.ndarray] = {}
        self.money_set: dict[str, np.ndarray] = {}
        self.ints: dict[str, np.ndarray] = {}
        self.int_set: dict[str, np.ndarray] = {}
        self.codes: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
        self.flags: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.text: dict[str, pa.Array[Any]] = {}
        self.infected = (np.array([], np.int64), np.array([], np.int64))
        """(member index, date) of every covid_staff event, for the relatives' claims."""

    # --- shared pieces

    def event_dates(self) -> None:
        lo, hi = _day(FIRST_EVENT_DAY), _day(LAST_EVENT_DAY)
        self.date = self.rng.integers(lo, hi + 1, size=self.m)

    def _money(self, column: str, where: np.ndarray, cents: np.ndarray) -> None:
        self.cents.setdefault(column, np.zeros(self.m, np.int64))[where] = cents
        self.money_set.setdefault(column, np.zeros(self.m, bool))[where] = True

    def _int(self, column: str, where: np.ndarray, values: np.ndarray) -> None:
        self.ints.setdefault(column, np.zeros(self.m, np.int64))[where] = values
        self.int_set.setdefault(column, np.zeros(self.m, bool))[where] = True

    def _code(self, column: str, where: np.ndarray, table: tuple[str, ...],
              idx: int | np.ndarray) -> None:
        """Pick strings from ``table`` for the rows in ``where`` (``idx`` -1 means null)."""
        vocab, values = self.codes.get(column, ((), np.full(self.m, -1)))
        vocab = tuple(dict.fromkeys(vocab + table))
        remap = np.array([vocab.index(s) for s in table] + [-1])
        idx = np.broadcast_to(np.asarray(idx), (int(where.sum()),))
        values[where] = remap[np.where(idx < 0, len(table), idx)]
        self.codes[column] = (vocab, values)

    def _flag(self, column: str, where: np.ndarray, values: np.ndarray) -> None:
        vals, has = self.flags.setdefault(column, (np.zeros(self.m, bool), np.zeros(self.m, bool)))
        vals[where] = values
        has[where] = True

    def _pick(self, where: np.ndarray, pool: np.ndarray) -> None:
        if pool.size:
            self.member[where] = pool[self.rng.integers(0, pool.size, size=int(where.sum()))]

    def _lognormal_cents(self, k: int, median: float, sigma: float) -> np.ndarray:
        draw = self.rng.lognormal(np.log(median), sigma, size=k)
        return np.maximum(np.rint(draw * 100).astype(np.int64), 1)

    def _stay(self, where: np.ndarray, mean_days: float) -> np.ndarray:
        """Length of stay in days; admit date so that the event date is the discharge."""
        k = int(where.sum())
        days = np.maximum(np.rint(self.rng.lognormal(np.log(mean_days), 0.7, size=k)), 1)
        days = days.astype(np.int64)
        self._int("days", where, days)
        self._int("admit_date", where, self.date[where] - days)
        return days

    # --- kinds

    def hospital(self, where: np.ndarray) -> None:
        k = int(where.sum())
        # Most stays are ordinary; a few percent are serious (cancer, transplants) and
        # reach the top bands.
        serious = self.rng.random(k) < 0.04
        oop = np.where(
            serious,
            self._lognormal_cents(k, 70_000, 0.9),
            self._lognormal_cents(k, 4_500, 0.95),
        )
        share = self.rng.uniform(0.25, 0.6, size=k)
        total = np.maximum(np.rint(oop / share).astype(np.int64), oop)
        self._money("out_of_pocket", where, oop)
        self._money("total_cost", where, total)
        self._stay(where, 9.0)
        idx = self.rng.integers(0, len(ORDINARY_DX), size=k)
        crit = self.rng.integers(0, len(CRITICAL_DX), size=k)
        vocab = ORDINARY_DX + CRITICAL_DX
        self._code("diagnosis", where, vocab, np.where(serious, len(ORDINARY_DX) + crit, idx))

    def allowance(self, where: np.ndarray) -> None:
        k = int(where.sum())
        self._stay(where, 12.0)
        self._code("diagnosis", where, ORDINARY_DX, self.rng.integers(0, len(ORDINARY_DX), k))

    def critical(self, where: np.ndarray) -> None:
        k = int(where.sum())
        # Some claims are for illnesses not on the list; COVID-19 appears from 2020.
        pool = CRITICAL_DX + NOT_CRITICAL_DX
        self._code("diagnosis", where, pool, self.rng.integers(0, len(pool), k))
        oop = self._lognormal_cents(k, 30_000, 0.9)
        self._money("out_of_pocket", where, oop)
        self._money("total_cost", where, oop * 3)

    def female(self, where: np.ndarray) -> None:
        # Nearly all go to women; a few men slip in, which eligibility must refuse.
        women = where & (self.rng.random(self.m) < 0.97)
        self._pick(women, self.women)
        k = int(where.sum())
        self._code("diagnosis", where, FEMALE_DX, self.rng.integers(0, len(FEMALE_DX), k))

    def accident(self, where: np.ndarray) -> None:
        k = int(where.sum())
        outcome = self.rng.choice(4, size=k, p=[0.02, 0.15, 0.35, 0.48])
        self._code("outcome", where, OUTCOMES, outcome)
        # Grade 10 is the mildest and the most common.
        grade = self.rng.choice(np.arange(1, 11), size=k, p=_grade_weights())
        rows = np.flatnonzero(where)
        disabled = rows[outcome == 1]
        self._int("disability_grade", _mask(self.m, disabled), grade[outcome == 1])
        site = np.where(self.rng.random(k) < 0.3, 0, 1)
        self._code("fracture_site", where, FRACTURE_SITES, np.where(outcome == 2, site, -1))
        self._flag("work_related", where, self.rng.random(k) < 0.10)
        self._code("diagnosis", where, ACCIDENT_DX, self.rng.integers(0, len(ACCIDENT_DX), k))
        stayed = rows[(outcome == 1) | (outcome == 2)]
        self._stay(_mask(self.m, stayed), 10.0)

    def fire(self, where: np.ndarray) -> None:
        k = int(where.sum())
        self._money("loss_amount", where, self._lognormal_cents(k, 25_000, 1.0))
        serial = self.rng.integers(1, 2000, size=k)
        year = (self.date[where].astype("datetime64[D]").astype("datetime64[Y]").astype(int)
                + 1970)  # fmt: skip
        prefix = self.rng.integers(0, len(FIRE_PREFIX), size=k)
        certificate = pc.binary_join_element_wise(
            pc.take(pa.array(FIRE_PREFIX), _indices(prefix)),
            "〔",
            pa.array(year).cast(pa.string()),
            "〕第",
            pc.utf8_lpad(pa.array(serial).cast(pa.string()), width=4, padding="0"),
            "号",
            "",
        )
        missing = self.rng.random(k) < 0.04
        self._text("certificate_no", where, certificate, missing)

    def covid_staff(self, where: np.ndarray) -> None:
        staff = where & (self.rng.random(self.m) < 0.92)
        self._pick(staff, self.staff)
        self._covid_dates(where)
        self.infected = (self.member[staff], self.date[staff])
        k = int(where.sum())
        self._flag("on_duty", where, self.rng.random(k) < 0.85)
        self._code("relation", where, (*RELATIONS, "self"), len(RELATIONS))
        self._code("diagnosis", where, ("U07.1",), 0)

    def covid_relative(self, where: np.ndarray) -> None:
        k = int(where.sum())
        # A small pool of staff, so several have five or more infected relatives and the
        # per-family cap is reached. Most are staff confirmed infected themselves (a
        # covid_staff event), and their relatives fall ill within a month after; a few
        # claim through staff never infected, or before the staff member's date.
        self._covid_dates(where)
        staff_ids, staff_days = self.infected
        if staff_ids.size:
            first: dict[int, int] = {}
            for member, day in zip(staff_ids.tolist(), staff_days.tolist(), strict=True):
                first[member] = min(day, first.get(member, day))
            pool = np.array(sorted(first))[: max(1, min(len(first), k // 2))]
            pick = pool[self.rng.integers(0, pool.size, size=k)]
            after = np.array([first[m] for m in pick.tolist()]) + self.rng.integers(0, 31, k)
            rows = np.flatnonzero(where)
            follows = self.rng.random(k) < 0.85
            self.member[rows] = pick
            self.date[rows[follows]] = after[follows]
            strangers = self.rng.random(k) < 0.05
            if self.staff.size and strangers.any():
                self.member[rows[strangers]] = self.staff[
                    self.rng.integers(0, self.staff.size, int(strangers.sum()))]
        elif self.staff.size:
            pool = self.staff[: max(1, min(self.staff.size, k // 2))]
            self.member[where] = pool[self.rng.integers(0, pool.size, size=k)]
        relation = self.rng.choice(4, size=k, p=[0.35, 0.3, 0.3, 0.05])
        self._code("relation", where, RELATIONS, relation)
        # Relative ids repeat within a staff member's family (one spouse, two parents,
        # a few children), so the same relative is sometimes claimed twice.
        slot = np.select(
            [relation == 0, relation == 1, relation == 2],
            [self.rng.integers(1, 3, k), np.ones(k, np.int64), self.rng.integers(1, 4, k)],
            self.rng.integers(1, 3, k),
        )
        member_ids = pa.array(self.member[where] + 1).cast(pa.string())
        rid = pc.binary_join_element_wise(
            "R",
            pc.utf8_lpad(member_ids, width=8, padding="0"),
            "-",
            pc.take(pa.array(("P", "S", "C", "O")), _indices(relation)),
            pa.array(slot).cast(pa.string()),
            "",
        )
        self._text("relative_id", where, rid, np.zeros(k, bool))
        self._flag("co_resident", where, self.rng.random(k) < 0.8)
        self._code("diagnosis", where, ("U07.1",), 0)

    def condolence(self, where: np.ndarray) -> None:
        # Deaths of members and work injuries graded 1–10 (慰问金), a few with neither.
        k = int(where.sum())
        outcome = self.rng.choice(np.array([0, 1, 3]), size=k, p=[0.5, 0.4, 0.1])
        self._code("outcome", where, OUTCOMES, outcome)
        rows = np.flatnonzero(where)
        grade = self.rng.integers(1, 11, size=k)
        self._int("disability_grade", _mask(self.m, rows[outcome == 1]), grade[outcome == 1])
        # Most injuries at work (工伤慰问金 pays only those), some off work.
        work = self.rng.random(k)
        self._flag("work_related", where, ((outcome == 1) & (work < 0.85)) | (work < 0.08))
        self._code("diagnosis", where, DEATH_DX, self.rng.integers(0, len(DEATH_DX), k))

    def _covid_dates(self, where: np.ndarray) -> None:
        # Confirmed mostly in 2020; a tail in the last days of 2020 and in 2021 lies
        # around the campaign's end (2020-12-30).
        k = int(where.sum())
        lo = _day(dt.date(2020, 1, 20))
        d = lo + self.rng.integers(0, _day(dt.date(2021, 3, 31)) - lo + 1, size=k)
        edge = self.rng.random(k) < 0.03
        d = np.where(edge, _day(dt.date(2020, 12, 29)) + self.rng.integers(0, 4, k), d)
        self.date[where] = d

    def _text(self, column: str, where: np.ndarray, values: pa.Array[Any],
              missing: np.ndarray) -> None:
        rows = np.flatnonzero(where)
        keep = ~np.asarray(missing)
        prev = self.text.get(column)
        full = np.full(self.m, -1, np.int64)
        full[rows[keep]] = np.arange(int(keep.sum()))
        src = values.filter(pa.array(keep))
        if prev is not None:
            # Two kinds never write the same text column; guard anyway.
            raise AssertionError(f"text column {column} filled twice")
        self.text[column] = src.take(_indices(full, mask=full < 0))

    # --- assembly

    def columns(self) -> dict[str, pa.Array[Any]]:
        m = self.m
        out: dict[str, pa.Array[Any]] = {}
        for name in ("out_of_pocket", "total_cost"):
            out[name] = self._money_array(name)
        out["admit_date"] = self._date_array("admit_date")
        out["days"] = self._int_array("days", pa.int32())
        out["diagnosis"] = self._code_array("diagnosis")
        out["outcome"] = self._code_array("outcome")
        out["disability_grade"] = self._int_array("disability_grade", pa.int32())
        out["fracture_site"] = self._code_array("fracture_site")
        out["work_related"] = self._flag_array("work_related")
        out["loss_amount"] = self._money_array("loss_amount")
        out["certificate_no"] = self.text.get("certificate_no", pa.nulls(m, pa.string()))
        out["on_duty"] = self._flag_array("on_duty")
        out["relation"] = self._code_array("relation")
        out["relative_id"] = self.text.get("relative_id", pa.nulls(m, pa.string()))
        out["co_resident"] = self._flag_array("co_resident")
        return out

    def _money_array(self, name: str) -> pa.Array[Any]:
        if name not in self.cents:
            return _nulls(self.m, ARROW_MONEY)
        return decimal_from_cents(self.cents[name], self.money_set[name])

    def _int_array(self, name: str, typ: pa.DataType) -> pa.Array[Any]:
        if name not in self.ints:
            return _nulls(self.m, typ)
        return _indices(self.ints[name], mask=~self.int_set[name]).cast(typ)

    def _date_array(self, name: str) -> pa.Array[Any]:
        if name not in self.ints:
            return pa.nulls(self.m, pa.date32())
        return _dates(self.ints[name], mask=~self.int_set[name])

    def _code_array(self, name: str) -> pa.Array[Any]:
        if name not in self.codes:
            return pa.nulls(self.m, pa.string())
        vocab, values = self.codes[name]
        return pc.take(pa.array(vocab, pa.string()), _indices(values, mask=values < 0))

    def _flag_array(self, name: str) -> pa.Array[Any]:
        if name not in self.flags:
            return pa.nulls(self.m, pa.bool_())
        vals, has = self.flags[name]
        return cast("pa.Array[Any]", pa.array(vals, mask=~has))


# ----------------------------------------------------------------------------- helpers


# pyarrow-stubs type an array made from any numpy array as booleans (pa.array's first
# overload) and have no pa.nulls for a plain DataType: these two say what pyarrow makes.
def _indices(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array[Any]:
    """numpy integers as an Arrow array (``mask``: null where true), e.g. take indices."""
    return cast("pa.Array[Any]", pa.array(values, mask=mask))


def _nulls(n: int, typ: pa.DataType) -> pa.Array[Any]:
    out: pa.Array[Any] = pa.nulls(n, typ)  # type: ignore[call-overload]
    return out


def decimal_from_cents(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array[Any]:
    """DECIMAL(18,2) array whose unscaled values are exactly ``cents`` (int64 fen)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    n = cents.size
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension into the high 64 bits
    buffers = [None, pa.py_buffer(words.tobytes())]
    null_count = 0
    if valid is not None and not valid.all():
        buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
        null_count = int(n - valid.sum())
    return pa.Array.from_buffers(ARROW_MONEY, n, buffers, null_count=null_count)


def _grade_weights() -> np.ndarray:
    w = np.arange(1, 11, dtype=float) ** 2
    weights: np.ndarray = w / w.sum()
    return weights


def _mask(m: int, rows: np.ndarray) -> np.ndarray:
    out = np.zeros(m, bool)
    out[rows] = True
    return out


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array[Any]:
    digits = pc.utf8_lpad(_indices(numbers).cast(pa.string()), width=width, padding="0")
    # pyarrow-stubs want one type for every part; pyarrow joins strings and arrays.
    ids = pc.binary_join_element_wise(prefix, digits, "")  # type: ignore[call-overload]
    return cast("pa.Array[Any]", ids)


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array[Any]:
    return pa.array(np.asarray(days, dtype=np.int32), mask=mask).cast(pa.date32())


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _age_on(birth_days: np.ndarray, on: dt.date) -> np.ndarray:
    """Age in full years on ``on`` for birth dates given as days since 1970-01-01."""
    b = np.asarray(birth_days).astype("datetime64[D]")
    y = b.astype("datetime64[Y]").astype(int) + 1970
    mo = b.astype("datetime64[M]").astype(int) % 12 + 1
    day = (b - b.astype("datetime64[M]")).astype(int) + 1
    before = (mo > on.month) | ((mo == on.month) & (day > on.day))
    age: np.ndarray = on.year - y - before.astype(int)
    return age
