"""Printable PDFs: the premium notice and the enrolment certificate render Chinese text
that can be extracted back (pypdf), paginate a large unit with the table header on every
page, never show a full ID number; the amount in capital numerals; the font lookup."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
import reportlab
from pypdf import PdfReader

from huzhu.coverage import enrolment, pdf, premiums
from huzhu.coverage.models import Enrolment, PremiumNotice
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from huzhu.rules import money
from tests.conftest import missing
from tests.coverage.conftest import TODAY

D = dt.date
PAID_ON = D(2026, 2, 12)


@pytest.fixture(autouse=True)
def cjk_font():
    """The suite needs a CJK font (.ci/run installs fonts-wqy-zenhei): skipped without
    one on a developer's machine, a failure in CI."""
    try:
        return pdf.font_name()
    except pdf.PdfFontMissing as exc:
        missing(str(exc))


@pytest.fixture
def notice(users, units, staff, period):
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=TODAY)
    return PremiumNotice.objects.get(unit=units["a1"])


def pages_text(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def flat(data: bytes) -> str:
    """All text, whitespace removed: a table cell or a wrapped line may break anywhere."""
    return re.sub(r"\s+", "", "".join(pages_text(data)))


def pay(users, notice, amount: str, ref: str, on=PAID_ON):
    return premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal(amount),
                                     paid_on=on, bank_reference=ref)


# ---------------------------------------------------------------- premium notice

def test_the_notice_renders_its_chinese_text_and_masks_id_numbers(notice, staff, units):
    data = pdf.premium_notice_pdf(notice)
    text = flat(data)
    a1 = units["a1"]
    for expected in ("测试市总工会", "互助金缴费通知单", notice.number, a1.name, a1.uscc,
                     "宁陕县职工医疗互助保障（五项）", "2026年度", "2026-01-01至2026-12-31",
                     "每人互助金150.00元", "参保人数4人", "应缴金额600.00元",
                     "已缴金额0.00元", "尚欠金额600.00元", "缴费截止日期2026-03-31",
                     "人民币陆佰元整", "请按通知单号备注转账", "第1页/共1页"):
        assert expected in text, expected
    for key in ("m1", "m2", "m3", "m4"):
        member = staff[key]
        assert member.name in text
        assert member.id_number_masked in text
        assert member.id_number not in text
        assert member.id_number[6:14] not in text  # not even the birth date
    # retired and left members were not enrolled
    assert staff["retired"].name not in text and staff["left"].name not in text
    assert text.count("未缴") == 4
    assert "合计4人" in text


def test_the_notice_after_a_payment_and_withdrawals(users, notice, staff):
    pay(users, notice, "320.00", "B-001")  # 赵一 and 钱二 paid
    enrolment.withdraw(users["clerk_a1"], Enrolment.objects.get(member=staff["m1"]),
                       on=D(2026, 6, 1))  # paid: stays on the notice
    enrolment.withdraw(users["clerk_a1"], Enrolment.objects.get(member=staff["m4"]),
                       on=D(2026, 2, 20))  # unpaid: comes off it
    notice.refresh_from_db()
    text = flat(pdf.premium_notice_pdf(notice))
    assert "参保人数3人" in text and "应缴金额450.00元" in text
    assert "已缴金额320.00元" in text and "尚欠金额130.00元" in text
    assert "人民币肆佰伍拾元整" in text and "人民币壹佰叁拾元整" in text
    assert staff["m4"].name not in text
    assert "已退保" in text and text.count("已缴") >= 2
    # the member lines add up to what the notice says is due
    assert "合计3人450.00" in text


def test_long_names_and_markup_characters_come_out_whole(notice, staff, units):
    long = "阿卜杜热合曼·买买提艾力·库尔班江·阿不都热依木·艾合买提江·吐尔逊"
    Member.objects.filter(pk=staff["m1"].pk).update(name=long)
    units["a1"].name = "长春A&B<精密>零部件有限公司"
    units["a1"].save()
    notice.refresh_from_db()
    text = flat(pdf.premium_notice_pdf(notice))
    assert long in text
    assert "长春A&B<精密>零部件有限公司：" in text


@pytest.fixture
def big_unit(users, units, period):
    """150 members of unit b1, enrolled: a table over several pages."""
    unit = units["b1"]
    members = []
    for i in range(150):
        m = Member(name=f"职工{i:03d}号", unit=unit, union=unit.union,
                   birth_date=D(1970, 1, 1) + dt.timedelta(days=i))
        m.set_id_number(make_id_number("220103", m.birth_date, 100 + i))
        m.gender = "F" if i % 2 else "M"
        members.append(m)
    Member.objects.bulk_create(members)
    enrolment.enrol_unit(users["clerk_b1"], period, unit, on=TODAY)
    return PremiumNotice.objects.get(unit=unit)


