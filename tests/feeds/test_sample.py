"""The README's sample feeds (docs/samples/) import cleanly, to the same stays."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from huzhu.feeds.importing import import_feed
from huzhu.feeds.models import Settlement

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
pytestmark = pytest.mark.django_db


def test_the_samples_import_to_the_same_stays(tmp_path):
    zh = import_feed(shutil.copy(SAMPLES / "settlement-feed.csv", tmp_path / "zh.csv"))
    assert zh.imported and (zh.rows, zh.new, zh.invalid) == (5, 5, 0), zh.errors
    stays = sorted(Settlement.objects.values_list("settlement_id", "id_number_hash",
                                                  "out_of_pocket", "diagnosis"))
    en = import_feed(shutil.copy(SAMPLES / "settlement-feed-en.csv", tmp_path / "en.csv"))
    assert en.imported and (en.new, en.already_known) == (0, 5), en.errors
    assert sorted(Settlement.objects.values_list("settlement_id", "id_number_hash",
                                                 "out_of_pocket", "diagnosis")) == stays
