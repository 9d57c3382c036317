"""Importing a feed: stays stored once, matched by the blind index, every row accounted."""

from __future__ import annotations

import pytest
from django.db import connection

from huzhu.audit.models import AuditEntry
from huzhu.feeds.importing import import_feed, row_outcomes
from huzhu.feeds.models import Feed, FeedRow, Settlement
from huzhu.lib import crypto
from huzhu.orgs.models import User
from tests.feeds.conftest import TODAY, outsider, stay, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_da(tree):
    return User.objects.create_user(username="officer_da", password="x-pass-1234",
                                    role="admin", union=tree["da"])


def test_new_stays_matched_by_blind_index(feed_dir, make_member):
    a = make_member("a1", name="张伟")
    b = make_member("b1", name="李娜")
    rows = [stay(a.id_number, name="张伟"), stay(b.id_number, name="李娜"), stay(outsider(1))]
    outcome = import_feed(write_csv(feed_dir / "f.csv", rows), today=TODAY)
    assert outcome.imported, outcome.errors
    counts = (outcome.rows, outcome.new, outcome.matched, outcome.unmatched_not_member)
    assert counts == (3, 3, 2, 1)
    by_sid = {s.settlement_id: s for s in Settlement.objects.all()}
    assert by_sid[rows[0]["settlement_id"]].member == a
    assert by_sid[rows[1]["settlement_id"]].member == b
    assert by_sid[rows[2]["settlement_id"]].member is None
    stored = by_sid[rows[0]["settlement_id"]]
    assert stored.id_number_hash == crypto.blind_index(a.id_number) == a.id_number_hash
    assert stored.id_number == a.id_number  # unsealed with the key
    assert str(stored.out_of_pocket) == "7000.00"
    assert stored.diagnosis_codes == ["C34.900", "I10.X00"]
    assert [r.match for r in outcome.row_outcomes()] == ["matched", "matched", "not_member"]
    assert outcome.feed.status == Feed.Status.DONE


def test_scope_outside_and_not_member(feed_dir, make_member, officer_da):
    inside = make_member("a2")
    outside = make_member("b1")
    rows = [stay(inside.id_number), stay(outside.id_number), stay(outsider(2))]
    outcome = import_feed(write_csv(feed_dir / "f.csv", rows), user=officer_da, today=TODAY)
    assert (outcome.matched, outcome.unmatched_outside_scope, outcome.unmatched_not_member) == (
        1, 1, 1)
    reasons = [(r.match, r.reason) for r in row_outcomes(outcome.feed)]
    assert reasons == [("matched", ""), ("outside_scope", "不在您的管辖范围内"),
                       ("not_member", "非工会会员")]
    # The stay of the member outside the officer's scope is kept without its member.
    assert Settlement.objects.get(settlement_id=rows[1]["settlement_id"]).member is None
    assert outcome.feed.union.code == "D01"


def test_resent_and_overlapping_feeds_count_nothing_twice(feed_dir, make_member):
    m = make_member()
    rows = [stay(m.id_number), stay(outsider(3)), stay(outsider(4))]
    first = import_feed(write_csv(feed_dir / "1.csv", rows), today=TODAY)
    again = import_feed(write_csv(feed_dir / "2.csv", rows), today=TODAY)
    assert (first.new, first.already_known) == (3, 0)
    assert (again.new, again.already_known, again.matched) == (0, 3, 1)
    overlap = import_feed(write_csv(feed_dir / "3.csv", [*rows[1:], stay(outsider(5))]),
                          today=TODAY)
    assert (overlap.new, overlap.already_known) == (1, 2)
    assert Settlement.objects.count() == 4
    assert FeedRow.objects.count() == 3 + 3 + 3
    # The known rows point at the stay first imported.
    known = FeedRow.objects.filter(feed=again.feed, outcome="known")
    assert {r.stay.feed_id for r in known} == {first.feed.pk}


def test_known_stay_that_differs_is_held_and_the_rest_imports(feed_dir):
    row = stay(outsider(6))
    import_feed(write_csv(feed_dir / "1.csv", [row]), today=TODAY)
    changed = dict(row, total_cost="20001.00", out_of_pocket="7001.00")
    outcome = import_feed(write_csv(feed_dir / "2.csv", [changed, stay(outsider(7))]),
                          today=TODAY)
    assert outcome.imported and outcome.feed.status == Feed.Status.DONE
    assert (outcome.invalid, outcome.new, outcome.already_known, outcome.collisions) == (
        0, 1, 0, 1)
    assert [(e.row, e.column, e.message) for e in outcome.errors] == [
        (2, "结算ID", "该结算ID已有内容不同的结算记录，本行未导入，已转交工会核对")]
    assert Settlement.objects.count() == 2  # the other row was imported
    assert str(Settlement.objects.get(settlement_id=row["settlement_id"]).total_cost) == \
        "20000.00"
    held = FeedRow.objects.get(feed=outcome.feed, row=2)
    assert (held.outcome, held.match, held.stay_id, held.member_id) == ("conflict", "", None,
                                                                        None)
    assert outcome.summary().endswith("；1行结算ID与已导入的记录内容不同，未导入，已转交核对")