def test_a_large_unit_runs_over_pages_with_the_header_on_each(big_unit):
    pages = [re.sub(r"\s+", "", t) for t in pages_text(pdf.premium_notice_pdf(big_unit))]
    total = len(pages)
    assert total >= 4  # 150 rows at about 45 a page, after the first page's details
    for number, text in enumerate(pages, start=1):
        assert f"第{number}页/共{total}页" in text
        assert f"通知单号{big_unit.number}" in text
    table_pages = pages[next(i for i, t in enumerate(pages) if "参保人员明细" in t):]
    assert len(table_pages) >= 3
    for text in table_pages:
        assert "序号姓名身份证号参保日期应缴（元）缴费状态" in text
    everything = "".join(pages)
    for i in range(150):
        assert f"职工{i:03d}号" in everything
    assert "合计150人22,500.00" in everything
    assert "人民币贰万贰仟伍佰元整" in everything


# ---------------------------------------------------------------- amount in words

@pytest.mark.parametrize(("amount", "words"), [
    ("0.00", "零元整"),
    ("0.05", "伍分"),
    ("0.50", "伍角"),
    ("0.55", "伍角伍分"),
    ("1.00", "壹元整"),
    ("10.00", "壹拾元整"),           # 壹拾, never a bare 拾
    ("15.00", "壹拾伍元整"),
    ("100.50", "壹佰元伍角"),         # no 整 after 角
    ("150.00", "壹佰伍拾元整"),
    ("600.00", "陆佰元整"),
    ("1001.01", "壹仟零壹元零壹分"),  # one 零 for the run of zeros; 零 before 分
    ("1409.50", "壹仟肆佰零玖元伍角"),  # the People's Bank's own examples follow
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),  # 元 place zero, 角 not: 零 may be left out
    ("107000.53", "壹拾万柒仟元伍角叁分"),  # 万 and 元 places zero: likewise
    ("10010.00", "壹万零壹拾元整"),
    ("100000.00", "壹拾万元整"),
    ("100700.00", "壹拾万零柒佰元整"),  # zero 千 across the 万 boundary needs 零
    ("1000001.00", "壹佰万零壹元整"),
    ("1070000.00", "壹佰零柒万元整"),
    ("22500.00", "贰万贰仟伍佰元整"),
    ("20000000.00", "贰仟万元整"),
    ("100000000.00", "壹亿元整"),
    ("100010000.00", "壹亿零壹万元整"),
    ("1000000000.00", "壹拾亿元整"),
    ("123456789012.34", "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元叁角肆分"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_amount_in_words(amount, words):
    assert money.amount_in_words(Decimal(amount)) == words


def test_amount_in_words_rounds_half_up_to_the_fen_and_refuses_what_is_not_money():
    assert money.amount_in_words(Decimal("0.005")) == "壹分"
    assert money.amount_in_words(Decimal("2")) == "贰元整"
    with pytest.raises(ValueError, match="非负"):
        money.amount_in_words(Decimal("-1.00"))
    with pytest.raises(ValueError, match="过大"):
        money.amount_in_words(Decimal("10000000000000000.00"))
    with pytest.raises(ValueError, match="过大"):
        money.amount_in_words(Decimal("1E+40"))
    with pytest.raises(ValueError):
        money.amount_in_words(Decimal("NaN"))
    with pytest.raises(TypeError):
        money.amount_in_words(1.5)  # type: ignore[arg-type]


def test_money_has_thousands_separators_and_two_places():
    assert money.yuan(Decimal("1234567.5")) == "1,234,567.50"
    assert money.yuan(Decimal("0")) == "0.00"
    assert money.yuan(Decimal("2.675")) == "2.68"  # half-up, exact (a float would say 2.67)
    with pytest.raises(TypeError):
        money.yuan(2.675)  # type: ignore[arg-type]


# ---------------------------------------------------------------- certificate

def test_the_certificate_after_payment_shows_each_waiting_period_end(users, notice, staff):
    pay(users, notice, "600.00", "B-1", on=D(2026, 2, 12))
    e = Enrolment.objects.select_related("member", "period__scheme__union", "unit")\
        .get(member=staff["m2"])
    assert e.first_enrolled == D(2026, 2, 12)
    text = flat(pdf.certificate_pdf(e))
    for expected in ("测试市总工会", "参保凭证", pdf.certificate_number(e), "钱二",
                     staff["m2"].id_number_masked, "长春一汽零部件有限公司",
                     "宁陕县职工医疗互助保障（五项）", "2026年度",
                     "保障期间2026-02-12至2026-12-31", "参保日期2026-02-10",
                     "首次参保日期2026-02-12", "已缴150.00元（2026-02-12）", "参保中",
                     "出具单位：测试市总工会（盖章）", "第1页/共1页"):
        assert expected in text, expected
    assert staff["m2"].id_number not in text
    # Worked by hand from 2026-02-12 (2026 is not a leap year): +90 days is 05-13 and
    # +180 days is 08-11; an event on that day is the first one paid.
    assert "住院医疗互助金90天（180天内按50%给付）2026-05-13起按50%给付，2026-08-11起全额给付" \
        in text
    assert "住院津贴90天2026-05-13起" in text
    assert "重大疾病互助金180天2026-08-11起" in text
    assert "女职工特殊疾病互助金180天2026-08-11起" in text
    assert "意外伤害互助金无等待期" in text


def test_the_certificate_before_payment_says_coverage_starts_on_payment(notice, staff):
    e = Enrolment.objects.get(member=staff["m1"])
    assert e.coverage_from is None
    text = flat(pdf.certificate_pdf(e))
    assert "保障期间待缴费后生效" in text
    assert "首次参保日期待缴费后确定" in text
    assert "未缴（应缴150.00元）" in text
    assert text.count("自缴费生效之日起算") == 4  # the four illness benefits
    assert "2026-05-" not in text  # no waiting date that the payment would move


def test_an_unpaid_renewal_keeps_its_first_enrolment_date_on_the_certificate(notice, staff):
    # As enrolment.renew leaves it: a renewal carries last period's first-enrolment date,
    # which the payment will not move (premiums.allocate keeps it).
    Enrolment.objects.filter(member=staff["m3"]).update(first_enrolled=D(2025, 3, 1))
    text = flat(pdf.certificate_pdf(Enrolment.objects.get(member=staff["m3"])))
    assert "保障期间待缴费后生效" in text
    assert "首次参保日期2025-03-01" in text
    assert "住院津贴90天2025-05-30起" in text  # 2025-03-01 + 90 days, by hand


def test_a_withdrawn_enrolment_says_so_on_its_certificate(users, notice, staff):
    pay(users, notice, "600.00", "B-1", on=D(2026, 2, 12))
    e = enrolment.withdraw(users["clerk_a1"], Enrolment.objects.get(member=staff["m4"]),
                           on=D(2026, 6, 30))
    text = flat(pdf.certificate_pdf(e))
    assert "已退保（2026-06-30）" in text
    assert "保障期间2026-02-12至2026-06-30" in text


def test_certificate_numbers_are_distinct_per_enrolment(notice):
    numbers = {pdf.certificate_number(e) for e in Enrolment.objects.all()}
    assert len(numbers) == Enrolment.objects.count() == 4
    assert all(re.fullmatch(r"CB2026\d{12}", n) for n in numbers)


# ---------------------------------------------------------------- font

@pytest.fixture
def no_font_yet(monkeypatch, settings):
    """Forget the fonts registered so far and any configured one."""
    monkeypatch.setattr(pdf, "_registered", {})
    monkeypatch.delenv("HUZHU_PDF_FONT", raising=False)
    settings.HUZHU_PDF_FONT = ""


def test_without_a_cjk_font_there_is_a_clear_error_not_tofu(no_font_yet, monkeypatch,
                                                            notice):
    latin_only = str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")
    assert Path(latin_only).is_file()
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", (("/nonexistent/wqy-zenhei.ttc", 0),
                                                 (latin_only, 0)))
    with pytest.raises(pdf.PdfFontMissing) as caught:
        pdf.premium_notice_pdf(notice)
    assert str(caught.value) == "未找到中文字体，请安装 fonts-wqy-zenhei 或设置 HUZHU_PDF_FONT"
    with pytest.raises(pdf.PdfFontMissing):
        pdf.certificate_pdf(Enrolment.objects.first())


def test_a_configured_font_is_used_and_a_wrong_one_is_named(no_font_yet, monkeypatch,
                                                            settings, notice, cjk_font):
    installed = next(path for path, _ in pdf.FONT_CANDIDATES if Path(path).is_file())
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", ())
    settings.HUZHU_PDF_FONT = installed
    assert "互助金缴费通知单" in flat(pdf.premium_notice_pdf(notice))
    settings.HUZHU_PDF_FONT = "/nonexistent/font.ttf"
    with pytest.raises(pdf.PdfFontMissing, match=r"/nonexistent/font\.ttf"):
        pdf.premium_notice_pdf(notice)


def test_the_font_is_registered_once(cjk_font):
    assert pdf.font_name() == cjk_font
    assert len(pdf._registered) == 1
