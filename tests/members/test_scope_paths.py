"""Scope on every path: a clerk of grassroots A1 never sees a member of B1, by any road.

A district reviewer sees both of the district's grassroots unions and not the other
district's. Objects outside the scope are 404, never 403, so their existence is hidden.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from huzhu.members.models import MemberExport
from tests.fixtures import PASSWORD, search_members


@pytest.fixture
def people(make_member):
    return {
        "a1": make_member("a1", name="甲一会员", phone="13811110001"),
        "a2": make_member("a2", name="甲二会员", phone="13811110002"),
        "b1": make_member("b1", name="乙一会员", phone="13811110003"),
    }


@pytest.fixture
def login(client, users):
    def as_(username: str):
        client.logout()
        assert client.login(username=username, password=PASSWORD)
        return client

    return as_


def page(client, q: str = "", **params) -> str:
    response = (search_members(client, q, **params) if q
                else client.get(reverse("members:list"), params))
    assert response.status_code == 200
    return response.content.decode()


def test_list_is_scoped(login, people):
    body = page(login("clerk_a1"))
    assert "甲一会员" in body and "甲二会员" not in body and "乙一会员" not in body
    body = page(login("reviewer_da"))
    assert "甲一会员" in body and "甲二会员" in body and "乙一会员" not in body
    body = page(login("clerk_b1"))
    assert "乙一会员" in body and "甲一会员" not in body
    body = page(login("admin_city"))
    assert all(name in body for name in ("甲一会员", "甲二会员", "乙一会员"))


@pytest.mark.parametrize("how", ["name", "phone", "last4", "full_id"])
def test_search_never_crosses_scope(login, people, how):
    b1 = people["b1"]
    q = {"name": "乙一", "phone": b1.phone, "last4": b1.id_number[-4:],
         "full_id": b1.id_number}[how]
    for username in ("clerk_a1", "reviewer_da"):
        assert "乙一会员" not in page(login(username), q=q), username
    assert "乙一会员" in page(login("clerk_b1"), q=q)


def test_filter_by_foreign_union_or_unit_shows_nothing(login, people, tree, units):
    client = login("clerk_a1")
    assert "乙一会员" not in page(client, union=tree["b1"].id)
    assert "乙一会员" not in page(client, union=tree["city"].id)
    assert "乙一会员" not in page(client, unit=units["b1"].id)


@pytest.mark.parametrize("name", ["members:detail", "members:edit"])
def test_detail_and_edit_urls_are_404_outside_scope(login, people, name):
    url = reverse(name, args=[people["b1"].id])
    assert login("clerk_a1").get(url).status_code == 404
    assert login("reviewer_da").get(url).status_code == 404
    assert login("clerk_b1").get(url).status_code == 200
    url_a2 = reverse(name, args=[people["a2"].id])
    assert login("reviewer_da").get(url_a2).status_code == 200
    assert login("clerk_a1").get(url_a2).status_code == 404


def test_edit_post_outside_scope_changes_nothing(login, people, units):
    b1 = people["b1"]
    response = login("reviewer_da").post(reverse("members:edit", args=[b1.id]),
                                         {"name": "被改了", "unit": units["a1"].id})
    assert response.status_code == 404
    b1.refresh_from_db()
    assert b1.name == "乙一会员"


def test_reveal_outside_scope_is_404_and_not_audited(login, people):
    from huzhu.audit.models import AuditEntry

    url = reverse("members:reveal", args=[people["b1"].id, "id_number"])
    assert login("reviewer_da").post(url).status_code == 404
    assert not AuditEntry.objects.exists()


def test_unit_pages_are_scoped(login, people, units):
    client = login("clerk_a1")
    body = client.get(reverse("orgs:unit-list")).content.decode()
    assert "长春一汽零部件有限公司" in body and "乙区建筑工程有限公司" not in body
    assert client.get(reverse("orgs:unit-detail", args=[units["b1"].id])).status_code == 404
    assert client.get(reverse("orgs:unit-detail", args=[units["a1"].id])).status_code == 200


def _exported_names(client, q: str = "") -> list[str]:
    data = {}
    if q:
        listed = search_members(client, q)
        data["s"] = listed.context["token"]
    assert client.post(reverse("members:export"), data).status_code == 302
    job = MemberExport.objects.latest("id")
    response = client.post(reverse("members:export-download", args=[job.pk]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_export_is_scoped(login, people, settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.UPLOAD_ROOT = tmp_path
    assert _exported_names(login("clerk_a1")) == ["甲一会员"]
    assert sorted(_exported_names(login("reviewer_da"))) == ["甲一会员", "甲二会员"]
    assert _exported_names(login("reviewer_da"), q=people["b1"].id_number) == []


def test_api_list_is_scoped(login, people):
    client = login("clerk_a1")
    names = [m["name"] for m in client.get("/api/members").json()["items"]]
    assert names == ["甲一会员"]
    assert client.get("/api/members", {"q": "乙一"}).json()["items"] == []
    for q in ("乙一", people["b1"].phone, people["b1"].id_number[-4:], people["b1"].id_number):
        found = client.post("/api/members/search", {"q": q}, content_type="application/json")
        assert found.status_code == 200 and found.json()["items"] == [], q
    own = client.post("/api/members/search", {"q": people["a1"].id_number},
                      content_type="application/json").json()["items"]
    assert [m["name"] for m in own] == ["甲一会员"]
    names = {m["name"] for m in login("reviewer_da").get("/api/members").json()["items"]}
    assert names == {"甲一会员", "甲二会员"}


def test_api_detail_is_404_outside_scope(login, people, units, tree):
    client = login("reviewer_da")
    assert client.get(f"/api/members/{people['b1'].id}").status_code == 404
    assert client.get(f"/api/members/{people['a2'].id}").status_code == 200
    assert client.get(f"/api/units/{units['b1'].id}").status_code == 404
    assert client.get(f"/api/unions/{tree['db'].id}").status_code == 404
    assert client.get(f"/api/unions/{tree['a1'].id}").status_code == 200


def test_user_without_a_union_sees_nothing(client, people):
    from huzhu.orgs.models import User

    User.objects.create_user(username="loose", password=PASSWORD, role="admin")
    client.login(username="loose", password=PASSWORD)
    body = client.get(reverse("members:list")).content.decode()
    assert "会员" in body and "甲一会员" not in body and "乙一会员" not in body
    assert client.get(reverse("members:detail", args=[people["a1"].id])).status_code == 404
    assert client.get("/api/members").json()["items"] == []


def test_filter_by_foreign_unit_does_not_show_its_name(login, people, units):
    body = page(login("clerk_a1"), unit=units["b1"].id)
    assert "乙区建筑工程有限公司" not in body
