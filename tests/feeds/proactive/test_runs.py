"""Runs of the batch: interrupted and run again, two at once (PostgreSQL), as a district's
data officer, on the command line with its report, on the page, and on Spark."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
from decimal import Decimal

import openpyxl
import pytest
from django.db import connections

from huzhu.claims import computation
from huzhu.claims.models import Claim
from huzhu.feeds.importing import import_feed
from huzhu.feeds.models.proactive import BatchRun, StayOutcome
from huzhu.feeds.proactive import run as batch
from huzhu.feeds.proactive import writes as batch_writes
from huzhu.orgs.models import User
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, outcomes, run_feed
from tests.feeds.conftest import outsider, stay
from tests.fixtures import PASSWORD

P = StayOutcome.Outcome
D = dt.date
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _capped_feed(feed_dir, staff):  # noqa: F811
    """m1's second stay finds the yearly cap used up by the first — whose claim an
    interrupted run made and its rerun must count."""
    m = staff["m1"]
    return feed_file(feed_dir, [
        member_stay(m, "900000.00"),
        member_stay(staff["m2"], "7000.00"),
        member_stay(m, "100000.00", admit_date="2026-05-01", discharge_date="2026-05-09"),
        member_stay(staff["m3"], "152000.00"),
        stay(outsider(3)),
    ])


EXPECTED = {("赵一", D(2026, 3, 10)): Decimal("50000.00"),
            ("钱二", D(2026, 3, 10)): Decimal("105.00"),
            ("孙三", D(2026, 3, 10)): Decimal("12160.00")}


def _claims() -> dict:
    return {(c.member.name, c.event_date): c.computed
            for c in Claim.objects.filter(settlement__isnull=False).select_related("member")}


def _interrupt_after(monkeypatch, chunks: int) -> None:
    """The process dies while writing chunk ``chunks + 1``: its transaction is lost."""
    monkeypatch.setattr(batch, "CHUNK_ROWS", 1)
    real = batch_writes._write_chunk
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        made = real(*args, **kwargs)
        if calls["n"] > chunks:
            raise KeyboardInterrupt("killed")
        return made

    monkeypatch.setattr(batch_writes, "_write_chunk", dying)


@pytest.mark.django_db
def test_an_interrupted_run_run_again_gives_the_clean_runs_claims(feed_dir, staff,  # noqa: F811
                                                                  free_scheme, monkeypatch):  # noqa: F811
    path = _capped_feed(feed_dir, staff)
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        run_feed(path, free_scheme)
    assert _claims() == {("赵一", D(2026, 3, 10)): Decimal("50000.00")}
    killed = BatchRun.objects.get()
    # A killed process leaves its run "running" (the page calls it interrupted when
    # it has made no progress for ten minutes); one chunk was committed.
    assert killed.status == BatchRun.Status.RUNNING and killed.done == 1
    monkeypatch.undo()
    again = run_feed(path, free_scheme).run  # the file again, as the clerk would
    assert _claims() == EXPECTED
    got = outcomes(again)
    assert [o for _, _, o, _, _ in got] == [P.ALREADY_CLAIMED, P.PROPOSED, P.INELIGIBLE,
                                            P.PROPOSED, P.UNMATCHED]
    assert got[2][4] == "cap_per_year"  # the pending 50,000 claim used the year's cap


@pytest.mark.django_db
def test_an_interrupted_run_resumed_finishes_its_own_rows(feed_dir, staff, free_scheme,  # noqa: F811
                                                          monkeypatch):
    path = _capped_feed(feed_dir, staff)
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run_feed(path, free_scheme)
    monkeypatch.undo()
    run = BatchRun.objects.get()
    result = batch.execute(run)
    assert result.run.status == BatchRun.Status.DONE
    assert _claims() == EXPECTED
    assert result.run.counts == {"proposed": 3, "ineligible": 1, "unmatched": 1}
    assert StayOutcome.objects.filter(run=run).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_claim_each_stay_once(feed_dir, staff, free_scheme, monkeypatch):  # noqa: F811
    """Both runs find no claim and both insert at the same moment: the unique index makes
    the second wait for the first and then skip what it claimed."""
    path = feed_file(feed_dir, [member_stay(staff[k], f"{6000 + i * 1000}.00")
                                for i, k in enumerate(("m1", "m2", "m3", "m4", "a2x"))])
    feeds = [import_feed(path).feed for _ in range(2)]
    runs = [batch.start_run(f, free_scheme) for f in feeds]
    together = threading.Barrier(2, timeout=30)
    real = batch_writes.ClaimWriter.insert

    def at_once(self, proposed):
        together.wait()
        return real(self, proposed)

    monkeypatch.setattr(batch_writes.ClaimWriter, "insert", at_once)
    errors = []

    def work(run):
        try:
            batch.execute(run)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert Claim.objects.filter(settlement__isnull=False).count() == 5
    per_run = [dict(StayOutcome.objects.filter(run=r).values_list("row", "outcome"))
               for r in runs]
    for row in range(2, 7):
        assert sorted((per_run[0][row], per_run[1][row])) == [P.ALREADY_CLAIMED, P.PROPOSED]


@pytest.mark.django_db
def test_a_district_officer_runs_only_their_members(feed_dir, staff, free_scheme, tree,  # noqa: F811
                                                    make_member):
    officer = User.objects.create_user(username="data_da", password=PASSWORD, role="admin",
                                       union=tree["da"])
    other = User.objects.create_user(username="data_db", password=PASSWORD, role="admin",
                                     union=tree["db"])
    b1 = make_member("b1", name="乙会员")
    path = feed_file(feed_dir, [member_stay(staff["m1"], "7000.00"),
                                member_stay(b1, "7000.00")])
    run = run_feed(path, free_scheme, user=officer).run
    got = outcomes(run)
    assert [o for _, _, o, _, _ in got] == [P.PROPOSED, P.UNMATCHED]
    assert StayOutcome.objects.get(run=run, row=3).reason_text == "不在您的管辖范围内"
    assert not Claim.objects.filter(member=b1).exists()
    claim = Claim.objects.get(member=staff["m1"])
    # Filed by the system account, so the officer who started the run may review it.
    assert claim.filed_by.username == "huzhu-proactive"
    assert BatchRun.objects.visible_to(other).count() == 0
    assert StayOutcome.objects.visible_to(other).filter(run=run).count() == 0
    assert StayOutcome.objects.visible_to(officer).filter(run=run).count() == 2


@pytest.mark.django_db
def test_the_command_line_run_and_its_report(feed_dir, staff, free_scheme, capsys, tmp_path):  # noqa: F811
    from huzhu.cli import main

    path = _capped_feed(feed_dir, staff)
    report = tmp_path / "report.csv"
    assert main(["feed", "run", str(path), "--scheme", free_scheme.code,
                 "--report", str(report)]) == 0
    err = capsys.readouterr().err.replace("\n", "")
    assert "已生成理赔 3 条" in err and "62,265.00 元" in err
    with report.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:6] == ["settlement_id", "outcome", "member_id", "benefit", "amount",
                                 "reason"]
    assert [r["outcome"] for r in rows] == ["proposed", "proposed", "ineligible", "proposed",
                                            "unmatched"]
    assert rows[0]["amount"] == "50000.00" and rows[0]["claim"].startswith("LP2026")
    assert rows[4]["member_id"] == "" and rows[4]["reason"] == "非工会会员"
    assert rows[2]["reason_code"] == "cap_per_year" and "上限" in rows[2]["reason"]
    xlsx = tmp_path / "report.xlsx"
    from huzhu.feeds.proactive.report import write_report

    write_report(BatchRun.objects.get(), xlsx)
    book = openpyxl.load_workbook(xlsx)
    sheet = book["测算结果"]
    lines = list(sheet.iter_rows(values_only=True))
    # For people: Chinese headers only, then one line per row; names, not codes.
    assert lines[0] == ("行号", "结算ID", "会员", "保障项目", "结果", "金额（元）", "原因",
                        "理赔编号", "病历挖掘")
    assert len(lines) == 1 + 5
    first = lines[1]
    assert first[2] == staff["m1"].name and first[4] == "已生成理赔"
    assert first[3] == free_scheme.policy().benefit("hospital").name
    assert first[5] == 50000 and sheet.cell(2, 6).number_format == "#,##0.00"
    assert lines[5][4] == "未匹配到会员" and lines[5][2] is None
    assert not any(re.search(r"[a-z]+_[a-z_]+", str(v)) for line in lines for v in line if v)
    totals = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert totals["已生成理赔"] == 3 and totals["未匹配到会员"] == 1
    assert totals["合计"] == 5 and totals["拟给付金额（元）"] == 62265
    # Unknown scheme: refused, nothing imported.
    assert main(["feed", "run", str(path), "--scheme", "nope"]) == 2


@pytest.mark.django_db
def test_a_bad_file_is_neither_imported_nor_run_unless_valid_only(
        feed_dir, staff, free_scheme, capsys, tmp_path):  # noqa: F811
    from huzhu.cli import main
    from huzhu.feeds.models import Settlement

    path = feed_file(feed_dir, [member_stay(staff["m1"], "60000.00"),
                                member_stay(staff["m2"], "8000.00", discharge_date="2026-02-01")])
    errors = tmp_path / "errors.xlsx"
    assert main(["feed", "run", str(path), "--scheme", free_scheme.code,
                 "--errors-out", str(errors)]) == 1
    out = capsys.readouterr()
    assert "错误（共 1 处）" in out.out + out.err and errors.exists()
    assert not Settlement.objects.exists() and not Claim.objects.exists()
    assert not BatchRun.objects.exists()
    path = feed_file(feed_dir, [member_stay(staff["m1"], "60000.00"),
                                member_stay(staff["m2"], "8000.00", discharge_date="2026-02-01")],
                     name="again.csv")
    assert main(["feed", "run", str(path), "--scheme", free_scheme.code, "--valid-only"]) == 0
    assert Claim.objects.filter(settlement__isnull=False).count() == 1


@pytest.mark.django_db
def test_the_page_runs_a_feed_in_the_background(client, feed_dir, staff, free_scheme,  # noqa: F811
                                                users, settings):
    settings.TASKS = IMMEDIATE
    feed = import_feed(_capped_feed(feed_dir, staff)).feed
    client.login(username="clerk_a1", password=PASSWORD)
    assert client.get("/feeds/runs/new/").status_code == 403
    client.login(username="admin_city", password=PASSWORD)
    page = client.get(f"/feeds/runs/new/?feed={feed.pk}")
    assert page.status_code == 200 and feed.file_name in page.content.decode()
    answer = client.post("/feeds/runs/new/", {"feed": feed.pk, "scheme": free_scheme.code,
                                              "engine": "duckdb"})
    run = BatchRun.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/feeds/runs/{run.pk}/"
    html = client.get(f"/feeds/runs/{run.pk}/").content.decode()
    assert "测算完成" in html and 'id="count-proposed">3<' in html
    # Said once: the result line carries its own "测算完成：" (the command prints it too).
    assert html.count("测算完成") == 1 and "测算完成：" in html
    assert "金额超过10,000元" in html
    # People's words: the engine as a way of computing, the benefit by its name.
    hospital = free_scheme.policy().benefit("hospital").name
    assert '计算方式 <span id="run-engine">单机计算</span>' in html and "duckdb" not in html
    assert f"<td>{hospital}</td>" in html and "<td>hospital</td>" not in html
    assert f"<title>{run.title} · 互助保障系统</title>" in html
    assert client.get(f"/feeds/runs/{run.pk}/?show=unmatched").content.decode() \
        .count('<tr id="run-line-') == 1
    report = client.get(f"/feeds/runs/{run.pk}/report.xlsx")
    assert report.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(report.streaming_content)))
    assert book["测算结果"].max_row == 6
    large = client.get(f"/feeds/runs/{run.pk}/follow-up/large.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(large.streaming_content))).active
    # Amounts as numbers Excel adds up, shown with two places.
    assert [r[6] for r in sheet.iter_rows(min_row=2, values_only=True)] == [50000, 12160]
    assert sheet.cell(2, 7).number_format == "#,##0.00"
    assert client.get("/feeds/runs/").content.decode().count('<tr id="run-row-') == 1
    # Another district's officer does not see the run at all.
    User.objects.create_user(username="data_db", password=PASSWORD, role="admin",
                             union=staff["m1"].union.parent.parent.children.get(code="D02"))
    client.login(username="data_db", password=PASSWORD)
    assert client.get(f"/feeds/runs/{run.pk}/").status_code == 404


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.django_db
def test_spark_gives_the_same_claims_as_the_claims_app(feed_dir, staff, free_scheme, spark):  # noqa: F811
    result = run_feed(_capped_feed(feed_dir, staff), free_scheme, engine="pyspark",
                      spark_session=spark)
    assert result.run.engine == "pyspark"
    assert _claims() == EXPECTED
    for claim in Claim.objects.filter(settlement__isnull=False):
        assert computation.compute(claim)["payable"] == claim.computed  # DuckDB, one claim


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_chunks_written_side_by_side_number_in_row_order_and_resume(feed_dir, staff,  # noqa: F811
                                                                   free_scheme, monkeypatch):  # noqa: F811
    """On PostgreSQL two chunks are written at once, each committing whole: the claims are
    the sequential run's, numbered in row order; a chunk that failed (a later one may have
    committed before it) is written by the rerun."""
    path = _capped_feed(feed_dir, staff)
    monkeypatch.setattr(batch, "CHUNK_ROWS", 1)
    real = batch_writes._write_chunk

    def second_fails(run, writer, chunk, details):
        if chunk[0].row == 3:
            raise RuntimeError("lost")
        return real(run, writer, chunk, details)

    monkeypatch.setattr(batch_writes, "_write_chunk", second_fails)
    with pytest.raises(RuntimeError):
        run_feed(path, free_scheme)
    monkeypatch.setattr(batch_writes, "_write_chunk", real)
    run = BatchRun.objects.get()
    assert 3 not in set(StayOutcome.objects.filter(run=run).values_list("row", flat=True))
    batch.execute(run)
    assert _claims() == EXPECTED
    assert sorted(StayOutcome.objects.filter(run=run).values_list("row", flat=True)) == \
        [2, 3, 4, 5, 6]
    rows = list(StayOutcome.objects.filter(run=run, outcome=P.PROPOSED).order_by("row")
                .values_list("claim_id", flat=True))
    assert len(rows) == 3 and rows == sorted(rows)


@pytest.mark.django_db
def test_a_row_held_as_a_collision_is_accounted_for_with_its_neutral_message(
        feed_dir, staff, free_scheme):  # noqa: F811
    """A row whose settlement ID was already stored with other facts is held for the union
    (结算ID冲突): the run reports it with the row's own neutral message, not as an
    unmatched stay with no reason."""
    first = feed_file(feed_dir, [member_stay(staff["m1"], "7000.00", settlement_id="JS-1")],
                      name="first.csv")
    assert import_feed(first).imported
    second = feed_file(feed_dir, [
        member_stay(staff["m1"], "8000.00", settlement_id="JS-1"),
        member_stay(staff["m2"], "7000.00", settlement_id="JS-2"),
    ], name="second.csv")
    run = run_feed(second, free_scheme).run
    held = StayOutcome.objects.get(run=run, row=2)
    assert (held.outcome, held.reason) == (P.INVALID, "conflict")
    assert held.reason_text == "该结算ID已有内容不同的结算记录，本行未导入，已转交工会核对"
    assert StayOutcome.objects.get(run=run, row=3).outcome == P.PROPOSED
