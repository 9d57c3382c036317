"""Issue 22 (1): a feed's page shows a row's stay (name, masked ID number, hospital, dates,
amounts) only to someone who may know it — a member's to staff whose scope holds the
member, a non-member's to the data officers at or above the feed's node. Everyone else
sees the settlement ID, the reason and the counts: the 朝阳区 reviewer (here district A's)
and a grassroots clerk saw strangers' stays."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huzhu.feeds.importing import import_records
from huzhu.lib import crypto
from huzhu.orgs.models import User
from tests.feeds.conftest import TODAY, outsider, stay
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
FILTERS = ("problems", "matched", "invalid", "all")


@pytest.fixture
def officer_da(tree):
    return User.objects.create_user(username="officer_da", password=PASSWORD, role="admin",
                                    union=tree["da"])


def rows_page(client, user, feed, show: str) -> str:
    client.logout()
    assert client.login(username=user.username, password=PASSWORD)
    answer = client.get(reverse("feeds:detail", args=[feed.pk]) + f"?show={show}")
    assert answer.status_code == 200
    return answer.content.decode()


def person(row: dict) -> tuple[str, ...]:
    """What the page must not show of a stranger's stay."""
    return (row["name"], row["hospital"], crypto.mask_id_number(row["id_number"]),
            f"{int(row['out_of_pocket'].split('.')[0]):,}.{row['out_of_pocket'][-2:]}")


def test_district_feed_hides_other_districts_members_and_non_members(client, officer_da,
                                                                     users, make_member):
    inside = make_member("a1", name="甲内会员")
    outside = make_member("b1", name="乙外会员")
    rows = [
        stay(inside.id_number, name="甲内会员", hospital="甲区第一医院"),
        stay(outside.id_number, name="乙外会员", hospital="乙区秘密医院", total_cost="31234.56",
             fund_paid="20000.00", account_paid="1000.00", out_of_pocket="10234.56"),
        stay(outsider(41), name="丙非会员", hospital="丙地医院", total_cost="21111.11",
             fund_paid="12000.00", account_paid="1000.00", out_of_pocket="8111.11"),
    ]
    feed = import_records(rows, user=officer_da, today=TODAY).feed
    assert (feed.matched, feed.unmatched_outside_scope, feed.unmatched_not_member) == (1, 1, 1)
    reviewer = users["reviewer_da"]
    for show in FILTERS:
        page = rows_page(client, reviewer, feed, show)
        for text in (*person(rows[1]), *person(rows[2])):
            assert text not in page, (show, text)
    page = rows_page(client, reviewer, feed, "problems")
    assert rows[1]["settlement_id"] in page and rows[2]["settlement_id"] in page
    assert "不在您的管辖范围内" in page and "非工会会员" in page
    assert 'id="count-outside">1<' in page and 'id="count-not-member">1<' in page
    everything = rows_page(client, reviewer, feed, "all")
    assert "甲内会员" in everything and "甲区第一医院" in everything  # in scope: shown
    # The data officer who pushed it follows up the non-member, not the other district's
    # member.
    officer = rows_page(client, officer_da, feed, "all")
    assert "丙非会员" in officer and "丙地医院" in officer and "8,111.11" in officer
    assert all(text not in officer for text in person(rows[1]))
    # The city's admin sees both: district B is theirs, and they follow the feed up.
    city = rows_page(client, users["admin_city"], feed, "all")
    assert all(text in city for text in (*person(rows[1]), *person(rows[2])))


def test_grassroots_clerk_sees_only_their_members(client, users, tree, make_member):
    own = make_member("a1", name="一号会员")
    neighbour = make_member("a2", name="二号会员")  # district A, outside grassroots A1
    rows = [
        stay(own.id_number, name="一号会员", hospital="一号医院"),
        stay(neighbour.id_number, name="二号会员", hospital="二号医院", total_cost="25555.55",
             fund_paid="15000.00", account_paid="1000.00", out_of_pocket="9555.55"),
        stay(outsider(42), name="路人甲", hospital="路边医院", total_cost="23333.33",
             fund_paid="15000.00", account_paid="1000.00", out_of_pocket="7333.33"),
    ]
    # The city's data officer pushes for grassroots A1 (?union= on the API).
    feed = import_records(rows, user=users["admin_city"], union=tree["a1"], today=TODAY).feed
    assert (feed.matched, feed.unmatched_outside_scope, feed.unmatched_not_member) == (1, 1, 1)
    clerk = users["clerk_a1"]
    for show in FILTERS:
        page = rows_page(client, clerk, feed, show)
        for text in (*person(rows[1]), *person(rows[2])):
            assert text not in page, (show, text)
    page = rows_page(client, clerk, feed, "all")
    assert "一号会员" in page and "一号医院" in page
    assert rows[1]["settlement_id"] in page and rows[2]["settlement_id"] in page
    # District A's reviewer: the neighbour is theirs; the non-member is not theirs to see.
    reviewer = rows_page(client, users["reviewer_da"], feed, "all")
    assert all(text in reviewer for text in person(rows[1]))
    assert all(text not in reviewer for text in person(rows[2]))


def test_a_non_members_stay_shows_only_on_the_feeds_of_its_own_union(client, tree, users):
    from huzhu.feeds import collisions
    from huzhu.feeds.models import FeedCollision

    officer_db = User.objects.create_user(username="officer_db", password=PASSWORD,
                                          role="admin", union=tree["db"])
    officer_da = User.objects.create_user(username="officer_da", password=PASSWORD,
                                          role="admin", union=tree["da"])
    genuine = stay(outsider(43), name="真实姓名", hospital="真实医院")
    junk = dict(genuine, id_number=outsider(44), name="占位", hospital="占位医院")
    squatted = import_records([junk], user=officer_db, today=TODAY).feed
    import_records([genuine], user=officer_da, today=TODAY)
    collisions.resolve(FeedCollision.objects.get(), "replace", by=users["admin_city"])
    # District B's feed row now points at district A's non-member's stay: not shown there.
    page = rows_page(client, officer_db, squatted, "all")
    assert genuine["settlement_id"] in page
    assert "真实姓名" not in page and "真实医院" not in page
    assert "真实医院" in rows_page(client, users["admin_city"], squatted, "all")