def test_known_stay_that_differs_with_valid_only(feed_dir):
    row = stay(outsider(8))
    import_feed(write_csv(feed_dir / "1.csv", [row]), today=TODAY)
    changed = dict(row, hospital="另一家医院")
    outcome = import_feed(write_csv(feed_dir / "2.csv", [changed, stay(outsider(9))]),
                          today=TODAY, valid_only=True)
    assert outcome.imported
    assert (outcome.invalid, outcome.new, outcome.already_known, outcome.collisions) == (
        0, 1, 0, 1)
    assert Settlement.objects.get(settlement_id=row["settlement_id"]).hospital == "吉林大学第一医院"


def test_member_registered_later_is_matched_on_resend(feed_dir, make_member):
    import datetime as dt

    from huzhu.members.idcard import make_id_number

    number = make_id_number("220102", dt.date(1980, 2, 3), 777)
    row = stay(number)
    first = import_feed(write_csv(feed_dir / "1.csv", [row]), today=TODAY)
    assert first.unmatched_not_member == 1
    member = make_member()
    member.set_id_number(number)
    member.save()
    again = import_feed(write_csv(feed_dir / "2.csv", [row]), today=TODAY)
    assert again.matched == 1
    assert Settlement.objects.get().member == member


def test_no_plaintext_id_number_in_the_database(feed_dir, make_member):
    m = make_member()
    numbers = [m.id_number, outsider(10)]
    bad = stay(outsider(11), discharge_date="2026-02-01")  # an error row, valid_only
    outcome = import_feed(write_csv(feed_dir / "f.csv", [stay(n) for n in numbers] + [bad]),
                          today=TODAY, valid_only=True)
    assert outcome.new == 2 and outcome.invalid == 1
    needles = [*numbers, bad["id_number"], numbers[0][-8:], numbers[1][6:14]]
    tables = [Settlement._meta.db_table, FeedRow._meta.db_table, Feed._meta.db_table,
              AuditEntry._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump = repr(cursor.fetchall())
            for needle in needles:
                assert needle not in dump, (table, needle)


def test_import_is_audited(feed_dir, officer_da):
    outcome = import_feed(write_csv(feed_dir / "f.csv", [stay(outsider(12))]), user=officer_da,
                          today=TODAY)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FEED_IMPORTED)
    assert entry.actor == officer_da
    assert entry.union_path == officer_da.union.path
    assert entry.changes["rows"] == 1 and entry.changes["new"] == 1
    assert entry.object_id == str(outcome.feed.pk)


def test_file_from_the_command_line_is_kept_upload_deleted(feed_dir):
    kept = write_csv(feed_dir / "kept.csv", [stay(outsider(13))])
    import_feed(kept, today=TODAY)
    assert kept.exists()  # the operator's own file
    upload = write_csv(feed_dir / "upload.csv", [stay(outsider(14))])
    import_feed(upload, source=Feed.Source.UPLOAD, today=TODAY)
    assert not upload.exists()
    refused = feed_dir / "refused.csv"
    refused.write_text("not,a,feed\n1,2,3\n")
    outcome = import_feed(refused, source=Feed.Source.API, today=TODAY)
    assert not outcome.imported and not refused.exists()


def test_stays_visible_to_the_members_subtree_and_the_feed_node(feed_dir, make_member,
                                                                officer_da, users):
    a1, b1 = make_member("a1"), make_member("b1")
    import_feed(write_csv(feed_dir / "1.csv", [stay(a1.id_number)]), user=officer_da,
                today=TODAY)
    import_feed(write_csv(feed_dir / "2.csv", [stay(b1.id_number), stay(outsider(20))]),
                today=TODAY)
    import_feed(write_csv(feed_dir / "3.csv", [stay(outsider(21))]), user=officer_da,
                today=TODAY)
    seen = Settlement.objects.visible_to(users["reviewer_da"])
    # a1's stay, and the unmatched stay of district A's own feed; not b1's, not the
    # system feed's unmatched one.
    assert {s.member_id for s in seen} == {a1.pk, None}
    assert seen.count() == 2
    assert Settlement.objects.visible_to(users["admin_city"]).count() == 4
    assert Settlement.objects.visible_to(users["clerk_b1"]).get().member == b1
    assert Feed.objects.visible_to(users["clerk_b1"]).count() == 0
    assert Feed.objects.visible_to(users["admin_city"]).count() == 3


def test_references_are_kept_by_django_where_the_database_has_no_constraint(feed_dir,
                                                                           make_member):
    from django.db.models import ProtectedError

    member = make_member()
    outcome = import_feed(write_csv(feed_dir / "f.csv", [stay(member.id_number)]),
                          today=TODAY)
    with pytest.raises(ProtectedError):
        member.delete()
    stay_ = Settlement.objects.get()
    with pytest.raises(ProtectedError):  # a feed's row still points at it
        stay_.delete()
    FeedRow.objects.filter(feed=outcome.feed).delete()
    assert FeedRow.objects.count() == 0 and Settlement.objects.count() == 1
