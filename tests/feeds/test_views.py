"""The feed pages: upload (a background job) → progress → counts, unmatched rows and the
error report; the token page; roles and scope; Chinese text throughout."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.feeds import jobs
from huzhu.feeds.models import Feed, FeedToken
from huzhu.orgs.models import User
from tests.feeds.conftest import csv_text, outsider, stay
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.TASKS = IMMEDIATE


@pytest.fixture
def officer_da(tree):
    return User.objects.create_user(username="officer_da", password=PASSWORD, role="admin",
                                    union=tree["da"])


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def upload(client, rows, name="结算数据.csv", encoding="gbk", **data):
    content = csv_text(rows).encode(encoding)
    return client.post(reverse("feeds:upload"),
                       {"file": SimpleUploadedFile(name, content), **data})


def test_upload_imports_and_shows_counts_and_unmatched_rows(client, officer_da, make_member,
                                                            settings):
    inside, outside = make_member("a1", name="张伟"), make_member("b1", name="李娜")
    rows = [stay(inside.id_number, name="张伟"), stay(outside.id_number, name="李娜"),
            stay(outsider(1), name="赵敏")]
    login(client, officer_da)
    answer = upload(client, rows)
    feed = Feed.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("feeds:detail", args=[feed.pk])
    assert (feed.status, feed.matched, feed.unmatched_outside_scope,
            feed.unmatched_not_member) == ("done", 1, 1, 1)
    assert list((settings.UPLOAD_ROOT / "feeds").glob("*.csv")) == []  # upload deleted
    page = client.get(answer.url).content.decode()
    assert "导入完成" in page and 'id="count-matched">1<' in page
    # The default filter shows the rows to follow up: both unmatched ones, with reasons.
    assert "不在您的管辖范围内" in page and "非工会会员" in page
    assert rows[1]["settlement_id"] in page and rows[2]["settlement_id"] in page
    assert rows[0]["settlement_id"] not in page
    for r in rows:  # only masked ID numbers on the page
        assert r["id_number"] not in page
    everything = client.get(answer.url + "?show=all").content.decode()
    assert rows[0]["settlement_id"] in everything and "张伟" in everything
    listed = client.get(reverse("feeds:list")).content.decode()
    assert f'id="feed-row-{feed.pk}"' in listed and "网页上传" in listed


def test_upload_with_errors_imports_nothing_and_offers_the_report(client, officer_da):
    rows = [stay(outsider(2)), stay(outsider(3), out_of_pocket="-5.00")]
    login(client, officer_da)
    answer = upload(client, rows, name="坏数据.csv")
    feed = Feed.objects.get()
    assert feed.status == "failed" and feed.new == 0
    page = client.get(answer.url).content.decode()
    assert "未导入" in page and "个人现金支付不能为负数" in page
    report = client.get(reverse("feeds:errors", args=[feed.pk]))
    assert report.status_code == 200
    assert "attachment" in report["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content))).active
    assert next(sheet.iter_rows(min_row=2, max_row=2, values_only=True)) == (
        "坏数据.csv", 3, "个人现金支付", "个人现金支付不能为负数")


def test_upload_valid_only_imports_the_rest(client, officer_da):
    rows = [stay(outsider(4)), stay(outsider(5), out_of_pocket="-5.00")]
    login(client, officer_da)
    answer = upload(client, rows, valid_only="on")
    feed = Feed.objects.get()
    assert (feed.status, feed.new, feed.invalid, feed.valid_only) == ("done", 1, 1, True)
    page = client.get(answer.url).content.decode()
    assert "错误行（未导入）" in page and "有错误" in page


def test_upload_form_refuses_other_files(client, officer_da):
    login(client, officer_da)
    answer = client.post(reverse("feeds:upload"),
                         {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4")})
    assert answer.status_code == 200
    assert "只能上传 .csv、.xlsx、.xls 或 .parquet 文件" in answer.content.decode()
    assert Feed.objects.count() == 0
    # The refusal is on the record: who tried which file, and why.
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FEED_REFUSED)
    assert entry.actor == officer_da and entry.union_path == officer_da.union.path
    assert entry.summary == ("上传医保结算数据被拒：a.pdf"
                             "（只能上传 .csv、.xlsx、.xls 或 .parquet 文件）")
    page = client.get(reverse("feeds:upload")).content.decode()
    # The bureau's column names a file may use are codes, shown as such (not as words).
    assert "<code>setl_id</code>、" in page and "、setl_id" not in page
    assert "上传医保结算数据" in page and "个人现金支付" in page and "只导入无错误的行" in page


def test_progress_while_the_job_waits_and_runs(client, officer_da, settings):
    settings.TASKS = DUMMY
    login(client, officer_da)
    upload(client, [stay(outsider(6))])
    feed = Feed.objects.get()
    assert feed.status == "pending" and feed.stored_path
    fragment = client.get(reverse("feeds:progress", args=[feed.pk])).content.decode()
    assert "排队等待后台处理" in fragment and "hx-trigger" in fragment
    Feed.objects.filter(pk=feed.pk).update(status="importing")
    feed.progress_path().write_text(json.dumps({"phase": "importing", "done": 2,
                                                    "total": 5}))
    fragment = client.get(reverse("feeds:progress", args=[feed.pk])).content.decode()
    assert "第 3 步，共 5 步" in fragment and 'aria-valuenow="40"' in fragment
    # The worker picks it up: the page stops polling and the upload is gone.
    Feed.objects.filter(pk=feed.pk).update(status="pending")
    jobs.run_feed_job.call(feed.pk)
    feed.refresh_from_db()
    assert feed.status == "done" and not feed.stored_path
    fragment = client.get(reverse("feeds:progress", args=[feed.pk])).content.decode()
    assert "hx-trigger" not in fragment and "导入完成" in fragment


def test_roles_and_scope(client, officer_da, users, tree):
    login(client, users["clerk_a1"])
    assert client.get(reverse("feeds:upload")).status_code == 403
    assert client.get(reverse("feeds:tokens")).status_code == 403
    listed = client.get(reverse("feeds:list")).content.decode()
    assert "还没有导入医保结算数据" in listed and 'id="feed-upload"' not in listed
    client.logout()
    login(client, officer_da)
    upload(client, [stay(outsider(7))])
    feed = Feed.objects.get()
    client.logout()
    # A reviewer of district A sees district A's feed; district B's clerk does not.
    login(client, users["reviewer_da"])
    assert client.get(reverse("feeds:detail", args=[feed.pk])).status_code == 200
    client.logout()
    login(client, users["clerk_b1"])
    assert client.get(reverse("feeds:detail", args=[feed.pk])).status_code == 404
    assert client.get(reverse("feeds:progress", args=[feed.pk])).status_code == 404
    assert f'feed-row-{feed.pk}' not in client.get(reverse("feeds:list")).content.decode()
    client.logout()
    login(client, users["admin_city"])  # the city sees its districts' feeds
    assert client.get(reverse("feeds:detail", args=[feed.pk])).status_code == 200


def test_token_page_shows_a_new_token_once_and_revokes(client, officer_da, users):
    login(client, officer_da)
    page = client.get(reverse("feeds:tokens")).content.decode()
    assert "还没有令牌" in page and "POST /api/feeds" in page
    assert "表单上传，字段名 <code>file</code>" in page and "multipart 字段" not in page
    made = client.post(reverse("feeds:tokens"), {"label": "市医保局"})
    text = made.content.decode()
    assert made["Cache-Control"] == "no-store" and "此令牌只显示这一次" in text
    token = FeedToken.objects.get()
    assert token.prefix in text and token.user == officer_da and token.label == "市医保局"
    again = client.get(reverse("feeds:tokens")).content.decode()
    assert 'id="token-value"' not in again and "有效" in again
    revoked = client.post(reverse("feeds:token-revoke", args=[token.pk]), follow=True)
    assert "已吊销" in revoked.content.decode()
    token.refresh_from_db()
    assert token.revoked
    client.logout()
    # Another district's officer cannot revoke (or see) it.
    other = User.objects.create_user(username="officer_db", password=PASSWORD, role="admin",
                                     union=users["clerk_b1"].union.parent)
    login(client, other)
    assert client.post(reverse("feeds:token-revoke", args=[token.pk])).status_code == 404
    assert token.prefix not in client.get(reverse("feeds:tokens")).content.decode()


def test_the_upload_limit_is_written_as_people_write_it(client, officer_da, settings):
    """"不超过 200 MB", not Django's "200.0 MB"; a file over the limit is told both sizes."""
    login(client, officer_da)
    page = client.get(reverse("feeds:upload")).content.decode()
    assert "，不超过 200 MB。" in page and "200.0" not in page
    settings.HUZHU_IMPORT_MAX_BYTES = 1024
    answer = client.post(reverse("feeds:upload"),
                         {"file": SimpleUploadedFile("a.csv", b"x" * 1536)})
    assert "文件太大（1.5 KB），上限为 1 KB" in answer.content.decode()
    assert Feed.objects.count() == 0
