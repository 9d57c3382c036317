"""Each page renders for a logged-in user, shows what it should, and refuses strangers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from tests.fixtures import PASSWORD


@pytest.fixture
def as_user(client, users):
    def login(username: str):
        assert client.login(username=username, password=PASSWORD)
        return client

    return login


PAGES = ["home", "orgs:union-tree", "orgs:unit-list", "members:list"]


@pytest.mark.parametrize("name", [*PAGES, "audit:log", "members:create"])
def test_pages_redirect_anonymous_users_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_chinese_with_stable_ids(client, db):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    for marker in ('id="login-form"', 'name="username"', 'name="password"', "登录"):
        assert marker in body


def test_login_with_wrong_password_shows_error(client, users):
    response = client.post(reverse("login"), {"username": "clerk_a1", "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()


def test_login_then_logout(client, users):
    response = client.post(reverse("login"), {"username": "clerk_a1", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_static_assets_come_from_packages(as_user):
    body = as_user("clerk_a1").get(reverse("home")).content.decode()
    assert "bootstrap/css/bootstrap.min.css" in body
    assert "/static/django_htmx/htmx-2.min.js" in body
    assert "cdn" not in body.lower()


def test_bootstrap_is_found_by_staticfiles():
    from django.contrib.staticfiles import finders

    assert finders.find("bootstrap/css/bootstrap.min.css")
    assert finders.find("bootstrap/js/bootstrap.bundle.min.js")
    assert finders.find("web/site.css")
    assert finders.find("django_htmx/htmx-2.min.js")


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_each_role(as_user, make_member, name):
    make_member("a1", name="张三")
    for username in ("clerk_a1", "reviewer_da", "auditor_city", "admin_city", "finance_city"):
        response = as_user(username).get(reverse(name))
        assert response.status_code == 200, username


def test_home_counts_only_the_scope(as_user, make_member):
    make_member("a1", name="张三")
    make_member("a1", name="李四", status="retired")
    make_member("b1", name="王五")
    body = as_user("clerk_a1").get(reverse("home")).content.decode()
    assert 'id="count-members">2<' in body
    assert "在职 1" in body and "退休 1" in body
    body = as_user("admin_city").get(reverse("home")).content.decode()
    assert 'id="count-members">3<' in body
    assert "甲区总工会" in body and "乙区总工会" in body  # spread over the districts


def test_home_empty_state_offers_import(as_user, units):
    body = as_user("clerk_a1").get(reverse("home")).content.decode()
    assert "暂无会员" in body and "去导入" in body
    assert reverse("imports:new") in body


def test_navbar_import_link_hidden_for_auditor(as_user, units):
    assert 'id="nav-import"' in as_user("clerk_a1").get(reverse("home")).content.decode()
    assert 'id="nav-import"' not in as_user("auditor_city").get(reverse("home")).content.decode()


def test_union_tree_and_children_fragment(as_user, tree):
    client = as_user("reviewer_da")
    body = client.get(reverse("orgs:union-tree")).content.decode()
    assert "甲区总工会" in body and "乙区总工会" not in body
    fragment = client.get(reverse("orgs:union-children", args=[tree["da"].id]),
                          HTTP_HX_REQUEST="true").content.decode()
    assert "甲区一号基层工会" in fragment and "甲区二号基层工会" in fragment
    assert "<html" not in fragment


def test_a_single_root_opens_its_children_on_load(as_user, tree):
    body = as_user("admin_city").get(reverse("orgs:union-tree")).content.decode()
    children_url = reverse("orgs:union-children", args=[tree["city"].id])
    assert f'hx-get="{children_url}" hx-trigger="load"' in body
    assert "展开（2）" not in body  # no button for what opens by itself


def test_union_children_outside_scope_is_404(as_user, tree):
    client = as_user("reviewer_da")
    assert client.get(reverse("orgs:union-children", args=[tree["db"].id])).status_code == 404
    assert client.get(reverse("orgs:union-children", args=[tree["city"].id])).status_code == 404


def test_unit_list_search_and_detail(as_user, units, make_member):
    make_member("a1", name="张三")
    client = as_user("reviewer_da")
    body = client.get(reverse("orgs:unit-list")).content.decode()
    assert "长春一汽零部件有限公司" in body and "甲区第二医院" in body
    assert "乙区建筑工程有限公司" not in body
    body = client.get(reverse("orgs:unit-list"), {"q": "甲区"}).content.decode()
    assert "甲区第二医院" in body and "长春一汽" not in body
    body = client.get(reverse("orgs:unit-list"), {"q": units["a1"].uscc}).content.decode()
    assert "长春一汽零部件有限公司" in body and "甲区第二医院" not in body
    body = client.get(reverse("orgs:unit-detail", args=[units["a1"].id])).content.decode()
    assert units["a1"].uscc in body and "张三" in body


def test_unit_list_empty_search_message(as_user, units):
    body = as_user("clerk_a1").get(reverse("orgs:unit-list"), {"q": "不存在"}).content.decode()
    assert "没有找到名称以“不存在”开头" in body


def test_audit_log_page_for_admin_and_auditor_only(as_user, make_member, users):
    member_a = make_member("a1", name="张三")
    member_b = make_member("b1", name="王五")
    log.record(users["admin_city"], AuditEntry.Action.MEMBER_UPDATED, member_a, summary="改甲")
    log.record(users["admin_city"], AuditEntry.Action.MEMBER_UPDATED, member_b, summary="改乙",
               changes={"phone": ["13800000000", "13900000000"]})
    body = as_user("auditor_city").get(reverse("audit:log")).content.decode()
    assert "改甲" in body and "改乙" in body
    assert "手机号" in body and "13800000000 → 13900000000" in body
    assert as_user("clerk_a1").get(reverse("audit:log")).status_code == 403
    assert as_user("reviewer_da").get(reverse("audit:log")).status_code == 403


def test_audit_log_scoped_to_admins_subtree(client, tree, make_member, users):
    from huzhu.orgs.models import User

    User.objects.create_user(username="admin_da", password=PASSWORD, role="admin",
                             union=tree["da"])
    log.record(None, AuditEntry.Action.MEMBER_UPDATED, make_member("a1"), summary="改甲")
    log.record(None, AuditEntry.Action.MEMBER_UPDATED, make_member("b1"), summary="改乙")
    client.login(username="admin_da", password=PASSWORD)
    body = client.get(reverse("audit:log")).content.decode()
    assert "改甲" in body and "改乙" not in body


def test_404_page_is_chinese(as_user, settings):
    settings.DEBUG = False
    response = as_user("clerk_a1").get("/no-such-page/")
    assert response.status_code == 404
    assert "找不到您要访问的页面" in response.content.decode()


def test_403_page_is_chinese(as_user):
    response = as_user("auditor_city").get(reverse("members:create"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "您没有权限进行此操作" in body and "只能查看" in body


def test_500_page_is_standalone_chinese():
    from django.template.loader import render_to_string

    assert "系统出现了内部错误" in render_to_string("500.html")


def test_admin_site_for_superusers(client, tree, make_member):
    from huzhu.orgs.models import User

    member = make_member("a1", name="张三")
    User.objects.create_superuser(username="root", password=PASSWORD, email="")
    client.login(username="root", password=PASSWORD)
    for url in ("/admin/", "/admin/orgs/union/", "/admin/orgs/unit/", "/admin/orgs/user/",
                "/admin/members/member/", f"/admin/members/member/{member.id}/change/",
                "/admin/audit/auditentry/"):
        assert client.get(url).status_code == 200, url
    body = client.get("/admin/members/member/").content.decode()
    assert member.id_number_masked in body and member.id_number not in body


def test_home_page_offers_a_member_search(client, users):
    client.force_login(users["clerk_a1"])
    page = client.get("/").content.decode()
    assert 'id="home-member-search"' in page
    assert 'action="/members/"' in page
