"""The feeds' housekeeping: a dead worker's feed failed and its upload (plaintext ID
numbers) deleted; leftovers cleaned."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from huzhu.feeds import housekeeping, jobs
from huzhu.feeds.models import Feed
from huzhu.lib.jobs import JobHeartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads(tmp_path, settings):
    settings.UPLOAD_ROOT = tmp_path / "uploads"


def test_a_stuck_feed_is_failed_and_its_upload_deleted(settings):
    stored = jobs.store_upload(b"id,number\n", ".csv")
    long_ago = timezone.now() - dt.timedelta(hours=2)
    feed = Feed.objects.create(file_name="a.csv", source=Feed.Source.UPLOAD,
                               status=Feed.Status.IMPORTING, started_at=long_ago,
                               stored_path=str(stored))
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    done = housekeeping.sweep()
    feed.refresh_from_db()
    assert done["中断的结算数据导入"] == 1
    assert feed.status == Feed.Status.FAILED and feed.message == jobs.INTERRUPTED
    assert not stored.exists() and feed.stored_path == ""


def test_a_live_feed_is_left_alone():
    feed = Feed.objects.create(file_name="a.csv", status=Feed.Status.VALIDATING,
                               started_at=timezone.now())
    with JobHeartbeat(feed):
        assert housekeeping.sweep()["中断的结算数据导入"] == 0
    feed.refresh_from_db()
    assert feed.status == Feed.Status.VALIDATING


def test_finished_uploads_and_orphans_are_deleted():
    stored = jobs.store_upload(b"x", ".csv")
    Feed.objects.create(file_name="a.csv", status=Feed.Status.DONE, stored_path=str(stored))
    orphan = Feed.files().dir() / "left-over.csv"
    orphan.write_bytes(b"x")
    old = (timezone.now() - dt.timedelta(hours=3)).timestamp()
    os.utime(orphan, (old, old))
    fresh = Feed.files().dir() / "just-written.csv"
    fresh.write_bytes(b"x")
    done = housekeeping.sweep()
    assert done["删除的结算数据上传文件"] == 1 and done["删除的残留文件"] == 1
    assert not stored.exists() and not orphan.exists() and fresh.exists()
