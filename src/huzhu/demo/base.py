"""The parts every demo step shares: the context it reads and fills, and progress reporting.

A step is a function ``(ctx) -> int`` (rows made). Steps run in order inside one
transaction, so a later step (enrolments, claims, feeds) finds what earlier ones made on
the context. Each step draws from its own random stream, seeded by the demo seed and the
step's name: adding a step never changes the data of the steps before it.
"""

from __future__ import annotations

import datetime as dt
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from huzhu.orgs.models import Union, Unit, User

# The demo city is pictured on this day: ages, membership dates and (later) claims are
# relative to it, so the same seed gives the same data on any day it is run.
AS_OF = dt.date(2026, 6, 30)


class Progress(Protocol):
    def start(self, label: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class NullProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


@dataclass
class DemoContext:
    seed: int
    members: int
    progress: Progress = field(default_factory=NullProgress)
    as_of: dt.date = AS_OF
    # Filled by the registry steps, in creation order.
    city: Union | None = None
    districts: list[Union] = field(default_factory=list)
    grassroots: list[Union] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    unit_kinds: list[str] = field(default_factory=list)
    unit_member_counts: list[int] = field(default_factory=list)
    # Members are kept compact (1,000,000 of them): pk, gender (1 = male), birth year.
    member_ids: array = field(default_factory=lambda: array("q"))
    member_male: bytearray = field(default_factory=bytearray)
    member_birth_years: array = field(default_factory=lambda: array("H"))
    staff: dict[str, User] = field(default_factory=dict)
    # Room for later steps to hand data to the steps after them.
    extra: dict[str, Any] = field(default_factory=dict)

    def rng(self, step: str) -> random.Random:
        return random.Random(f"huzhu-demo:{self.seed}:{step}")


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    run: Callable[[DemoContext], int]
