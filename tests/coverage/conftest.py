"""A premium scheme (Ningshan's policy) at the city and a free one (Changchun's), with a
2026 period open for enrolment, for the coverage tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huzhu.coverage import schemes

D = dt.date
TODAY = D(2026, 2, 10)  # inside the 2026 enrolment window


@pytest.fixture
def admin(users):
    return users["admin_city"]


@pytest.fixture
def premium_scheme(admin, tree):
    return schemes.create_scheme(admin, union=tree["city"], policy_name="ningshan-2024",
                                 code="ningshan-test")


@pytest.fixture
def period(admin, premium_scheme):
    return schemes.create_period(admin, premium_scheme, name="2026年度", start=D(2026, 1, 1),
                                 end=D(2026, 12, 31), premium=Decimal("150.00"),
                                 enrol_from=D(2026, 1, 1), enrol_until=D(2026, 3, 31))


@pytest.fixture
def free_scheme(admin, tree):
    return schemes.create_scheme(admin, union=tree["city"], policy_name="changchun-2023")


@pytest.fixture
def staff(make_member):
    """Unit a1: 4 active (2 women), 1 retired, 1 left; unit a2: 2 active."""
    made = {
        "m1": make_member("a1", name="赵一", birth=D(1980, 1, 1)),
        "m2": make_member("a1", name="钱二", birth=D(1981, 2, 2)),
        "m3": make_member("a1", name="孙三", birth=D(1982, 3, 3)),
        "m4": make_member("a1", name="李四", birth=D(1983, 4, 4)),
        "retired": make_member("a1", name="周退", birth=D(1955, 5, 5), status="retired"),
        "left": make_member("a1", name="吴离", birth=D(1984, 6, 6), status="left"),
        "a2x": make_member("a2", name="郑甲", birth=D(1985, 7, 7)),
        "a2y": make_member("a2", name="王乙", birth=D(1986, 8, 8)),
    }
    return made
