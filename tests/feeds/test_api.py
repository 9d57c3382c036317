"""The bureau's push: ``POST /api/feeds`` with a data officer's token, scoped to the
officer's node, with the file import's validation and idempotence."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from huzhu.audit.models import AuditEntry
from huzhu.feeds import tokens
from huzhu.feeds.models import Feed, FeedToken, Settlement
from huzhu.orgs.models import User
from tests.feeds.conftest import csv_text, outsider, stay

pytestmark = pytest.mark.django_db
URL = "/api/feeds"


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"


@pytest.fixture
def officers(tree):
    make = User.objects.create_user
    return {"da": make(username="officer_da", password="x-pass-1234", role="admin",
                       union=tree["da"]),
            "db": make(username="officer_db", password="x-pass-1234", role="admin",
                       union=tree["db"])}


def push(raw: str | None, body, *, kind="application/json", query: str = ""):
    client = Client(enforce_csrf_checks=True)  # a bureau's system has no CSRF cookie
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    if kind == "multipart":
        return client.post(URL + query, body, **headers)
    data = json.dumps(body) if kind == "application/json" else body
    return client.post(URL + query, data, content_type=kind, **headers)


def test_push_json_matches_within_the_officer_node(officers, make_member):
    _, raw = tokens.create_token(officers["da"], label="市医保局")
    made = AuditEntry.objects.get(action=AuditEntry.Action.FEED_TOKEN_CREATED)
    assert made.actor == officers["da"] and raw not in repr(made.changes)
    inside, outside = make_member("a1"), make_member("b1")
    rows = [stay(inside.id_number), stay(outside.id_number), stay(outsider(1))]
    answer = push(raw, {"rows": rows, "file_name": "医保局推送0301"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["rows"], body["new"], body["matched"], body["unmatched_outside_scope"],
            body["unmatched_not_member"]) == (3, 3, 1, 1, 1)
    feed = Feed.objects.get(pk=body["feed_id"])
    assert (feed.source, feed.user, feed.union.code, feed.file_name) == (
        Feed.Source.API, officers["da"], "D01", "医保局推送0301")
    assert Settlement.objects.get(member=inside)
    token = FeedToken.objects.get()
    assert token.last_used_at is not None
    assert AuditEntry.objects.filter(action=AuditEntry.Action.FEED_IMPORTED,
                                     actor=officers["da"]).count() == 1
    # The same push again counts nothing twice.
    again = push(raw, {"rows": rows}).json()
    assert (again["new"], again["already_known"]) == (0, 3)
    assert Settlement.objects.count() == 3


def test_push_csv_body_and_multipart_file(officers, settings):
    _, raw = tokens.create_token(officers["da"])
    answer = push(raw, csv_text([stay(outsider(2))]).encode("gbk"), kind="text/csv")
    assert answer.status_code == 200, answer.content
    upload = SimpleUploadedFile("结算.csv", csv_text([stay(outsider(3))]).encode("utf-8"))
    answer = push(raw, {"file": upload}, kind="multipart")
    assert answer.status_code == 200, answer.content
    assert answer.json()["new"] == 1
    assert Feed.objects.get(pk=answer.json()["feed_id"]).file_name == "结算.csv"
    # Neither the body nor the upload is left on disk (plaintext ID numbers).
    left = [p for p in (settings.UPLOAD_ROOT / "feeds").iterdir()]
    assert left == []


def test_invalid_push_imports_nothing_and_names_row_and_field(officers):
    _, raw = tokens.create_token(officers["da"])
    rows = [stay(outsider(4)), stay(outsider(5), discharge_date="2026-02-01")]
    answer = push(raw, {"rows": rows})
    assert answer.status_code == 422
    body = answer.json()
    assert body["imported"] is False and body["invalid"] == 1
    assert body["errors"][0]["row"] == 2 and body["errors"][0]["column"] == "discharge_date"
    assert Settlement.objects.count() == 0
    valid_only = push(raw, {"rows": rows}, query="?valid_only=true")
    assert valid_only.status_code == 200 and valid_only.json()["new"] == 1


def test_missing_wrong_and_revoked_tokens_are_refused(officers):
    rows = {"rows": [stay(outsider(6))]}
    assert push(None, rows).status_code == 401
    assert push("hzf_not-a-real-token", rows).status_code == 401
    token, raw = tokens.create_token(officers["da"])
    tokens.revoke_token(token, by=officers["da"])
    assert push(raw, rows).status_code == 401
    assert AuditEntry.objects.filter(action=AuditEntry.Action.FEED_TOKEN_REVOKED).count() == 1
    assert Settlement.objects.count() == 0 and Feed.objects.count() == 0


def test_a_token_whose_user_lost_the_role_is_refused(officers):
    _, raw = tokens.create_token(officers["da"])
    officers["da"].role = "clerk"
    officers["da"].save()
    assert push(raw, {"rows": [stay(outsider(7))]}).status_code == 403
    assert Feed.objects.count() == 0


def test_a_union_outside_the_token_scope_is_refused(officers, tree, make_member):
    _, raw = tokens.create_token(officers["da"])
    answer = push(raw, {"rows": [stay(outsider(8))]}, query="?union=G021")  # district B
    assert answer.status_code == 403
    assert Feed.objects.count() == 0
    # A node below the officer's narrows the matching to it.
    member = make_member("a2")
    answer = push(raw, {"rows": [stay(member.id_number)]}, query="?union=G011")
    assert answer.status_code == 200
    assert answer.json()["unmatched_outside_scope"] == 1


def test_a_clerk_cannot_have_a_token(users):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        tokens.create_token(users["clerk_a1"])


def test_feed_status_only_within_the_token_scope(officers):
    _, raw_da = tokens.create_token(officers["da"])
    _, raw_db = tokens.create_token(officers["db"])
    feed_id = push(raw_da, {"rows": [stay(outsider(9))]}).json()["feed_id"]
    client = Client()
    mine = client.get(f"{URL}/{feed_id}", HTTP_AUTHORIZATION=f"Bearer {raw_da}")
    assert mine.status_code == 200 and mine.json()["new"] == 1
    theirs = client.get(f"{URL}/{feed_id}", HTTP_AUTHORIZATION=f"Bearer {raw_db}")
    assert theirs.status_code == 404


def test_bad_bodies(officers):
    _, raw = tokens.create_token(officers["da"])
    assert push(raw, "{not json", kind="application/json").status_code in (400, 422)
    assert push(raw, {"rows": "x"}).status_code == 400
    unknown = push(raw, {"rows": [dict(stay(outsider(10)), extra="1")]})
    assert unknown.status_code == 400 and "extra" in unknown.json()["detail"]
    assert push(raw, "x", kind="text/plain").status_code == 415
    assert Settlement.objects.count() == 0
