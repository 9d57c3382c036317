"""huzhu export engine: the registry as huzhu calc's inputs, keyed by internal ids."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from huzhu.cli import main
from huzhu.coverage import enrolment, premiums
from huzhu.coverage.models import PremiumNotice


def test_export_engine_writes_calc_inputs_that_calc_accepts(users, units, staff, period,
                                                            tmp_path):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=dt.date(2026, 2, 1))
    notice = PremiumNotice.objects.get()
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("300.00"),
                              paid_on=dt.date(2026, 2, 3), bank_reference="B1")
    assert main(["export", "engine", "--scheme", period.scheme.code, "--out",
                 str(tmp_path)]) == 0
    members = pq.read_table(tmp_path / "members.parquet").to_pylist()
    enrolments = pq.read_table(tmp_path / "enrolments.parquet").to_pylist()
    by_id = {m["member_id"]: m for m in members}
    m1 = by_id[str(staff["m1"].pk)]
    assert m1["birth_date"] == dt.date(1980, 1, 1) and m1["status"] == "active"
    assert m1["union"] == "甲区总工会"  # grouped one level below the scheme's node
    assert all(staff["m1"].id_number not in str(row) for row in members)
    assert [(e["member_id"], e["period_start"]) for e in enrolments] == [
        (str(staff["m1"].pk), dt.date(2026, 2, 3)), (str(staff["m2"].pk), dt.date(2026, 2, 3))]
    events = pa.table({"event_id": ["e1"], "member_id": [str(staff["m1"].pk)],
                       "benefit": ["critical_illness"], "event_date": [dt.date(2026, 12, 1)],
                       "diagnosis": ["C50.9"]})
    pq.write_table(events, tmp_path / "events.parquet")
    out = tmp_path / "out.parquet"
    assert main(["calc", "--policy", "ningshan-2024", "--members",
                 str(tmp_path / "members.parquet"), "--events", str(tmp_path / "events.parquet"),
                 "--enrolments", str(tmp_path / "enrolments.parquet"), "--out", str(out)]) == 0
    row = pq.read_table(out).to_pylist()[0]
    assert row["status"] == "payable" and row["payable"] == Decimal("10000.00")


def test_unknown_scheme_is_a_clear_error(db, capsys, tmp_path):
    assert main(["export", "engine", "--scheme", "nope", "--out", str(tmp_path)]) == 2
    assert "没有编码为 nope 的保障项目" in capsys.readouterr().err


def test_the_engine_tables_hold_exactly_the_registry(users, units, staff, period, make_member):
    """Column by column against the ORM: ids and family ids as text, dates, each member's
    report group, and only the enrolments that gave coverage, in (member, start) order."""
    from huzhu.coverage.engine_inputs import enrolment_table, member_table
    from huzhu.coverage.models import Enrolment
    from huzhu.members.models import Member

    staff["m2"].family_head = staff["m1"]
    staff["m2"].save()
    make_member("b1", name="乙一", birth=dt.date(1990, 5, 6), occupation="medical")
    for key in ("a1", "a2", "b1"):
        enrolment.enrol_unit(users["admin_city"], period, units[key], on=dt.date(2026, 2, 1))
    notice = PremiumNotice.objects.get(unit=units["a1"])
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("300.00"),
                              paid_on=dt.date(2026, 2, 3), bank_reference="B1")
    groups = {units["a1"].union_id: "甲区总工会", units["a2"].union_id: "甲区总工会",
              units["b1"].union_id: "乙区总工会"}
    assert member_table(period.scheme).to_pylist() == [
        {"member_id": str(m.pk), "birth_date": m.birth_date, "gender": m.gender,
         "status": m.status, "occupation": m.occupation,
         "family_id": str(m.family_head_id or m.pk), "union": groups[m.union_id]}
        for m in Member.objects.order_by("id")]
    covered = Enrolment.objects.filter(coverage_from__isnull=False).order_by("member_id",
                                                                             "coverage_from")
    assert len(covered) == 2  # a1's first two of four paid; a2 and b1 not yet
    assert enrolment_table(period.scheme).to_pylist() == [
        {"member_id": str(e.member_id), "period_start": e.coverage_from,
         "period_end": e.coverage_to, "first_enrolled": e.first_enrolled} for e in covered]
