"""The batch's claims written column by column (one CSV per chunk, PostgreSQL) are the
claims the per-row path writes: every column, the computation's keys and values alike."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from huzhu.claims.models import Claim
from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.feeds.proactive import copy_rows, writes
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, run_feed

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
BY_ID = ("id", "number", "created_at", "updated_at")


def _claims() -> list[dict]:
    return [{k: v for k, v in model_to_dict(c).items() if k not in BY_ID}
            for c in Claim.objects.order_by("member_id", "benefit")]


def test_the_csv_path_writes_what_the_row_path_writes(feed_dir, staff, free_scheme,  # noqa: F811
                                                      monkeypatch):
    path = feed_file(feed_dir, [
        member_stay(staff["m1"], "7000.00"),
        member_stay(staff["m3"], "152000.00"),
        member_stay(staff["m4"], "8000.00")])
    made = []
    real = copy_rows.claim_csv
    monkeypatch.setattr(copy_rows, "claim_csv", lambda *a: made.append(1) or real(*a))
    run_feed(path, free_scheme)
    assert made  # the chunk went as CSV
    by_columns = _claims()
    assert len(by_columns) == 3
    assert by_columns[1]["computation"]["payable"] == "12160.00"
    StayOutcome.objects.all().delete()
    BatchRun.objects.all().delete()
    Claim.objects.all().delete()
    # The per-row path: the writer finds the engine's output one it cannot COPY as CSV.
    monkeypatch.setattr(writes, "supports", lambda schema: False)
    run_feed(path, free_scheme)
    assert _claims() == by_columns
