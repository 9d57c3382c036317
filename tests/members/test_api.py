"""The REST API: session auth with CSRF, masked numbers, keyset pages, OpenAPI docs."""

from __future__ import annotations

import pytest

from tests.fixtures import PASSWORD


@pytest.fixture
def api(client, users):
    assert client.login(username="reviewer_da", password=PASSWORD)
    return client


def test_anonymous_requests_are_refused(client, db):
    assert client.get("/api/members").status_code == 401
    assert client.get("/api/unions").status_code == 401


def test_members_are_masked(api, make_member):
    member = make_member("a1", name="张三", phone="13800138000")
    member.set_bank_account("6222020200112233445")
    member.save()
    item = api.get("/api/members").json()["items"][0]
    assert item["name"] == "张三" and item["id_number_masked"] == member.id_number_masked
    assert item["unit_name"] == "长春一汽零部件有限公司"
    assert "id_number" not in item
    detail = api.get(f"/api/members/{member.id}").json()
    text = str(detail)
    assert member.id_number not in text and "6222020200112233445" not in text
    assert detail["bank_account_masked"] == member.bank_account_masked


def test_members_keyset_pages(api, make_member):
    made = [make_member("a1", name=f"会员{i}").id for i in range(5)]
    first = api.get("/api/members", {"limit": 2}).json()
    assert [m["id"] for m in first["items"]] == sorted(made, reverse=True)[:2]
    seen = [m["id"] for m in first["items"]]
    after = first["next_after"]
    while after:
        page = api.get("/api/members", {"limit": 2, "after": after}).json()
        seen += [m["id"] for m in page["items"]]
        after = page["next_after"]
    assert sorted(seen) == sorted(made)


def test_members_search_and_filters(api, make_member, units):
    make_member("a1", name="张三", status="retired")
    make_member("a2", name="李四")
    assert [m["name"] for m in api.get("/api/members", {"q": "张"}).json()["items"]] == ["张三"]
    items = api.get("/api/members", {"status": "retired"}).json()["items"]
    assert [m["name"] for m in items] == ["张三"]
    items = api.get("/api/members", {"unit": units["a2"].id}).json()["items"]
    assert [m["name"] for m in items] == ["李四"]


def test_unions_tree_walk(api, tree):
    top = api.get("/api/unions").json()
    assert [u["name"] for u in top] == ["甲区总工会"]
    children = api.get("/api/unions", {"parent": tree["da"].id}).json()
    assert {u["name"] for u in children} == {"甲区一号基层工会", "甲区二号基层工会"}
    assert api.get("/api/unions", {"parent": tree["db"].id}).json() == []


def test_units_list_and_search(api, units):
    items = api.get("/api/units").json()["items"]
    assert {u["name"] for u in items} == {"长春一汽零部件有限公司", "甲区第二医院"}
    items = api.get("/api/units", {"q": units["a2"].uscc}).json()["items"]
    assert [u["name"] for u in items] == ["甲区第二医院"]


def test_openapi_docs_for_logged_in_staff(client, users):
    assert client.get("/api/docs").status_code == 302
    client.login(username="clerk_a1", password=PASSWORD)
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/members" in schema["paths"] and "/api/members/{member_id}" in schema["paths"]
