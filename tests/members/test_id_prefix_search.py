"""Issue 21, item 13: a search for "220102" is the start of an ID number, not a name; it
counts toward the daily number-search limit and is audited without the digits."""

from __future__ import annotations

import datetime as dt

import pytest

from huzhu.audit.models import AuditEntry
from huzhu.members import search
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from huzhu.members.search import MemberQuery
from tests.fixtures import PASSWORD, search_members


@pytest.fixture
def people(make_member, units):
    nanguan = make_member("a1", name="南关甲", birth=dt.date(1985, 6, 1))  # 220102…
    other = Member(name="朝阳乙", unit=units["a1"], union=units["a1"].union,
                   birth_date=dt.date(1985, 6, 1))
    other.set_id_number(make_id_number("110105", dt.date(1985, 6, 1), 7))
    other.gender = "M" if int(other.id_number[16]) % 2 else "F"
    other.save()
    older = make_member("a1", name="南关丙", birth=dt.date(1970, 3, 9))
    return nanguan, other, older


def test_six_digits_or_more_read_as_an_id_number_prefix():
    assert MemberQuery(q="220102").kind == "id_prefix"
    assert MemberQuery(q="22010219850601").kind == "id_prefix"
    assert MemberQuery(q="13800138000").kind == "phone"  # a mobile stays a mobile
    assert MemberQuery(q="1234").kind == "id_last4"
    assert MemberQuery(q="220102").by_number
    assert MemberQuery(q="220102").describe() == "按身份证号开头几位查找"


def test_a_clerk_finds_members_by_region_and_birth_date(client, users, people):
    del people  # made for their ID numbers
    assert client.login(username="clerk_a1", password=PASSWORD)
    body = search_members(client, "220102").content.decode()
    assert "南关甲" in body and "南关丙" in body and "朝阳乙" not in body
    body = search_members(client, "2201021985").content.decode()
    assert "南关甲" in body and "南关丙" not in body
    body = search_members(client, "110105198506").content.decode()
    assert "朝阳乙" in body and "南关甲" not in body
    body = search_members(client, "2201021985130").content.decode()  # no 13th month
    assert "没有符合条件的会员" in body and "地区码" in body
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_SEARCHED)
    assert entries.count() == 4
    assert all("220102" not in e.summary + str(e.changes) for e in entries)
    assert entries.first().changes["kind"] == "id_prefix"


def test_the_prefix_scan_reads_only_the_newest_members(users, people, monkeypatch):
    del people  # made for their ID numbers
    monkeypatch.setattr(search, "PREFIX_SCAN_LIMIT", 2)  # the newest two: other, older
    found = search.search_members(users["clerk_a1"], MemberQuery(q="220102"))
    assert [m.name for m in found] == ["南关丙"]


def test_prefix_searches_count_toward_the_daily_limit(client, users, people, settings):
    settings.HUZHU_NUMBER_SEARCHES_PER_DAY = 1
    assert client.login(username="clerk_a1", password=PASSWORD)
    assert "南关甲" in search_members(client, "220102").content.decode()
    assert "已达上限" in search_members(client, "220102").content.decode()
