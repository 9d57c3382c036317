"""The demo's settlement feed: written for its own city, valid, importable at once; the
small sample with errors is refused with each error named."""

from __future__ import annotations

import csv

import pytest

from huzhu.demo import command, feeds, generator
from huzhu.feeds.importing import import_feed
from huzhu.feeds.models import Settlement
from huzhu.members.models import Member


@pytest.fixture
def demo(db):
    return generator.generate(members=300, seed=3)


def _rows(path):
    with path.open(encoding="gbk", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_demo_writes_a_valid_feed_of_its_members_and_a_sample_with_errors(demo,
                                                                              settings):
    files = demo.extra["feed_files"]
    feed = files["feed"]
    assert feed.parent == settings.HUZHU_DEMO_DIR and feed.is_file()
    assert oct(feed.stat().st_mode & 0o777) == "0o600"
    rows = _rows(feed)
    assert len(rows) == files["rows"] >= 20
    # The stays of 2026: those up to May came month by month in the history (the same
    # settlement IDs), June's are new.
    assert {r["出院日期"][:4] for r in rows} == {"2026"}
    june = [r for r in rows if r["出院日期"] >= "2026-06-01"]
    known = set(Settlement.objects.values_list("settlement_id", flat=True))
    assert {r["结算ID"] for r in rows} - known == {r["结算ID"] for r in june}
    before = Settlement.objects.count()
    outcome = import_feed(feed)
    assert outcome.imported and outcome.invalid == 0, outcome.errors[:3]
    assert outcome.new == len(june) > 0
    assert outcome.already_known == len(rows) - len(june)
    assert outcome.matched >= 0.9 * len(rows)
    assert outcome.unmatched_not_member >= 2
    matched = Member.objects.filter(settlements__isnull=False).distinct()
    assert matched.count() >= 18
    assert feed.exists()  # an operator's own file stays
    # The small sample with errors: refused, each error named (one generation for both).
    outcome = import_feed(demo.extra["feed_files"]["errors"])
    assert not outcome.imported and outcome.invalid == 5
    messages = " ".join(e.message for e in outcome.errors)
    for words in ("校验", "出院日期早于入院日期", "相差", "不能为负数", "重复"):
        assert words in messages
    assert Settlement.objects.count() == before + len(june)


def test_huzhu_demo_mentions_the_feed(db, capsys):
    import argparse

    assert command.run(argparse.Namespace(members=40, seed=1, reset=False)) == 0
    out = capsys.readouterr().out.replace("\n", "")
    assert "演示医保结算数据（2026 年上半年；1–5 月的已按月导入并给付，6 月的未导入）" in out
    assert "huzhu feed import" in out
    assert "历史：2025 年 1 月至 2026 年 5 月" in out and "统计页面的数字已预先算好" in out
    assert feeds.FEED_FILE in out
