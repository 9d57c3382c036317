"""``huzhu feed import FILE``: counts and errors on the terminal, the report on request."""

from __future__ import annotations

import openpyxl
import pytest

from huzhu.cli import main
from huzhu.feeds.models import Settlement
from tests.feeds.conftest import outsider, stay, write_csv

pytestmark = pytest.mark.django_db


def test_import_prints_the_counts_and_keeps_the_operator_file(feed_dir, make_member, capsys):
    member = make_member()
    path = write_csv(feed_dir / "feed.csv", [stay(member.id_number), stay(outsider(1))])
    assert main(["feed", "import", str(path)]) == 0
    err = capsys.readouterr().err
    assert "新增结算2条" in err and "匹配到会员1条" in err and "非会员1条" in err
    # The table is titled by the file, not by a record number.
    assert "医保结算数据（feed.csv）" in err and "#" not in err
    assert path.exists() and Settlement.objects.count() == 2
    assert main(["feed", "import", str(path)]) == 0
    assert "已导入过2条" in capsys.readouterr().err


def test_errors_are_listed_and_written_to_the_report(feed_dir, tmp_path, capsys):
    path = write_csv(feed_dir / "bad.csv", [stay(outsider(2), discharge_date="2026-01-01")])
    report = tmp_path / "report.xlsx"
    assert main(["feed", "import", str(path), "--errors-out", str(report)]) == 1
    err = capsys.readouterr().err
    assert "出院日期早于入院日期" in err and "全部未导入" in err
    rows = list(openpyxl.load_workbook(report).active.iter_rows(values_only=True))
    assert rows[1] == ("bad.csv", 2, "出院日期", "出院日期早于入院日期")
    assert Settlement.objects.count() == 0
    assert main(["feed", "import", str(path), "--valid-only"]) == 0
    assert "1行有错误" in capsys.readouterr().err


def test_as_a_user_who_is_not_a_data_officer(feed_dir, users, capsys):
    path = write_csv(feed_dir / "f.csv", [stay(outsider(3))])
    assert main(["feed", "import", str(path), "--as", "clerk_a1"]) == 2
    assert "不是数据人员" in capsys.readouterr().err
    assert main(["feed", "import", str(path), "--as", "nobody"]) == 2
    assert main(["feed", "import", str(feed_dir / "missing.csv")]) == 2
    assert "找不到文件" in capsys.readouterr().err
    assert main(["feed", "import", str(path), "--as", "admin_city"]) == 0
    assert Settlement.objects.count() == 1
