"""Member pages: search, keyset pages, create/edit validation, reveal and its audit trail."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from tests.fixtures import PASSWORD, search_members


@pytest.fixture
def as_user(client, users):
    def login(username: str):
        assert client.login(username=username, password=PASSWORD)
        return client

    return login


def listed(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_search_by_name_prefix_phone_last4_and_full_id(as_user, make_member):
    zhang = make_member("a1", name="张三丰", phone="13800138000")
    make_member("a1", name="李四", phone="13900139000")
    client = as_user("clerk_a1")
    body = listed(search_members(client, "张"))
    assert "张三丰" in body and "李四" not in body
    body = listed(search_members(client, "13800138000"))
    assert "张三丰" in body and "李四" not in body
    body = listed(search_members(client, zhang.id_number[-4:]))
    assert "张三丰" in body
    body = listed(search_members(client, zhang.id_number))
    assert "张三丰" in body and "李四" not in body
    body = listed(search_members(client, zhang.id_number.lower()))
    assert "张三丰" in body


def test_list_shows_masked_ids_only(as_user, make_member):
    member = make_member("a1", name="张三")
    body = listed(as_user("admin_city").get(reverse("members:list")))
    assert member.id_number_masked in body
    assert member.id_number not in body


def test_filters_status_occupation_unit_and_union(as_user, make_member, units, tree):
    make_member("a1", name="甲在职", status="active", occupation="medical")
    make_member("a1", name="甲退休", status="retired")
    make_member("a2", name="乙医生", occupation="medical")
    client = as_user("reviewer_da")
    url = reverse("members:list")
    body = listed(client.get(url, {"status": "retired"}))
    assert "甲退休" in body and "甲在职" not in body
    body = listed(client.get(url, {"occupation": "medical"}))
    assert "甲在职" in body and "乙医生" in body and "甲退休" not in body
    body = listed(client.get(url, {"unit": units["a2"].id}))
    assert "乙医生" in body and "甲在职" not in body
    body = listed(client.get(url, {"union": tree["a1"].id}))
    assert "甲在职" in body and "乙医生" not in body


def test_no_results_and_empty_states(as_user, make_member, units):
    client = as_user("clerk_a1")
    body = listed(client.get(reverse("members:list")))
    assert "暂无会员" in body
    make_member("a1", name="张三")
    body = listed(search_members(client, "欧阳"))
    assert "没有符合条件的会员" in body and "姓名以“欧阳”开头" in body


def test_keyset_pages_cover_every_member_once(as_user, make_member, monkeypatch):
    from huzhu.lib import paging

    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    made = {make_member("a1", name=f"会员{i}").id for i in range(8)}
    client = as_user("clerk_a1")
    seen: list[int] = []
    params: dict = {}
    while True:
        response = client.get(reverse("members:list"), params)
        page = response.context["page"]
        seen.extend(m.id for m in page.items)
        if page.next_after is None:
            break
        params = {"after": page.next_after}
    assert sorted(seen) == sorted(made) and len(seen) == len(made)
    # and back: the previous page of the second page is the first page
    first = client.get(reverse("members:list")).context["page"]
    second = client.get(reverse("members:list"), {"after": first.next_after}).context["page"]
    back = client.get(reverse("members:list"), {"before": second.prev_before}).context["page"]
    assert [m.id for m in back.items] == [m.id for m in first.items]


def test_htmx_search_returns_only_the_results(as_user, make_member):
    make_member("a1", name="张三")
    body = listed(as_user("clerk_a1").get(reverse("members:list"), {"q": "张"},
                                          HTTP_HX_REQUEST="true"))
    assert "张三" in body and "<html" not in body and 'id="member-table"' in body


def test_detail_shows_masked_numbers(as_user, make_member):
    member = make_member("a1", name="张三")
    member.set_bank_account("6222020200112233445")
    member.save()
    body = listed(as_user("reviewer_da").get(reverse("members:detail", args=[member.id])))
    assert member.id_number_masked in body and member.id_number not in body
    assert "6222020200112233445" not in body and member.bank_account_masked in body
    assert "显示完整号码" in body


def test_clerk_gets_no_reveal_button_and_reveal_is_forbidden(as_user, make_member):
    member = make_member("a1", name="张三")
    client = as_user("clerk_a1")
    body = listed(client.get(reverse("members:detail", args=[member.id])))
    assert "显示完整号码" not in body
    response = client.post(reverse("members:reveal", args=[member.id, "id_number"]))
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ID_VIEWED).exists()


def test_reveal_shows_full_id_and_audits_each_view(as_user, make_member, users):
    member = make_member("a1", name="张三")
    client = as_user("reviewer_da")
    url = reverse("members:reveal", args=[member.id, "id_number"])
    assert client.get(url).status_code == 405  # a GET must not reveal (prefetchers, logs)
    for _ in range(2):
        body = listed(client.post(url, HTTP_HX_REQUEST="true"))
        assert member.id_number in body
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.ID_VIEWED)
    assert entries.count() == 2
    entry = entries.first()
    assert entry.actor == users["reviewer_da"] and entry.object_id == str(member.id)
    assert entry.union_path == member.union.path
    assert member.id_number not in entry.summary + str(entry.changes)


def test_reveal_bank_account_is_audited(as_user, make_member):
    member = make_member("a1", name="张三")
    member.set_bank_account("6222020200112233445")
    member.save()
    body = listed(as_user("finance_city").post(
        reverse("members:reveal", args=[member.id, "bank_account"])))
    assert "6222020200112233445" in body
    assert AuditEntry.objects.filter(action=AuditEntry.Action.BANK_VIEWED).count() == 1


def _form(units, **overrides) -> dict:
    data = {
        "name": "赵六", "id_number": make_id_number("220102", dt.date(1990, 3, 4), 123),
        "phone": "138 0013 8000", "unit": units["a1"].id, "joined_on": "2020-01-01",
        "status": "active", "occupation": "medical", "bank_account": "",
        "family_head_id_number": "",
    }
    data.update(overrides)
    return data


def test_create_member_derives_birth_and_gender_and_audits(as_user, units, users):
    data = _form(units)
    response = as_user("clerk_a1").post(reverse("members:create"), data)
    assert response.status_code == 302
    member = Member.find_by_id_number(data["id_number"])
    assert member is not None and member.name == "赵六"
    assert member.birth_date == dt.date(1990, 3, 4) and member.gender == "M"
    assert member.phone == "13800138000" and member.union == units["a1"].union
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_CREATED)
    assert entry.actor == users["clerk_a1"] and entry.object_id == str(member.id)
    assert entry.changes["name"] == [None, "赵六"]
    assert data["id_number"] not in str(entry.changes) + entry.summary


def test_create_refuses_bad_id_number_with_its_message(as_user, units):
    good = make_id_number("220102", dt.date(1990, 3, 4), 123)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    response = as_user("clerk_a1").post(reverse("members:create"), _form(units, id_number=bad))
    assert response.status_code == 200
    body = response.content.decode()
    assert "身份证号校验位错误" in body
    assert Member.objects.count() == 0


def test_create_refuses_legacy_15_digit_and_bad_phone(as_user, units):
    response = as_user("clerk_a1").post(reverse("members:create"), _form(
        units, id_number="220102900304123", phone="12345"))
    body = response.content.decode()
    assert "15位旧身份证号" in body and "手机号应为11位" in body
    assert Member.objects.count() == 0


def test_create_refuses_duplicate_id_number(as_user, make_member, units):
    existing = make_member("b1", name="王五")  # even outside the clerk's scope
    response = as_user("clerk_a1").post(reverse("members:create"),
                                        _form(units, id_number=existing.id_number))
    assert response.status_code == 200
    body = response.content.decode()
    assert "已有该职工的会员记录" in body and "申请转会" in body
    assert "乙区" not in body and "王五" not in body  # no hint where the other member is
    assert Member.objects.count() == 1


def test_create_refuses_unit_outside_scope(as_user, units):
    response = as_user("clerk_a1").post(reverse("members:create"),
                                        _form(units, unit=units["b1"].id))
    assert response.status_code == 200
    assert Member.objects.count() == 0
    assert "乙区建筑工程有限公司" not in response.content.decode()


def test_auditor_and_finance_cannot_create_or_edit(as_user, make_member, units):
    member = make_member("a1")
    for username in ("auditor_city", "finance_city"):
        client = as_user(username)
        assert client.get(reverse("members:create")).status_code == 403
        assert client.post(reverse("members:create"), _form(units)).status_code == 403
        assert client.get(reverse("members:edit", args=[member.id])).status_code == 403
    assert Member.objects.count() == 1


def test_edit_records_changed_fields_without_plaintext_id(as_user, make_member, units):
    member = make_member("a1", name="张三", phone="13800138000")
    new_id = make_id_number("110101", dt.date(1970, 1, 2), 246)
    client = as_user("clerk_a1")
    page = listed(client.get(reverse("members:edit", args=[member.id])))
    assert member.id_number not in page and member.id_number_masked in page
    data = _form(units, name="张三", id_number=new_id, phone="13900139000",
                 unit=units["a1"].id, status="retired", occupation="other", joined_on="")
    response = client.post(reverse("members:edit", args=[member.id]), data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.id_number == new_id and member.birth_date == dt.date(1970, 1, 2)
    assert member.gender == "F" and member.status == "retired"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.MEMBER_UPDATED)
    assert entry.changes["phone"] == ["13800138000", "13900139000"]
    assert entry.changes["status"] == ["在职", "退休"]
    assert entry.changes["id_number"] == "已修改"
    assert "name" not in entry.changes
    assert new_id not in str(entry.changes) and new_id not in entry.summary


def test_edit_with_blank_id_keeps_it(as_user, make_member, units):
    member = make_member("a1", name="张三")
    original = member.id_number
    data = _form(units, name="张三改", id_number="", occupation="other", phone="")
    assert as_user("clerk_a1").post(reverse("members:edit", args=[member.id]),
                                    data).status_code == 302
    member.refresh_from_db()
    assert member.id_number == original and member.name == "张三改"


def test_family_link_must_be_a_member_in_scope(as_user, make_member, units):
    head = make_member("a1", name="户主")
    stranger = make_member("b1", name="外人")
    client = as_user("clerk_a1")
    data = _form(units, family_head_id_number=stranger.id_number)
    body = client.post(reverse("members:create"), data).content.decode()
    assert "未在您可见的范围内找到" in body
    data = _form(units, family_head_id_number=head.id_number)
    assert client.post(reverse("members:create"), data).status_code == 302
    assert Member.find_by_id_number(data["id_number"]).family_head == head


def test_export_form_carries_the_current_filters_and_token(as_user, make_member):
    member = make_member("a1", name="张三")
    client = as_user("clerk_a1")
    response = client.post(reverse("members:list"), {"q": "张", "status": "active"},
                           HTTP_HX_REQUEST="true")
    body = listed(response)
    pushed = parse_qs(urlparse(response["HX-Push-Url"]).query)
    assert pushed["status"] == ["active"] and "q" not in pushed
    assert "%E5%BC%A0" not in response["HX-Push-Url"]
    form = body.split('id="member-export-form"', 1)[1].split("</form>", 1)[0]
    token = pushed["s"][0]
    assert f'name="s" value="{token}"' in form and 'name="status" value="active"' in form
    assert "name=\"after\"" not in form and "value=\"张\"" not in form
    assert member.name in body


def test_unit_filter_drop_down_lists_only_units_in_scope(as_user, units):
    body = listed(as_user("reviewer_da").get(reverse("members:list")))
    select = body.split('id="member-unit"', 1)[1].split("</select>", 1)[0]
    assert "长春一汽零部件有限公司" in select and "甲区第二医院" in select
    assert "乙区建筑工程有限公司" not in select


def test_revealed_number_is_not_cached(as_user, make_member):
    member = make_member("a1")
    response = as_user("admin_city").post(reverse("members:reveal", args=[member.id, "id_number"]))
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_detail_lists_family_members_in_scope(as_user, make_member):
    head = make_member("a1", name="户主")
    make_member("a2", name="家属甲二", family_head=head)
    make_member("b1", name="家属乙一", family_head=head)
    body = listed(as_user("reviewer_da").get(reverse("members:detail", args=[head.id])))
    assert "家属甲二" in body and "家属乙一" not in body


def test_a_family_head_of_another_union_stays_unnamed(as_user, make_member):
    head = make_member("b1", name="乙区户主")
    relative = make_member("a1", name="甲区家属", family_head=head)
    client = as_user("clerk_a1")
    body = listed(client.get(reverse("members:detail", args=[relative.id])))
    assert "乙区户主" not in body and "其他工会的会员" in body
    form = listed(client.get(reverse("members:edit", args=[relative.id])))
    assert "乙区户主" not in form
    api = client.get(f"/api/members/{relative.id}").json()
    assert api["family_head_id"] is None


def test_join_date_in_the_future_and_an_underage_active_member_are_refused(as_user, units):
    import datetime as _dt

    from django.utils import timezone

    client = as_user("clerk_a1")
    tomorrow = (timezone.localdate() + _dt.timedelta(days=1)).isoformat()
    body = listed(client.post(reverse("members:create"), _form(units, joined_on=tomorrow)))
    assert "入会日期不能晚于今天" in body
    child = make_id_number("220102", timezone.localdate().replace(year=timezone.localdate()
                                                                    .year - 6), 124)
    body = listed(client.post(reverse("members:create"),
                              _form(units, id_number=child, joined_on="")))
    error = body.split('id="error-id_number">', 1)[1].split("<", 1)[0]
    assert "未满16周岁" in error and child[6:14] not in error
    assert Member.objects.count() == 0
