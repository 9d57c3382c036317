"""The outbox page: admins and auditors read their subtree's messages, in Chinese; admins
send a failed one again (audited); everyone else gets no link and a 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.notify import outbox
from huzhu.notify.models import OutboxMessage
from huzhu.orgs.models import User
from tests.fixtures import PASSWORD
from tests.notify.conftest import RENEWAL, UNPAID

State = OutboxMessage.State


@pytest.fixture
def messages(make_member):
    """A sent reminder in district A, a failed one in district B, a pending one in A."""
    a = make_member("a1", name="张三", phone="13800000001")
    b = make_member("b1", name="李四", phone="13800000002")
    sent = outbox.enqueue(kind=RENEWAL, to=a.phone, text="张三您好：请于12月31日前续保。",
                          dedupe_key="r:a", member=a)
    failed = outbox.enqueue(kind=UNPAID, to=b.phone, text="李四您好：本年度互助金尚未缴纳。",
                            dedupe_key="u:b", member=b)
    pending = outbox.enqueue(kind=UNPAID, to=a.phone, text="张三您好：本年度互助金尚未缴纳。",
                             dedupe_key="u:a", member=a)
    OutboxMessage.objects.filter(pk=sent.pk).update(state=State.SENT, attempts=1)
    OutboxMessage.objects.filter(pk=failed.pk).update(state=State.FAILED, attempts=5,
                                                      last_error="号码已停机")
    return {"sent": sent, "failed": failed, "pending": pending}


def _get(client, username: str, **params):
    assert client.login(username=username, password=PASSWORD)
    return client.get(reverse("notify:outbox"), params)


def _rows(response) -> set[int]:
    return {m.pk for m in response.context["page"].items}


def test_the_city_admin_sees_every_message_in_chinese(client, users, messages):
    response = _get(client, "admin_city")
    assert response.status_code == 200
    assert _rows(response) == {m.pk for m in messages.values()}
    body = response.content.decode()
    for text in ("短信发件箱", "续保提醒（测试）", "缴费提醒（测试）", "已发送", "发送失败",
                 "待发送", "号码已停机", "张三您好", "13800000002", "已尝试 5 次", "共 3 条"):
        assert text in body, text
    assert f'id="outbox-retry-{messages["failed"].pk}"' in body  # only the failed one
    assert f'id="outbox-retry-{messages["sent"].pk}"' not in body
    for code in ("test.renewal", "pending", "failed"):
        assert f">{code}<" not in body


def test_filters_by_state_and_kind(client, users, messages):
    assert _rows(_get(client, "admin_city", state="failed")) == {messages["failed"].pk}
    assert _rows(_get(client, "admin_city", kind=UNPAID)) == {messages["failed"].pk,
                                                              messages["pending"].pk}
    assert _rows(_get(client, "admin_city", kind=UNPAID, state="pending")) == {
        messages["pending"].pk}
    # Unknown values are ignored, not a 500 or an empty page.
    assert len(_rows(_get(client, "admin_city", state="nope", kind="x.y"))) == 3


def test_an_admin_of_another_district_sees_only_theirs(client, tree, users, messages):
    User.objects.create_user("admin_db", password=PASSWORD, role="admin", union=tree["db"])
    assert _rows(_get(client, "admin_db")) == {messages["failed"].pk}
    User.objects.create_user("auditor_da", password=PASSWORD, role="auditor", union=tree["da"])
    client.logout()
    assert _rows(_get(client, "auditor_da")) == {messages["sent"].pk, messages["pending"].pk}


@pytest.mark.parametrize("username", ["clerk_a1", "reviewer_da", "finance_city"])
def test_other_roles_are_refused_and_have_no_link(client, users, messages, username):
    response = _get(client, username)
    assert response.status_code == 403
    home = client.get(reverse("home")).content.decode()
    assert 'id="nav-outbox"' not in home


@pytest.mark.parametrize("username", ["admin_city", "auditor_city"])
def test_admins_and_auditors_have_the_link(client, users, username):
    assert client.login(username=username, password=PASSWORD)
    assert 'id="nav-outbox"' in client.get(reverse("home")).content.decode()


def test_an_empty_outbox_says_so(client, users):
    response = _get(client, "auditor_city")
    assert "发件箱里还没有短信" in response.content.decode()
    assert "没有符合筛选条件的短信" in _get(client, "auditor_city", state="sent").content.decode()


def test_an_admin_sends_a_failed_message_again_and_it_is_audited(client, users, messages,
                                                                 settings):
    failed = messages["failed"]
    assert client.login(username="admin_city", password=PASSWORD)
    response = client.post(reverse("notify:retry", args=[failed.pk]), {"state": "failed"})
    assert response.status_code == 302
    assert response.url == reverse("notify:outbox") + "?state=failed"
    # Queued again, and the (immediate) task sent it at once through the file gateway.
    failed.refresh_from_db()
    assert failed.state == State.SENT and failed.attempts == 1
    entry = AuditEntry.objects.get(action=AuditEntry.Action.NOTIFY_RETRIED)
    assert entry.actor == users["admin_city"] and entry.object_id == str(failed.pk)
    assert entry.union_path == failed.union.path and "缴费提醒（测试）" in entry.summary
    assert "13800000002" not in entry.summary + str(entry.changes)
    log = client.get(reverse("audit:log")).content.decode()
    assert "重发短信" in log and "已尝试次数" in log and "号码已停机" in log


def test_retrying_what_has_not_failed_changes_nothing(client, users, messages):
    sent = messages["sent"]
    assert client.login(username="admin_city", password=PASSWORD)
    response = client.post(reverse("notify:retry", args=[sent.pk]), follow=True)
    assert "无需重发" in response.content.decode()
    sent.refresh_from_db()
    assert sent.state == State.SENT
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.NOTIFY_RETRIED).exists()


def test_a_retry_outside_the_scope_is_a_404_and_an_auditor_a_403(client, tree, users,
                                                                   messages):
    failed = messages["failed"]  # district B
    User.objects.create_user("admin_da", password=PASSWORD, role="admin", union=tree["da"])
    assert client.login(username="admin_da", password=PASSWORD)
    assert client.post(reverse("notify:retry", args=[failed.pk])).status_code == 404
    client.logout()
    assert client.login(username="auditor_city", password=PASSWORD)
    assert client.post(reverse("notify:retry", args=[failed.pk])).status_code == 403
    client.logout()
    assert client.login(username="clerk_b1", password=PASSWORD)
    assert client.post(reverse("notify:retry", args=[failed.pk])).status_code == 403
    failed.refresh_from_db()
    assert failed.state == State.FAILED
    client.logout()
    assert client.login(username="admin_city", password=PASSWORD)
    assert client.get(reverse("notify:retry", args=[failed.pk])).status_code == 405


def test_pages_of_the_outbox_do_not_repeat_rows(client, tree, users, monkeypatch):
    from huzhu.lib import paging

    monkeypatch.setattr(paging, "PAGE_SIZE", 4)
    outbox.enqueue_many(outbox.Draft(RENEWAL, f"1390000{i:04d}", f"第{i}条", f"p:{i}",
                                     union=tree["a1"]) for i in range(10))
    first = _get(client, "admin_city")
    second = client.get(reverse("notify:outbox"), {"after": first.context["page"].next_after})
    assert len(_rows(first)) == 4 and len(_rows(second)) == 4
    assert not _rows(first) & _rows(second)
    assert 'id="outbox-next"' in first.content.decode()


def test_the_django_admin_is_read_only(client, tree, messages):
    User.objects.create_superuser("root", password=PASSWORD)
    assert client.login(username="root", password=PASSWORD)
    url = reverse("admin:notify_outboxmessage_changelist")
    assert client.get(url).status_code == 200
    change = reverse("admin:notify_outboxmessage_change", args=[messages["sent"].pk])
    assert client.get(change).status_code == 200  # viewable
    assert client.post(change, {"state": "pending"}).status_code == 403
    assert client.get(reverse("admin:notify_outboxmessage_add")).status_code == 403
    delete = reverse("admin:notify_outboxmessage_delete", args=[messages["sent"].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert OutboxMessage.objects.get(pk=messages["sent"].pk).state == State.SENT
