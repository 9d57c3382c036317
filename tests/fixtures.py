"""Fixtures for the Django side: a small union tree, units, members and one user per role."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.uscc import make_uscc

PASSWORD = "huzhu-test-pass-1"
_seq = itertools.count(1)


@pytest.fixture
def tree(db) -> dict[str, Union]:
    """city → district A (grassroots A1, A2), district B (grassroots B1)."""
    city = Union.objects.create(code="C01", name="测试市总工会", level=Union.Level.CITY)
    da = Union.objects.create(code="D01", name="甲区总工会", level="district", parent=city)
    db_ = Union.objects.create(code="D02", name="乙区总工会", level="district", parent=city)
    a1 = Union.objects.create(code="G011", name="甲区一号基层工会", level="grassroots", parent=da)
    a2 = Union.objects.create(code="G012", name="甲区二号基层工会", level="grassroots", parent=da)
    b1 = Union.objects.create(code="G021", name="乙区一号基层工会", level="grassroots", parent=db_)
    return {"city": city, "da": da, "db": db_, "a1": a1, "a2": a2, "b1": b1}


@pytest.fixture
def units(tree) -> dict[str, Unit]:
    def unit(key: str, name: str, n: int) -> Unit:
        return Unit.objects.create(
            name=name, uscc=make_uscc(f"91220101MA{n:07d}"), union=tree[key]
        )

    return {
        "a1": unit("a1", "长春一汽零部件有限公司", 1),
        "a2": unit("a2", "甲区第二医院", 2),
        "b1": unit("b1", "乙区建筑工程有限公司", 3),
    }


@pytest.fixture
def make_member(units):
    def make(unit_key: str = "a1", name: str = "张三", birth=dt.date(1985, 6, 1),
             **fields) -> Member:
        member = Member(name=name, unit=units[unit_key], union=units[unit_key].union,
                        birth_date=birth, **fields)
        number = make_id_number("220102", birth, next(_seq) % 1000)
        member.set_id_number(number)
        member.gender = "M" if int(number[16]) % 2 else "F"
        member.save()
        return member

    return make


@pytest.fixture
def users(tree) -> dict[str, User]:
    """One staff user per role, each at a different node."""
    spec = {
        "clerk_a1": ("clerk", "a1"),
        "clerk_b1": ("clerk", "b1"),
        "reviewer_da": ("reviewer", "da"),
        "finance_city": ("finance", "city"),
        "admin_city": ("admin", "city"),
        "auditor_city": ("auditor", "city"),
    }
    made = {}
    for username, (role, node) in spec.items():
        made[username] = User.objects.create_user(
            username=username, password=PASSWORD, role=role, union=tree[node]
        )
    return made


def search_members(client, q: str, **filters):
    """Search the member list as the page does: the text is POSTed, and the list is then
    shown at ``?s=<token>`` (the text itself never goes into a URL)."""
    from django.urls import reverse

    data = {"q": q, **{k: str(v) for k, v in filters.items()}}
    posted = client.post(reverse("members:list"), data)
    assert posted.status_code == 302, posted
    assert not q or q not in posted.url
    return client.get(posted.url)
