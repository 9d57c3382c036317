"""The shared pager: links that work (no "??"), keep every filter, never repeat a row,
show the total and a way back — on members, units and the audit log."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.orgs.models import Unit
from huzhu.orgs.uscc import make_uscc
from tests.fixtures import PASSWORD


@pytest.fixture
def small_pages(monkeypatch):
    from huzhu.lib import paging

    monkeypatch.setattr(paging, "PAGE_SIZE", 3)


def _link(body: str, link_id: str) -> str | None:
    found = re.search(rf'id="{link_id}" href="([^"]*)"', body)
    return unescape(found.group(1)) if found else None


def _walk(client, url: str, row_pattern: str, name: str) -> list[list[str]]:
    """Follow 下一页 to the end; return the row ids of each page."""
    pages = []
    while url:
        assert "??" not in url
        body = client.get(url).content.decode()
        pages.append(re.findall(row_pattern, body))
        url = _link(body, f"{name}-next")
        assert len(pages) < 20
    return pages


def test_member_pages_keep_the_filter_and_never_repeat(client, users, make_member,
                                                       small_pages):
    for i in range(5):
        make_member("a1", name=f"在职{i}", status="active")
        make_member("a1", name=f"退休{i}", status="retired")
    assert client.login(username="clerk_a1", password=PASSWORD)
    start = reverse("members:list") + "?status=retired"
    pages = _walk(client, start, r'id="member-row-(\d+)"', "member")
    rows = [r for page in pages for r in page]
    assert len(pages) == 2 and len(rows) == len(set(rows)) == 5
    body = client.get(start).content.decode()
    assert "共 5 条" in body and "在职" not in body.split('id="member-table"')[1]
    second = client.get(_link(body, "member-next")).content.decode()
    assert "status=retired" in _link(body, "member-next")
    back = client.get(_link(second, "member-prev")).content.decode()
    assert re.findall(r'id="member-row-(\d+)"', back) == pages[0]
    assert _link(second, "member-first").endswith("?status=retired")


def test_unit_pages(client, users, tree, small_pages):
    for i in range(7):
        Unit.objects.create(name=f"单位{i}", uscc=make_uscc(f"91220101MA{100 + i:07d}"),
                            union=tree["a1"])
    assert client.login(username="admin_city", password=PASSWORD)
    pages = _walk(client, reverse("orgs:unit-list") + f"?union={tree['a1'].id}",
                  r'id="unit-row-(\d+)"', "unit")
    rows = [r for page in pages for r in page]
    assert [len(p) for p in pages] == [3, 3, 1] and len(set(rows)) == 7
    body = client.get(reverse("orgs:unit-list"), {"union": tree["a1"].id}).content.decode()
    assert "共 7 条" in body


def test_audit_log_pages(client, users, small_pages):
    for i in range(5):
        log.record(users["admin_city"], AuditEntry.Action.UNIT_UPDATED, None,
                   union_path=users["admin_city"].union.path, summary=f"第{i}条")
    assert client.login(username="auditor_city", password=PASSWORD)
    pages = _walk(client, reverse("audit:log") + "?action=unit.updated",
                  r'id="audit-row-(\d+)"', "audit")
    assert [len(p) for p in pages] == [3, 2]


def test_a_malformed_or_huge_id_is_a_400_not_a_500(client, users):
    assert client.login(username="admin_city", password=PASSWORD)
    for url in ("members:list", "orgs:unit-list", "audit:log"):
        for value in ("99999999999999999999999", "abc", "-1"):
            response = client.get(reverse(url), {"unit": value, "union": value,
                                                  "after": value})
            assert response.status_code == 400, (url, value)
    assert client.get("/members/99999999999999999999/").status_code == 404
    assert client.get("/units/9223372036854775808/").status_code == 404
    assert client.get("/api/members/99999999999999999999").status_code == 422
    assert client.get("/api/units", {"union": "99999999999999999999"}).status_code == 422


def test_the_union_tree_opens_below_the_first_level(client, users, tree):
    assert client.login(username="admin_city", password=PASSWORD)
    city_children = client.get(reverse("orgs:union-children", args=[tree["city"].id]))
    body = city_children.content.decode()
    # each district has grassroots unions below it: each gets its own 展开 button
    for district in ("da", "db"):
        assert f'hx-get="{reverse("orgs:union-children", args=[tree[district].id])}"' in body
    assert body.count("展开（") == 2


def test_api_docs_use_no_cdn(client, users):
    from django.contrib.staticfiles import finders

    assert client.login(username="admin_city", password=PASSWORD)
    body = client.get("/api/docs").content.decode()
    assert "cdn" not in body.lower() and "https://" not in body
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', body):
        assert finders.find(asset), asset
    assert "swagger-ui-bundle.js" in body
