"""``huzhu proactive sample`` and ``huzhu proactive approve``: review by exception of a
run (免申即享) on the command line, with the run page's rules (:mod:`.review`).

Exit codes: 0 done (approve: also a decision already taken, which changes nothing), 1
refused by a rule (the sample still open, over the threshold, the run already sampled,
four eyes, the role), 2 a wrong argument (no such run or user, a bad percentage). The
arguments are parsed by :mod:`.cli`; this module is imported after Django is set up."""

from __future__ import annotations

import argparse

from rich.console import Console

from huzhu.feeds.models.proactive import BatchRun
from huzhu.feeds.proactive import review
from huzhu.orgs.models import User
from huzhu.rules.money import yuan


def _user(console: Console, username: str) -> User | None:
    user = User.objects.filter(username=username).select_related("union").first()
    if user is None or not user.is_active:
        console.print(f"[red]没有名为 {username} 的在职工作人员[/red]")
        return None
    return user


def _run(console: Console, user: User, run_id: int) -> BatchRun | None:
    run = (BatchRun.objects.visible_to(user).select_related("scheme__union", "union", "feed")
           .filter(pk=run_id).first())
    if run is None:
        console.print(f"[red]没有测算编号为 {run_id} 的免申即享测算（或不在您的管辖范围内）[/red]")
    return run


def run_sample(args: argparse.Namespace) -> int:
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    user = _user(err, args.username)
    if user is None:
        return 2
    run = _run(err, user, args.run_id)
    if run is None:
        return 2
    try:
        percent = review.parse_percent(args.percent)
    except review.ReviewRefused as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    try:
        sample = review.draw(user, run, percent=percent, seed=args.seed, add=args.add)
    except review.ReviewRefused as exc:
        err.print(f"[red]{exc}[/red]")
        return 1
    added = f"，另加入 {sample.added:,} 笔" if sample.added else ""
    out.print(f"测算编号 {run.pk}：直通理赔 {sample.straight_through:,} 笔，合计 "
              f"{yuan(sample.straight_amount)} 元")
    pct = review.shown_percent(sample.percent)
    out.print(f"抽取复核样本 {sample.size:,} 笔（按 {pct}% 随机抽取 "
              f"{sample.drawn:,} 笔{added}；随机种子 {sample.seed}），"
              f"第 {sample.pk} 号抽样复核决定")
    out.print("样本按普通理赔办理初审、复审；全部审完后，由另一位审核人员批量核准其余直通理赔")
    return 0


def run_approve(args: argparse.Namespace) -> int:
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    user = _user(err, args.username)
    if user is None:
        return 2
    run = _run(err, user, args.run_id)
    if run is None:
        return 2
    try:
        decision = review.approve(user, run)
    except review.ReviewRefused as exc:
        err.print(f"[red]不予批量核准：{exc}[/red]")
        return 1
    if decision.refusal:
        err.print(f"[red]不予批量核准：{decision.refusal}[/red]")
        return 1
    out.print(f"测算编号 {run.pk}：{decision.message}")
    return 0
