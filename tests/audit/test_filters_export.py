"""The audit log for an auditor: who acted (name, role, union), filters by operator and
date range with Chinese errors, and an xlsx export of exactly the filtered list, in
Chinese, with no formula from data, itself written to the log."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.export import HEADERS
from huzhu.audit.models import AuditEntry
from huzhu.orgs.models import User
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
A = AuditEntry.Action


@pytest.fixture
def entries(users, make_member):
    """Three entries by two people and one by the system, on two days."""
    member = make_member("a1", name="张三")
    admin, clerk = users["admin_city"], users["clerk_a1"]
    admin.display_name = "王管理"
    admin.save()
    clerk.display_name = "李经办"
    clerk.save()
    made = [
        log.record(admin, A.MEMBER_UPDATED, member, summary="=HYPERLINK(\"http://x\")改名",
                   changes={"name": ["张三", "张叁"]}),
        log.record(clerk, A.MEMBER_UPDATED, member, summary="+改手机号",
                   changes={"phone": ["13800000000", "13900000000"]}),
        log.record(clerk, A.CLAIM_CHANGED, member, summary="-理赔", changes={
            "amount": Decimal("808214.280000"), "state": ["草稿", "待初审"]}),
        log.record(None, A.SECURITY_ALERT, None, union_path=member.union.path,
                   summary="@系统提醒"),
    ]
    # The first entry happened yesterday (the log is append-only: the time is set in SQL).
    yesterday = timezone.now() - dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET at = %s WHERE id = %s",
                       [yesterday, made[0].pk])
    return made


def _get(client, username="auditor_city", **params):
    assert client.login(username=username, password=PASSWORD)
    return client.get(reverse("audit:log"), params)


def _rows(body: str) -> int:
    return body.count('class="audit-row"')


def test_the_operator_reads_as_name_role_and_union(client, entries):
    body = _get(client).content.decode()
    assert "王管理（管理员 · 测试市总工会）" in body
    assert "李经办（基层经办 · 甲区一号基层工会）" in body
    assert '<td class="audit-actor data-text text-nowrap">系统</td>' in body


def test_filter_by_operator_and_by_the_system(client, users, entries):
    body = _get(client, actor=users["clerk_a1"].pk).content.decode()
    assert _rows(body) == 2 and "+改手机号" in body and "改名" not in body
    body = _get(client, actor="system").content.decode()
    assert _rows(body) == 1 and "@系统提醒" in body


def test_filter_by_date_range_in_local_days(client, entries):
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    body = _get(client, date_from=f"{today:%Y-%m-%d}", date_to=f"{today:%Y-%m-%d}").content.decode()
    assert _rows(body) == 3 and "改名" not in body
    body = _get(client, date_to=f"{yesterday:%Y-%m-%d}").content.decode()
    assert _rows(body) == 1 and "改名" in body


@pytest.mark.parametrize("params, error", [
    ({"date_from": "2026-13-01"}, "请按“2026-06-30”的格式填写日期"),
    ({"date_to": "昨天"}, "请按“2026-06-30”的格式填写日期"),
    ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "结束日期不能早于开始日期"),
    ({"actor": "999999"}, "没有这位操作人，或其不在您的管辖范围内"),
    ({"action": "no.such"}, "没有这种操作，请从列表中选择"),
])
def test_a_bad_filter_says_why_in_chinese_and_lists_nothing(client, entries, params, error):
    body = _get(client, **params).content.decode()
    assert error in body and "筛选条件有误" in body
    assert _rows(body) == 0 and 'id="audit-export"' not in body


def test_an_operator_outside_the_readers_subtree_is_not_offered(client, users, tree, entries):
    User.objects.create_user(username="admin_da", password=PASSWORD, role="admin",
                             union=tree["da"], display_name="甲区管理")
    body = _get(client, username="admin_da").content.decode()
    assert f'value="{users["clerk_a1"].pk}"' in body
    assert f'value="{users["admin_city"].pk}"' not in body
    refused = _get(client, username="admin_da", actor=users["admin_city"].pk).content.decode()
    assert "没有这位操作人" in refused


def test_the_export_is_the_filtered_list_in_chinese_and_is_logged(client, users, entries):
    assert client.login(username="auditor_city", password=PASSWORD)
    before = AuditEntry.objects.count()
    response = client.post(reverse("audit:export"), {"actor": users["clerk_a1"].pk})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book["审计日志"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == [title for title, _ in HEADERS]
    assert len(rows) == 3
    assert {r[1] for r in rows[1:]} == {"李经办（基层经办 · 甲区一号基层工会）"}
    assert rows[1][2] == "理赔办理" and rows[1][3] == "会员 张三"
    assert rows[1][4] == "-理赔"
    # The changes in the order the database keeps them (PostgreSQL's jsonb sorts keys).
    assert set(rows[1][5].split("；")) == {"金额：808,214.28 元", "状态：草稿 → 待初审"}
    assert rows[2][5] == "手机号：13800000000 → 13900000000"
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type == "s", (cell.coordinate, cell.value)
    about = {r[0].value: r[1].value for r in book["说明"].iter_rows()}
    assert about["筛选条件"] == "操作人：李经办（基层经办 · 甲区一号基层工会）"
    assert about["记录条数"] == "2"
    assert AuditEntry.objects.count() == before + 1
    logged = AuditEntry.objects.latest("id")
    assert logged.action == A.AUDIT_EXPORTED and logged.actor == users["auditor_city"]
    assert logged.summary == "导出审计日志 2 条（操作人：李经办（基层经办 · 甲区一号基层工会））"


def test_formula_looking_text_stays_text(client, entries):
    assert client.login(username="auditor_city", password=PASSWORD)
    response = client.post(reverse("audit:export"), {})
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    summaries = [row[4].value for row in book["审计日志"].iter_rows(min_row=2)]
    assert '=HYPERLINK("http://x")改名' in summaries and "@系统提醒" in summaries
    for row in book["审计日志"].iter_rows(min_row=2):
        assert row[4].data_type == "s"


def test_a_bad_export_filter_is_refused_and_logs_nothing(client, entries):
    assert client.login(username="auditor_city", password=PASSWORD)
    before = AuditEntry.objects.count()
    response = client.post(reverse("audit:export"), {"date_from": "2026-02-30"})
    assert response.status_code == 400
    assert "请按“2026-06-30”的格式填写日期" in response.content.decode()
    assert AuditEntry.objects.count() == before


def test_only_audit_readers_export(client, entries):
    assert client.login(username="clerk_a1", password=PASSWORD)
    assert client.post(reverse("audit:export"), {}).status_code == 403
    assert client.login(username="auditor_city", password=PASSWORD)
    assert client.get(reverse("audit:export")).status_code == 405


def test_a_long_change_list_is_folded_and_the_table_scrolls_on_a_narrow_screen(
        client, users, make_member):
    """More than three changes fold under 'N 项变更' so that the summary keeps its width."""
    member = make_member("a1", name="张三")
    log.record(users["admin_city"], A.MEMBER_UPDATED, member, summary="修改会员",
               changes={"name": ["甲", "乙"], "phone": ["1", "2"], "status": ["在职", "退休"],
                        "occupation": ["一", "二"]})
    body = _get(client).content.decode()
    assert '<div class="table-responsive">' in body
    assert '<summary class="text-secondary">4 项变更</summary>' in body
    assert "Six columns" not in body  # the template's comment stays a comment
