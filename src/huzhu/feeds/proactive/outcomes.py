"""What a run finds, in memory, before it is written: one :class:`Outcome` per feed row
and benefit (the report's rows, :class:`~huzhu.feeds.models.proactive.StayOutcome` once
written), the proposed claims' facts and engine rows (:class:`Details`), and the run's
totals (:class:`RunResult`).

A module of its own so that :mod:`.run` (which classifies), :mod:`.writes` and
:mod:`.copy_rows` (which write) share these shapes without importing one another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

import pyarrow as pa

from huzhu.feeds.models.proactive import BatchRun, StayOutcome

OUT = StayOutcome.Outcome
# progress(phase, done, total): the command line's bar, or nothing (the page reads the
# run's own row).
Progress = Callable[[str, int, int | None], None]


@dataclass(slots=True)
class Outcome:
    """One report row: a feed row under one benefit (or none)."""

    row: int
    settlement_code: str
    outcome: str
    stay: int | None = None
    member: int | None = None
    benefit: str = ""
    amount: Decimal | None = None
    reason: str = ""
    reason_text: str = ""
    discovered: bool = False
    claim: int | None = None
    # A proposed claim's event: its position in the run's Details.
    index: int | None = None
    details: tuple | None = None  # (facts, engine row), filled while its chunk is written
    banked: bool = False  # the registry has the member's bank account


@dataclass
class RunResult:
    run: BatchRun
    counts: dict[str, int] = field(default_factory=dict)
    proposed_amount: Decimal = Decimal("0.00")
    created: int = 0


@dataclass
class Details:
    """The facts and the engine's row of each event, by the event's position: a claim's
    columns are taken chunk by chunk, not held as a million dicts."""

    events: pa.Table
    out: pa.Table | None  # aligned with ``events``; null where the engine did not run
    names: dict[str, str]

    FACTS: ClassVar[tuple[str, ...]] = ("event_date", "admit_date", "days", "out_of_pocket",
                                        "total_cost", "diagnosis", "hospital")

    def claim_tables(self, indices: list[int]) -> tuple[pa.Table, pa.Table]:
        """The facts and the engine's rows of ``indices``, in their order."""
        if self.out is None:
            raise ValueError("no engine output: nothing was proposed")
        where = pa.array(indices, pa.int64())
        return self.events.select(list(self.FACTS)).take(where), self.out.take(where)

    def claim_rows(self, indices: list[int]) -> list[tuple[dict, dict]]:
        if not indices:
            return []
        facts, rows = self.claim_tables(indices)
        return list(zip(facts.to_pylist(), rows.to_pylist(), strict=True))
