"""Who files a proactive claim: always the system account huzhu-proactive, whether the
run was started on the feed page or by ``huzhu feed run``; the person who started it is
recorded on the run, in the claim's history and in the audit log, and may review the
run's claims like any reviewer (issue 21: the city's only admin could finish none)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim
from huzhu.claims.workflow import ClaimRefused, apply
from huzhu.feeds.importing import import_feed
from huzhu.feeds.models.proactive import BatchRun
from tests.claims.conftest import add_materials
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay
from tests.fixtures import PASSWORD

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _feed(feed_dir, staff):  # noqa: F811
    return feed_file(feed_dir, [member_stay(staff["m1"], "7000.00"),
                                member_stay(staff["m2"], "8000.00")])


def _ready(claim: Claim, user) -> None:
    """What a clerk does before submitting: the materials the settlement does not give."""
    add_materials(claim, user)


@pytest.mark.django_db
def test_a_web_run_files_under_the_system_account_and_its_starter_may_review(
        client, feed_dir, staff, free_scheme, users, settings):  # noqa: F811
    settings.TASKS = IMMEDIATE
    starter = users["admin_city"]
    feed = import_feed(_feed(feed_dir, staff)).feed
    assert client.login(username="admin_city", password=PASSWORD)
    answer = client.post("/feeds/runs/new/", {"feed": feed.pk, "scheme": free_scheme.code,
                                              "engine": "duckdb"})
    assert answer.status_code == 302
    run = BatchRun.objects.get()
    assert run.user == starter  # the starter is recorded on the run
    claims = list(Claim.objects.filter(settlement__isnull=False).order_by("member__name")
                  .select_related("filed_by", "member"))
    assert len(claims) == 2
    assert {c.filed_by.username for c in claims} == {"huzhu-proactive"}
    filer = claims[0].filed_by
    assert not filer.is_active and not filer.has_usable_password()
    first = claims[0].history.get()
    assert first.actor == filer
    # The run by its time and feed, as people name it, not by its row number.
    when = f"{timezone.localtime(run.created_at):%Y-%m-%d %H:%M}"
    assert first.note == f"由免申即享测算（{when}，{feed.file_name}）生成，admin_city 发起"
    made = AuditEntry.objects.get(object_type="batchrun", object_id=str(run.pk))
    assert made.actor == starter and made.summary.startswith(
        f"免申即享测算（{when}，{feed.file_name}）：生成待审核理赔 2 件")

    # The starter takes 初审 of one claim; another reviewer's 初审 of the other claim is
    # followed by the starter's 复审 (four eyes still bars the same person twice).
    mine, theirs = claims
    for claim in claims:
        _ready(claim, starter)
        assert apply(starter, claim.pk, "submit").state == "submitted"
    assert apply(starter, mine.pk, "first_pass").state == "second_review"
    assert apply(users["reviewer_da"], theirs.pk, "first_pass").state == "second_review"
    assert apply(starter, theirs.pk, "approve").state == "approved"
    with pytest.raises(ClaimRefused, match="您已做过初审，复审须由另一位审核人员办理"):
        apply(starter, mine.pk, "approve")
    assert apply(users["reviewer_da"], mine.pk, "approve").state == "approved"


@pytest.mark.django_db
def test_the_command_line_run_files_under_the_same_account(feed_dir, staff, free_scheme,  # noqa: F811
                                                           users, capsys):
    from huzhu.cli import main

    path = _feed(feed_dir, staff)
    assert main(["feed", "run", str(path), "--scheme", free_scheme.code,
                 "--as", "admin_city"]) == 0
    run = BatchRun.objects.get()
    assert run.user == users["admin_city"]
    assert set(Claim.objects.filter(settlement__isnull=False)
               .values_list("filed_by__username", flat=True)) == {"huzhu-proactive"}
    # Without --as the same account files; the run names no starter.
    path = feed_file(feed_dir, [member_stay(staff["m3"], "9000.00")], name="again.csv")
    assert main(["feed", "run", str(path), "--scheme", free_scheme.code]) == 0
    second = BatchRun.objects.latest("pk")
    assert second.user is None
    claim = Claim.objects.get(member=staff["m3"])
    assert claim.filed_by.username == "huzhu-proactive"
    assert claim.history.get().note == f"由{second.title}生成"
