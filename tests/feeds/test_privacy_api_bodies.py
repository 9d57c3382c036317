"""Issue 22 (4): bodies the push must refuse cleanly — 50,000-deep JSON (a 400, not a
RecursionError's 500), a JSON object, array or number as ``settlement_id`` (a field
error naming the row), and an empty push (a 400 that leaves no feed record)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from huzhu.feeds import tokens
from huzhu.feeds.models import Feed, Settlement
from huzhu.orgs.models import User
from tests.feeds.conftest import csv_text, outsider, stay

pytestmark = pytest.mark.django_db
URL = "/api/feeds"


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"


@pytest.fixture
def raw(tree):
    officer = User.objects.create_user(username="officer_da", password="x-pass-1234",
                                       role="admin", union=tree["da"])
    return tokens.create_token(officer)[1]


def post(raw: str, body: str | bytes, kind: str = "application/json"):
    return Client().post(URL, body, content_type=kind, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_deeply_nested_json_is_a_400(raw):
    answer = post(raw, "[" * 50_000 + "]" * 50_000)
    assert answer.status_code == 400
    assert answer.json() == {"detail": "请求正文的 JSON 嵌套层数过多"}
    deep_rows = '{"rows": [{"settlement_id": ' + "[" * 50_000 + "]" * 50_000 + "}]}"
    assert post(raw, deep_rows).status_code == 400
    assert Feed.objects.count() == 0


@pytest.mark.parametrize(("value", "kind"), [({"$ne": ""}, "对象"), (["JS1"], "数组"),
                                             (2201000012345, "数字"), (True, "真假值")])
def test_a_settlement_id_that_is_not_text_is_a_field_error(raw, value, kind):
    good = stay(outsider(71))
    answer = post(raw, json.dumps({"rows": [good, dict(stay(outsider(72)),
                                                       settlement_id=value)]}))
    assert answer.status_code == 422
    body = answer.json()
    assert (body["imported"], body["invalid"]) == (False, 1)
    assert [(e["row"], e["column"], e["message"]) for e in body["errors"]] == [
        (2, "settlement_id", f"结算ID应为文本（JSON 字符串），不能是{kind}")]
    assert Settlement.objects.count() == 0


def test_an_object_in_another_field_is_its_field_error(raw):
    answer = post(raw, json.dumps({"rows": [stay(outsider(73), hospital={"a": 1})]}))
    assert answer.status_code == 422
    assert [(e["column"], e["message"]) for e in answer.json()["errors"]] == [
        ("hospital", "定点医药机构名称应为文本（JSON 字符串），不能是对象")]


def test_a_list_of_diagnoses_is_still_accepted(raw):
    answer = post(raw, json.dumps({"rows": [stay(outsider(74), diagnosis=["C34.900"],
                                                 other_diagnosis=["I10.x00", "E11.900"])]}))
    assert answer.status_code == 200
    assert Settlement.objects.get().diagnosis == "C34.900;I10.X00;E11.900"


@pytest.mark.parametrize(("body", "kind", "detail"), [
    ('{"rows": []}', "application/json", "没有结算记录：rows 为空"),
    ("[]", "application/json", "没有结算记录：rows 为空"),
    (csv_text([]), "text/csv", "没有结算记录：文件中没有数据行（只有表头）"),
    (" \n", "text/csv", "没有结算记录：请求正文为空"),
    ("", "application/json", "没有结算记录：请求正文为空"),
])
def test_an_empty_push_is_a_400_and_leaves_no_feed(raw, body, kind, detail):
    answer = post(raw, body, kind)
    assert answer.status_code == 400
    assert answer.json() == {"detail": detail}
    assert Feed.objects.count() == 0


def test_an_empty_file_upload_leaves_no_feed(raw):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("空.csv", csv_text([]).encode())
    answer = Client().post(URL, {"file": upload}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert answer.status_code == 400
    assert answer.json() == {"detail": "没有结算记录：文件中没有数据行（只有表头）"}
    assert Feed.objects.count() == 0


def test_the_feed_page_names_a_json_field_in_chinese(raw, client, tree):
    from django.urls import reverse

    post(raw, json.dumps({"rows": [stay(outsider(75), settlement_id={"a": 1})]}))
    feed = Feed.objects.get()
    assert client.login(username="officer_da", password="x-pass-1234")
    page = client.get(reverse("feeds:detail", args=[feed.pk])).content.decode()
    assert "<td>结算ID</td><td>结算ID应为文本（JSON 字符串），不能是对象</td>" in page
    assert "settlement_id" not in page.split('id="feed-errors"')[1].split("</table>")[0]
