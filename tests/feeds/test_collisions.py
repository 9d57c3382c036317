"""Issue 22 (2): settlement IDs are one namespace for the city. A push colliding with a
stored stay gets one neutral answer (no list of what differs: the stay may be a
stranger's); a collision no longer refuses the feed — the other rows import and the row
waits on the review list of its feed's node, where an admin keeps the stored stay or
replaces it (audited). And the API is rate-limited per address and per token."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.feeds import tokens
from huzhu.feeds.models import Feed, FeedCollision, FeedRow, Settlement
from huzhu.orgs.models import User
from tests.coverage.conftest import admin, free_scheme  # noqa: F401  (fixtures)
from tests.feeds.conftest import outsider, stay
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
URL = "/api/feeds"
NEUTRAL = "该结算ID已有内容不同的结算记录，本行未导入，已转交工会核对"


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"


@pytest.fixture
def officers(tree):
    make = User.objects.create_user
    return {key: make(username=f"officer_{key}", password=PASSWORD, role="admin",
                      union=tree[key]) for key in ("da", "db")}


def push(raw: str, rows: list[dict], *, address: str = "10.0.0.1"):
    return Client().post(URL, json.dumps({"rows": rows}), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR=address)


def login(client, user):
    client.logout()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_a_guess_at_another_unions_stay_gets_one_neutral_answer(officers, make_member):
    member = make_member("a1", name="甲会员")
    _, raw_da = tokens.create_token(officers["da"])
    _, raw_db = tokens.create_token(officers["db"])
    genuine = stay(member.id_number, name="甲会员", diagnosis="C50.900")
    assert push(raw_da, [genuine]).status_code == 200
    answers = []
    for guess in (dict(genuine, id_number=outsider(51)), dict(genuine, diagnosis="C34.900"),
                  dict(genuine, hospital="别的医院"), dict(genuine, name="乙某")):
        answer = push(raw_db, [guess])
        assert answer.status_code == 200
        body = answer.json()
        assert (body["imported"], body["new"], body["collisions"]) == (True, 0, 1)
        answers.append([(e["row"], e["column"], e["message"]) for e in body["errors"]])
    assert answers == [[(1, "settlement_id", NEUTRAL)]] * 4  # whatever differs
    text = json.dumps(answers, ensure_ascii=False)
    for word in ("证件号码", "诊断", "医疗机构", "姓名", "不同）"):
        assert word not in text
    stored = Settlement.objects.get()
    assert (stored.name, stored.diagnosis, stored.feed.union.code) == (
        "甲会员", "C50.900;I10.X00", "D01")
    assert FeedCollision.objects.filter(feed__union__code="D02").count() == 4


def test_squatting_no_longer_refuses_the_genuine_feed(client, officers, users, make_member):
    member = make_member("a1", name="甲会员")
    _, raw_da = tokens.create_token(officers["da"])
    _, raw_db = tokens.create_token(officers["db"])
    genuine = stay(member.id_number, name="甲会员", hospital="甲区人民医院")
    junk = dict(genuine, id_number=outsider(52), name="占位", hospital="占位医院")
    assert push(raw_db, [junk]).json()["new"] == 1  # district B stores junk first
    other = stay(outsider(53))
    answer = push(raw_da, [genuine, other])
    assert answer.status_code == 200
    body = answer.json()
    assert (body["imported"], body["new"], body["collisions"], body["rows"]) == (True, 1, 1, 2)
    feed = Feed.objects.get(pk=body["feed_id"])
    assert Settlement.objects.filter(settlement_id=other["settlement_id"]).exists()
    collision = FeedCollision.objects.get()
    assert (collision.feed_id, collision.row, collision.status) == (feed.pk, 1, "open")
    audit = AuditEntry.objects.get(action=AuditEntry.Action.FEED_COLLISION)
    assert audit.union_path == feed.union.path
    assert audit.changes == {"file": "接口推送", "collisions": 1}
    # The feed's page: the held row by its settlement ID and the neutral reason only.
    rows = login(client, officers["da"]).get(
        reverse("feeds:detail", args=[feed.pk]) + "?show=all").content.decode()
    assert NEUTRAL in rows and genuine["settlement_id"] in rows and "占位医院" not in rows
    assert 'id="count-collisions">1<' in rows and "结算ID冲突待核对" in rows
    listed = client.get(reverse("feeds:list")).content.decode()
    assert f'id="feed-collisions-{feed.pk}">1<' in listed
    # District A's admin sees the collision, not district B's junk; and cannot replace it.
    page = client.get(reverse("feeds:collisions")).content.decode()
    assert f'id="collision-{collision.pk}"' in page and "甲区人民医院" in page
    assert "占位医院" not in page and "占位" not in page
    assert f'id="collision-replace-{collision.pk}"' not in page
    assert "已有的结算记录不在您的管辖范围内，不能替换" in page
    refused = client.post(reverse("feeds:collision-resolve", args=[collision.pk]),
                          {"decision": "replace"}, follow=True).content.decode()
    assert "已有的结算记录不在您的管辖范围内，不能替换" in refused
    assert FeedCollision.objects.get().status == "open"
    # District B's admin does not see district A's collision at all.
    other_admin = login(client, officers["db"])
    assert f'id="collision-{collision.pk}"' not in other_admin.get(
        reverse("feeds:collisions")).content.decode()
    assert other_admin.post(reverse("feeds:collision-resolve", args=[collision.pk]),
                            {"decision": "keep"}).status_code == 404
    # The city's admin sees both sides and what differs, and replaces.
    city = login(client, users["admin_city"])
    page = city.get(reverse("feeds:collisions")).content.decode()
    assert "占位医院" in page and "甲区人民医院" in page
    assert "证件号码<br>姓名<br>定点医药机构名称" in page
    city.post(reverse("feeds:collision-resolve", args=[collision.pk]), {"decision": "replace"})
    stored = Settlement.objects.get(settlement_id=genuine["settlement_id"])
    assert (stored.name, stored.hospital, stored.member_id, stored.feed_id) == (
        "甲会员", "甲区人民医院", member.pk, feed.pk)
    row = FeedRow.objects.get(feed=feed, row=1)
    assert (row.outcome, row.match, row.member_id, row.stay_id) == ("new", "matched",
                                                                    member.pk, stored.pk)
    feed.refresh_from_db()
    assert (feed.collisions, feed.new, feed.matched) == (0, 2, 1)
    done = FeedCollision.objects.get()
    assert (done.status, done.resolved_by) == ("replaced", users["admin_city"])
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FEED_COLLISION_RESOLVED)
    assert entry.changes == {"feed": feed.pk, "row": 1, "state": "已替换为新记录"}
    assert entry.actor == users["admin_city"]
    again = city.post(reverse("feeds:collision-resolve", args=[collision.pk]),
                      {"decision": "keep"}, follow=True).content.decode()
    assert "该冲突已处理" in again


def test_keep_leaves_the_stored_stay_and_only_admins_may_decide(client, officers, users,
                                                                make_member):
    member = make_member("a1", name="甲会员")
    _, raw = tokens.create_token(officers["da"])
    first = stay(member.id_number, name="甲会员")
    push(raw, [first])
    push(raw, [dict(first, hospital="更正后的医院")])
    collision = FeedCollision.objects.get()
    assert login(client, users["reviewer_da"]).get(
        reverse("feeds:collisions")).status_code == 403
    officer = login(client, officers["da"])
    page = officer.get(reverse("feeds:collisions")).content.decode()
    assert "定点医药机构名称" in page  # both sides are theirs: what differs is named
    assert f'id="collision-replace-{collision.pk}"' in page
    officer.post(reverse("feeds:collision-resolve", args=[collision.pk]), {"decision": "keep"})
    assert Settlement.objects.get().hospital == "吉林大学第一医院"
    assert FeedCollision.objects.get().status == "kept"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FEED_COLLISION_RESOLVED)
    assert entry.changes["state"] == "已保留原记录"
    resolved = officer.get(reverse("feeds:collisions") + "?show=resolved").content.decode()
    assert f'id="collision-{collision.pk}"' in resolved and "已保留原记录" in resolved


def test_bad_tokens_from_one_address_are_slowed(officers):
    rows = [stay(outsider(54))]
    for _ in range(10):
        assert push("hzf_guess", rows).status_code == 401
    blocked = push("hzf_guess", rows)
    assert blocked.status_code == 429
    assert blocked.json()["detail"].startswith("令牌错误的请求过多（每分钟最多 10 次），请 ")
    assert 1 <= int(blocked["Retry-After"]) <= 60
    # Even a good token from that address waits; another address is not affected.
    _, raw = tokens.create_token(officers["da"])
    assert push(raw, rows).status_code == 429
    assert push(raw, rows, address="10.0.0.2").status_code == 200
    assert Feed.objects.count() == 1


def test_a_token_pushing_too_often_is_slowed(officers, settings):
    settings.HUZHU_FEED_API_PUSHES_PER_MINUTE = 2
    _, raw = tokens.create_token(officers["da"])
    assert push(raw, [stay(outsider(55))]).status_code == 200
    assert push(raw, [stay(outsider(56))], address="10.0.0.3").status_code == 200
    answer = push(raw, [stay(outsider(57))], address="10.0.0.4")
    assert answer.status_code == 429 and "Retry-After" in answer
    assert "该令牌的请求过于频繁（每分钟最多 2 次）" in answer.json()["detail"]
    assert Feed.objects.count() == 2


def test_the_command_line_imports_the_rest_and_counts_the_collision(feed_dir, capsys,
                                                                   monkeypatch):
    from huzhu.cli import main
    from tests.feeds.conftest import write_csv

    monkeypatch.setenv("COLUMNS", "240")  # rich wraps at the terminal's width
    first = stay(outsider(58))
    assert main(["feed", "import", str(write_csv(feed_dir / "1.csv", [first]))]) == 0
    capsys.readouterr()
    changed = [dict(first, hospital="另一家医院"), stay(outsider(59))]
    assert main(["feed", "import", str(write_csv(feed_dir / "2.csv", changed))]) == 0
    err = capsys.readouterr().err
    assert "结算ID冲突" in err and NEUTRAL in err
    assert "1行结算ID与已导入的记录内容不同，未导入，已转交核对" in err
    assert Settlement.objects.count() == 2 and FeedCollision.objects.get().feed.union is None


def test_a_stay_a_claim_used_is_never_replaced(client, officers, users, make_member,
                                               free_scheme):  # noqa: F811
    import datetime as dt
    from decimal import Decimal

    from huzhu.claims.models import Claim

    member = make_member("a1", name="甲会员")
    _, raw = tokens.create_token(officers["da"])
    first = stay(member.id_number, name="甲会员")
    push(raw, [first])
    stored = Settlement.objects.get()
    Claim.objects.create(number="T000000001", member=member, scheme=free_scheme,
                         benefit="hospital", benefit_name="住院医疗补贴", state="submitted",
                         event_date=dt.date(2026, 3, 10), diagnosis="C34.900",
                         computed=Decimal("1000.00"), settlement=stored,
                         filed_by=users["clerk_a1"])
    push(raw, [dict(first, out_of_pocket="6000.00", fund_paid="13000.00")])
    collision = FeedCollision.objects.get()
    admin_da = login(client, officers["da"])
    page = admin_da.get(reverse("feeds:collisions")).content.decode()
    assert f'id="collision-replace-{collision.pk}"' not in page
    assert "已有的结算记录已用于理赔或免申即享测算，不能替换" in page
    answer = admin_da.post(reverse("feeds:collision-resolve", args=[collision.pk]),
                           {"decision": "replace"}, follow=True).content.decode()
    assert "已有的结算记录已用于理赔或免申即享测算，不能替换" in answer
    stored.refresh_from_db()
    assert str(stored.out_of_pocket) == "7000.00" and FeedCollision.objects.get().status == "open"
    assert not AuditEntry.objects.filter(
        action=AuditEntry.Action.FEED_COLLISION_RESOLVED).exists()
