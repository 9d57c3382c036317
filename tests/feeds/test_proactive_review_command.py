"""``huzhu proactive sample`` and ``approve`` with the page's rules, and ``huzhu feed run``
naming its run by the 测算编号 those commands take, its outcomes in words."""

from __future__ import annotations

import pytest

from huzhu.claims.models import Claim
from huzhu.cli import main
from huzhu.feeds.models.proactive import BatchRun, ProactiveSample
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay
from tests.feeds.test_proactive_review import N, _review_sample, city_run, people  # noqa: F401

pytestmark = pytest.mark.django_db


def _sample(run, *more: str) -> list[str]:
    return ["proactive", "sample", str(run.pk), "--percent", "10", *more]


def test_sample_then_approve_from_the_command_line(city_run, people, capsys):  # noqa: F811
    big = Claim.objects.get(member=city_run.big)
    assert main([*_sample(city_run, "--seed", "42", "--add", str(big.pk)),
                 "--as", "reviewer_city"]) == 0
    out = capsys.readouterr().out
    sample = ProactiveSample.objects.get()
    assert f"测算编号 {city_run.pk}：直通理赔 30 笔，合计 {sample.straight_amount:,.2f} 元" in out
    assert (f"抽取复核样本 4 笔（按 10% 随机抽取 3 笔，另加入 1 笔；随机种子 42），"
            f"第 {sample.pk} 号抽样复核决定") in out
    # Refused while the sample is open: says how many, exit 1, nothing approved.
    assert main(["proactive", "approve", str(city_run.pk), "--as", "reviewer_city2"]) == 1
    err = capsys.readouterr().err
    assert "不予批量核准：样本中还有 4 笔理赔未审完（共 4 笔）" in err
    _review_sample(sample, people)
    # The sampler may not approve (four eyes); a clerk's role may not either.
    assert main(["proactive", "approve", str(city_run.pk), "--as", "reviewer_city"]) == 1
    assert "批量核准须由另一位审核人员办理（双人审核）" in capsys.readouterr().err
    assert main(["proactive", "approve", str(city_run.pk), "--as", "clerk_a1"]) == 2
    assert f"没有测算编号为 {city_run.pk} 的免申即享测算" in capsys.readouterr().err
    assert main(["proactive", "approve", str(city_run.pk), "--as", "reviewer_city2"]) == 0
    out = capsys.readouterr().out
    assert f"测算编号 {city_run.pk}：第 {sample.pk} 号抽样复核决定：批量核准 27 笔" in out
    assert Claim.objects.filter(proactive_decision=sample.pk).count() == N - 3
    # Again: nothing changes, and it says so.
    assert main(["proactive", "approve", str(city_run.pk), "--as", "admin_city"]) == 0
    assert "批量核准 27 笔，本次核准 0 笔" in capsys.readouterr().out
    assert Claim.objects.filter(proactive_decision=sample.pk).count() == N - 3


def test_wrong_arguments_exit_2_and_change_nothing(city_run, capsys):  # noqa: F811
    assert main([*_sample(city_run), "--as", "nobody"]) == 2
    assert "没有名为 nobody 的在职工作人员" in capsys.readouterr().err
    assert main(["proactive", "sample", "999", "--percent", "10", "--as", "reviewer_city"]) == 2
    assert "没有测算编号为 999 的免申即享测算" in capsys.readouterr().err
    assert main(["proactive", "sample", str(city_run.pk), "--percent", "百分之一",
                 "--as", "reviewer_city"]) == 2
    assert "抽样比例“百分之一”不是数字" in capsys.readouterr().err
    assert main(["proactive", "sample", str(city_run.pk), "--percent", "150",
                 "--as", "reviewer_city"]) == 2
    # A rule, not an argument: exit 1.
    assert main([*_sample(city_run), "--as", "finance_city"]) == 1
    assert "您的角色不能抽取复核样本，须由审核员或管理员办理" in capsys.readouterr().err
    assert main(["proactive", "approve", str(city_run.pk), "--as", "reviewer_city"]) == 1
    assert "该测算还没有抽取复核样本" in capsys.readouterr().err
    assert not ProactiveSample.objects.exists()


def test_feed_run_prints_its_number_and_its_outcomes_in_words(feed_dir, staff, free_scheme,  # noqa: F811
                                                              users, capsys):
    path = feed_file(feed_dir, [member_stay(staff["m1"], "7000.00")])
    assert main(["feed", "run", str(path), "--scheme", free_scheme.code,
                 "--as", "admin_city"]) == 0
    err = capsys.readouterr().err
    run = BatchRun.objects.get()
    assert f"测算编号 {run.pk}（保障项目：{free_scheme.name}）" in err
    assert "免申即享测算结果" in err
    assert "已生成理赔" in err and "未匹配到会员" in err
    # The run's part of the output (the feed's import table above it is feeds/cli.py's).
    ours = err[err.index("免申即享测算结果"):]
    for code in ("proposed", "already_claimed", "unmatched", "#", "代码"):
        assert code not in ours
