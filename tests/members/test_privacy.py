"""What a role without full-number rights can see must not rebuild an ID number, and
searches by number leave no number in URLs or logs and are limited per day."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from tests.fixtures import PASSWORD, search_members


@pytest.fixture
def member(make_member):
    return make_member("a1", name="张三")


def login(client, username: str):
    client.logout()
    assert client.login(username=username, password=PASSWORD)
    return client


def _hidden_digits(member) -> str:
    return member.id_number[2:-2]


@pytest.mark.parametrize("username", ["clerk_a1", "auditor_city"])
def test_pages_and_api_show_age_not_birth_date(client, users, member, username):
    c = login(client, username)
    birth = member.birth_date
    shown = [
        c.get(reverse("members:list")).content.decode(),
        c.get(reverse("members:detail", args=[member.id])).content.decode(),
        c.get(reverse("orgs:unit-detail", args=[member.unit_id])).content.decode(),
        c.get("/api/members").content.decode(),
        c.get(f"/api/members/{member.id}").content.decode(),
    ]
    for body in shown:
        assert member.id_number not in body
        for form in (birth.isoformat(), birth.strftime("%Y%m%d"), _hidden_digits(member)):
            assert form not in body
    api = c.get(f"/api/members/{member.id}").json()
    assert api["birth_date"] is None
    assert api["age"] == timezone.localdate().year - birth.year
    assert f"{api['age']} 岁" in shown[1]


def test_the_mask_hides_county_and_birth_date(member):
    masked = member.id_number_masked
    assert masked[:2] == member.id_number[:2] and masked[-2:] == member.id_number[-2:]
    assert re.fullmatch(r"\d\d\*{14}[\dX]{2}", masked)


def test_full_number_roles_still_see_the_birth_date(client, users, member):
    c = login(client, "reviewer_da")
    assert member.birth_date.isoformat() in c.get(
        reverse("members:detail", args=[member.id])).content.decode()
    assert c.get(f"/api/members/{member.id}").json()["birth_date"] == \
        member.birth_date.isoformat()


def test_search_text_never_reaches_a_url(client, users, member):
    c = login(client, "clerk_a1")
    posted = c.post(reverse("members:list"), {"q": member.id_number})
    assert posted.status_code == 302 and member.id_number not in posted.url
    shown = c.get(posted.url)
    assert "张三" in shown.content.decode()
    # pager and export links carry the token, not the number
    assert member.id_number not in str(shown.context["params"])


def test_an_unknown_token_asks_for_the_search_again(client, users, member):
    c = login(client, "clerk_a1")
    body = c.get(reverse("members:list"), {"s": "no-such-token"}).content.decode()
    assert "这次搜索已过期" in body


def test_api_refuses_numbers_in_the_query_string(client, users, member):
    c = login(client, "clerk_a1")
    for q in (member.id_number, member.id_number[-4:], "13800138000"):
        response = c.get("/api/members", {"q": q})
        assert response.status_code == 400 and "POST /api/members/search" in response.json()[
            "detail"]


def test_searches_by_number_are_audited_without_the_number(client, users, member):
    c = login(client, "clerk_a1")
    search_members(c, member.id_number)
    search_members(c, member.id_number[-4:])
    search_members(c, "张")  # a name search is not counted
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_SEARCHED)
    assert entries.count() == 2
    for entry in entries:
        assert member.id_number not in entry.summary + str(entry.changes)
        assert member.id_number[-4:] not in entry.summary


def test_number_searches_past_the_daily_limit_are_refused_and_alert_once(
        client, users, member, settings):
    settings.HUZHU_NUMBER_SEARCHES_PER_DAY = 3
    c = login(client, "clerk_a1")
    for _ in range(3):
        assert "张三" in search_members(c, member.id_number).content.decode()
    for _ in range(2):
        refused = c.post(reverse("members:list"), {"q": member.id_number},
                         HTTP_HX_REQUEST="true")
        body = refused.content.decode()
        assert "已达上限" in body and "张三" not in body
    api = c.post("/api/members/search", {"q": member.id_number},
                 content_type="application/json")
    assert api.status_code == 429
    alerts = AuditEntry.objects.filter(action=AuditEntry.Action.SECURITY_ALERT)
    assert alerts.count() == 1 and alerts.get().actor == users["clerk_a1"]
    # another user's allowance is their own
    other = login(client, "reviewer_da")
    assert "张三" in search_members(other, member.id_number).content.decode()
