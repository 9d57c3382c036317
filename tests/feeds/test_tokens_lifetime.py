"""Issue 22 (5): feed tokens expire (90 days unless chosen otherwise), push only for the
node they were issued for (their user moved elsewhere: refused), and record and show
when they were last used. A refused token is a 401 with the reason in Chinese."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.feeds import tokens
from huzhu.feeds.models import Feed, FeedToken
from huzhu.orgs.models import User
from tests.feeds.conftest import outsider, stay
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
URL = "/api/feeds"


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"


@pytest.fixture
def officer(tree):
    return User.objects.create_user(username="officer_da", password=PASSWORD, role="admin",
                                    union=tree["da"])


def push(raw: str | None, n: int):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw is not None else {}
    return Client().post(URL, json.dumps({"rows": [stay(outsider(n))]}),
                         content_type="application/json", **headers)


def test_a_token_lives_ninety_days_unless_chosen(officer):
    before = timezone.now()
    token, _ = tokens.create_token(officer)
    assert token.union == officer.union
    assert dt.timedelta(days=90) <= token.expires_at - before < dt.timedelta(days=90, minutes=1)
    short, _ = tokens.create_token(officer, days=7)
    assert short.expires_at - before < dt.timedelta(days=7, minutes=1)
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.FEED_TOKEN_CREATED).first()
    assert entry.changes["days"] == 7 and "有效期 7 天" in entry.summary
    with pytest.raises(ValueError):
        tokens.create_token(officer, days=0)


def test_an_expired_token_is_refused_in_chinese(officer):
    token, raw = tokens.create_token(officer, days=1)
    assert push(raw, 61).status_code == 200
    FeedToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.make_aware(dt.datetime(2026, 3, 1, 12, 0)))
    answer = push(raw, 62)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "令牌已于 2026-03-01 过期，请向工会数据管理员申请新令牌"}
    assert Feed.objects.count() == 1


def test_a_token_stays_with_its_node_when_its_user_moves(officer, tree):
    _, raw = tokens.create_token(officer)
    officer.union = tree["db"]
    officer.save()
    answer = push(raw, 63)
    assert answer.status_code == 401
    assert answer.json()["detail"] == ("令牌已失效：令牌所属人员已不在签发令牌的工会，"
                                       "请由现所在工会重新申请令牌")
    assert Feed.objects.count() == 0
    # Moving back makes it the node's token again.
    officer.union = tree["da"]
    officer.save()
    assert push(raw, 64).status_code == 200
    assert Feed.objects.get().union == tree["da"]


def test_missing_unknown_and_revoked_tokens_say_why(officer):
    assert push(None, 65).json() == {
        "detail": "缺少令牌：请在 Authorization 请求头中提供 Bearer 令牌"}
    unknown = push("hzf_nothing", 66)
    assert unknown.status_code == 401 and unknown["WWW-Authenticate"] == "Bearer"
    assert unknown.json()["detail"].startswith("令牌无效")
    token, raw = tokens.create_token(officer)
    tokens.revoke_token(token, by=officer)
    assert push(raw, 67).json() == {"detail": "令牌已吊销，请向工会数据管理员申请新令牌"}


def test_the_token_page_shows_term_node_and_last_use(client, officer, tree):
    assert client.login(username=officer.username, password=PASSWORD)
    made = client.post(reverse("feeds:tokens"), {"label": "医保局", "days": "30"})
    text = made.content.decode()
    token = FeedToken.objects.get()
    assert f"有效期至 {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}" in text
    assert "只能为甲区总工会推送数据" in text
    assert abs(token.expires_at - token.created_at - dt.timedelta(days=30)) < dt.timedelta(
        seconds=5)
    page = client.get(reverse("feeds:tokens")).content.decode()
    assert f'id="token-used-{token.pk}">从未使用<' in page
    assert f'id="token-state-{token.pk}">有效<' in page
    FeedToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.make_aware(dt.datetime(2026, 12, 1, 9, 30)))
    page = client.get(reverse("feeds:tokens")).content.decode()
    assert f'id="token-used-{token.pk}">2026-12-01 09:30<' in page
    FeedToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    page = client.get(reverse("feeds:tokens")).content.decode()
    assert f'id="token-state-{token.pk}">已过期<' in page
    bad = client.post(reverse("feeds:tokens"), {"label": "x", "days": "400"}).content.decode()
    assert "有效期最长 366 天" in bad and FeedToken.objects.count() == 1


def test_a_push_records_the_last_use(officer):
    token, raw = tokens.create_token(officer)
    assert token.last_used_at is None
    push(raw, 68)
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < dt.timedelta(minutes=1)
