"""A week in a union office (issue 21), in real Chromium, as the five roles do it.

The clerk registers a member, checks on the intake page which benefits apply on a day
(and why not before the member joined), files one hospital claim with real files and
submits it, and later corrects it when it is returned (修改事件信息, the material asked
for, resubmitted). Reviewers do first and second review one by one (the first reviewer
is told why they may not do the second) and in bulk (ticked claims, then 选择全部), and
read the result's counts and refusals. Finance builds the payout batch, downloads the
bank file with full account numbers for a stated purpose, and marks it paid on a date;
the 互助金账 shows the money. The admin opens the feed, the 免申即享 runs, 统计 and the
what-if pages. The auditor finds every one of these actions in the 审计日志, filtered
by operator and date, and exports the list as an xlsx with Chinese headers.

Each page is read as a person reads it: amounts with two decimals and thousands
separators, Chinese only (the crawl's check), states and counts. Screenshots land in
var/screenshots/office-week-*.png for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest

from huzhu.claims import intake
from huzhu.claims.models import Claim, Payout
from huzhu.claims.workflow import apply
from huzhu.members.idcard import make_id_number
from huzhu.orgs.models import User
from tests.browser.conftest import login
from tests.browser.test_claims_flow import (  # noqa: F401  (hospital_case is a fixture)
    ACCOUNT,
    hospital_case,
    pdf,
    png,
    state_is,
    switch,
    upload,
)
from tests.browser.test_crawl import _not_chinese, _visible_english, _xlsx_findings
from tests.claims.conftest import add_materials
from tests.feeds.conftest import outsider, stay, write_csv
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.browser

NEW_ID = make_id_number("220102", dt.date(1990, 3, 7), 517)  # its check digit right
# Every amount a person reads: thousands separators and exactly two decimals.
# A decimal number a person reads (in a sentence or a table cell); not a part of a code
# (I21.9), an address (127.0.0.1), a percentage (3.5%) or a file size (200.0 MB).
AMOUNT = re.compile(r"(?<![A-Za-z\d.,])\d[\d,]*\.\d+(?![\d.]|\s*(?:%|[KMG]B))")
VERSION = re.compile(r"版本\s*[\d.]+")  # a policy's version (2023.1) is not an amount
WELL_FORMED = re.compile(r"^\d{1,3}(,\d{3})*\.\d{2}$")


def chinese_only(page, where: str) -> None:
    english = _visible_english(page)
    assert not english, f"{where}: codes or English in the page: {english[:10]}"


def amounts_well_formed(text: str, where: str) -> list[str]:
    found = AMOUNT.findall(VERSION.sub(" ", text))
    bad = [a for a in found if not WELL_FORMED.match(a)]
    assert not bad, f"{where}: amounts not in the form 1,234.56: {bad[:10]}"
    return found


def saved(page, url: re.Pattern[str], where: str) -> None:
    """A form saved: the next page, or the form's errors as the person reads them."""
    page.wait_for_function("re => new RegExp(re).test(location.pathname) || "
                           "!!document.querySelector('#form-errors')", arg=url.pattern)
    if page.locator("#form-errors").count():
        errors = page.locator("#form-errors, .invalid-feedback").all_inner_texts()
        raise AssertionError(f"{where}: the form was refused: {errors}")


def read(page, where: str, shot, name: str) -> str:
    """What the page says (checked for Chinese and amounts), and its screenshot."""
    page.wait_for_load_state("domcontentloaded")
    shot(page, f"office-week-{name}")
    chinese_only(page, where)
    # A chart's axis ticks (0.1 万元) are the chart library's, not amounts: the text
    # outside the charts is what is checked (read from the live page, whose innerText
    # keeps table cells apart, with the charts hidden for the moment).
    text = page.evaluate("""() => {
        const charts = Array.from(document.querySelectorAll('svg'));
        const shown = charts.map(e => e.style.display);
        charts.forEach(e => { e.style.display = 'none'; });
        const text = document.body.innerText;
        charts.forEach((e, i) => { e.style.display = shown[i]; });
        return text;
    }""")
    amounts_well_formed(text, where)
    return text


@pytest.fixture
def office(hospital_case, users, make_member, settings, tmp_path):  # noqa: F811
    """Besides the hospital case: three claims clerk_a1 filed and submitted this week
    (30,000.00 out of pocket each: 900.00) and one the district reviewer filed himself,
    for the bulk work, and a known reviewer's user id for the audit filter."""
    # Background work (the feed import, the 免申即享 run) runs at once, as a person
    # waiting at the progress bar sees it end; uploads land in the test's own folder.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    day = hospital_case["day"]

    def submitted(name: str, filer: str) -> Claim:
        member = make_member("a1", name=name)
        member.set_bank_account(f"62220202001{member.pk:08d}")
        member.save()
        offer = next(o for o in intake.offers(member, day) if o.benefit.code == "hospital")
        claim = intake.file_claim(users[filer], member, offer, {
            "event_date": day, "admit_date": day - dt.timedelta(days=6),
            "out_of_pocket": Decimal("30000.00"), "diagnosis": "I21.9",
            "hospital": "长春市中心医院", "invoice_number": f"FP-BULK-{member.pk}"})
        add_materials(claim, users[filer])
        return apply(users[filer], claim.pk, "submit")

    bulk = [submitted(n, "clerk_a1") for n in ("周一号", "吴二号", "郑三号")]
    own = submitted("冯自办", "reviewer_da")
    return {**hospital_case, "bulk": bulk, "own": own}


def test_a_week_in_the_office(page, office, tmp_path, screenshot):
    dialogs: list[str] = []

    def accept(dialog) -> None:  # 确认已付款 and the like ask first; a person says yes
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    day, scheme = office["day"], office["scheme"]
    files = {"invoice": ("发票.pdf", pdf("Invoice FP-2026-0099 30000.00")),
             "discharge_summary": ("出院小结.pdf", pdf("Discharge summary I21.9")),
             "settlement_statement": ("医保结算单.pdf", pdf("Settlement statement")),
             "id_card": ("身份证.png", png(64, 40, (200, 180, 160))),
             "bank_card": ("银行卡.png", png(64, 40, (30, 60, 150))),
             "rescan": ("医保结算单重扫.png", png(120, 160, (250, 250, 245)))}
    paths = {}
    for kind, (name, data) in files.items():
        paths[kind] = tmp_path / name
        paths[kind].write_bytes(data)

    # ---- Monday, the clerk: register a member ------------------------------------------
    login(page, "clerk_a1", PASSWORD)
    page.goto("/members/new/")
    read(page, "登记会员", screenshot, "01-member-form")
    joined = day - dt.timedelta(days=30)
    page.fill("#id_name", "钱新会员")
    page.fill("#id_id_number", NEW_ID)
    page.fill("#id_phone", "13900002222")
    unit = office["member"].unit
    page.select_option("#id_unit", str(unit.pk))
    page.fill("#id_joined_on", joined.isoformat())
    page.fill("#id_bank_account", ACCOUNT[:-4] + "9876")
    page.fill("#id_bank_name", "中国工商银行长春分行")
    page.click("#member-save")
    saved(page, re.compile(r"/members/\d+/$"), "登记会员")
    member_pk = int(page.url.rstrip("/").rsplit("/", 1)[1])
    detail = read(page, "会员页", screenshot, "02-member-registered")
    assert "钱新会员" in detail and NEW_ID not in detail  # the ID number is shown masked

    # Eligibility before materials: a day before the member joined is pointed out before
    # any upload; the day of the stay offers the hospital subsidy.
    page.click("#claim-new")
    page.fill("#claim-day-input", (joined - dt.timedelta(days=10)).isoformat())
    page.click("#claim-day button")
    page.wait_for_selector("#claim-warning-1")
    read(page, "入会前的申请", screenshot, "03-intake-before-joining")
    assert page.locator("#claim-warning-1").inner_text() == (
        f"事件日期早于会员的入会日期（{joined:%Y-%m-%d}），请核对事件日期和入会日期")
    page.fill("#claim-day-input", day.isoformat())
    page.click("#claim-day button")
    page.wait_for_selector("#claim-offers")
    read(page, "可以申请的项目", screenshot, "04-intake-offers")
    page.click("#claim-offers >> text=住院医疗补贴")
    page.wait_for_selector("#claim-form")
    page.fill("#id_admit_date", (day - dt.timedelta(days=8)).isoformat())
    page.fill("#id_hospital", "长春市第一人民医院")
    page.fill("#id_invoice_number", "FP-2026-0099")
    page.fill("#id_out_of_pocket", "30000.00")
    page.fill("#id_diagnosis", "I21.9")
    page.click("#claim-save")
    page.wait_for_url(re.compile(r"/claims/\d+/$"))
    claim = Claim.objects.get(member_id=member_pk)
    for kind in ("invoice", "discharge_summary", "settlement_statement", "id_card",
                 "bank_card"):
        upload(page, kind, paths[kind])
    page.wait_for_selector("#materials-complete")
    page.click("#do-submit")
    state_is(page, "待初审")
    assert page.locator("#computed").inner_text() == "900.00 元"
    read(page, "理赔页（已提交）", screenshot, "05-claim-submitted")

    # ---- Tuesday, the district reviewer returns it for a clearer statement -----------
    switch(page, "reviewer_da")
    page.click("#nav-claims")
    page.wait_for_selector(f"#claim-row-{claim.pk}")
    queue = read(page, "审核待办", screenshot, "06-reviewer-queue")
    assert "钱新会员" in queue and "900.00" in queue
    page.click(f"#claim-row-{claim.pk} a")
    page.wait_for_selector("#do-return")
    page.check("#step-return input[value=settlement_statement]")
    page.fill("#step-return input[name=note]", "医保结算单不清晰，请重新扫描")
    page.click("#do-return")
    state_is(page, "退回补充材料")

    # ---- The clerk corrects the event (修改事件信息), uploads, resubmits --------------
    switch(page, "clerk_a1")
    page.goto(f"/claims/{claim.pk}/")
    assert "医保结算单" in page.locator("#claim-actions .alert-warning").inner_text()
    page.click("#claim-edit")
    page.wait_for_url(re.compile(rf"/claims/{claim.pk}/edit/$"))
    read(page, "修改事件信息", screenshot, "07-claim-edit")
    page.fill("#id_hospital", "长春市第二人民医院")
    page.click("#claim-edit-save")
    page.wait_for_url(re.compile(rf"/claims/{claim.pk}/$"))
    assert "长春市第二人民医院" in page.locator("body").inner_text()
    upload(page, "settlement_statement", paths["rescan"])
    page.click("#do-submit")
    state_is(page, "待初审")
    claim.refresh_from_db()
    assert claim.hospital == "长春市第二人民医院"

    # ---- Wednesday: first review, then four eyes -----------------------------------
    switch(page, "reviewer_da")
    page.goto(f"/claims/{claim.pk}/")
    page.click("#do-first_pass")
    state_is(page, "待复审")
    assert page.locator("#do-approve").count() == 0
    why = page.locator("#why-not-approve")
    assert why.count() == 1, "the first reviewer is not told why 复审 is not offered"
    assert "双人审核" in why.inner_text(), why.inner_text()
    read(page, "初审后（双人审核）", screenshot, "08-four-eyes")

    # Bulk 初审通过: tick the three the clerk filed and the one the reviewer filed himself.
    page.goto("/claims/?state=submitted")
    bulk, own = office["bulk"], office["own"]
    for c in [*bulk, own]:
        page.check(f"#bulk-pick-{c.pk}")
    page.select_option("#bulk-step", "first_pass")
    screenshot(page, "office-week-09-bulk-ticked")
    page.click("#bulk-go")
    page.wait_for_selector("#bulk-question")
    question = read(page, "批量确认", screenshot, "10-bulk-confirm")
    assert "确认对 4 笔理赔执行“初审通过”" in question
    page.click("#bulk-run")
    page.wait_for_selector("#bulk-result")
    result = read(page, "批量结果", screenshot, "11-bulk-result")
    assert page.locator("#bulk-moved").inner_text() == "3"
    assert page.locator("#bulk-refused-count").inner_text() == "1"
    assert "共 4 笔，已办理 3 笔，未办理 1 笔" in result
    assert "双人审核" in page.locator(f"#bulk-refused-{own.pk}").inner_text()

    # ---- The city's reviewer: 复审 of the first, then 选择全部 for the rest -----------
    switch(page, "reviewer_city")
    page.goto(f"/claims/{claim.pk}/")
    page.click("#do-approve")
    state_is(page, "已审批待给付")
    assert page.locator("#final").inner_text().startswith("900.00 元")
    page.goto("/claims/?state=second_review")
    page.wait_for_selector("#bulk-all-matching")
    page.select_option("#bulk-step", "approve")
    page.check("#bulk-all-matching")
    page.click("#bulk-go")
    page.wait_for_selector("#bulk-question")
    assert "确认对 3 笔理赔执行“复审通过”" in page.locator("#bulk-question").inner_text()
    page.click("#bulk-run")
    page.wait_for_selector("#bulk-result")
    read(page, "批量复审结果", screenshot, "12-bulk-approve-all")
    assert page.locator("#bulk-moved").inner_text() == "3"
    assert page.locator("#bulk-refused-count").count() == 0

    # ---- Thursday, finance: the batch, the bank file, paid on a date -----------------
    switch(page, "finance_city")
    page.click("#nav-payouts")
    read(page, "给付", screenshot, "13-payouts")
    page.click(f"#build-{scheme.code}")
    page.wait_for_selector("#export-form")
    batch_text = read(page, "给付批次", screenshot, "14-batch")
    assert "3,600.00" in batch_text, "the batch does not total 4 × 900.00 = 3,600.00"
    assert not page.locator("#export-full").is_checked()  # full numbers only when asked
    page.check("#export-full")
    page.fill("#export-purpose", "报送银行办理代发")
    with page.expect_download() as info:
        page.click("#export-submit")
    bank_file = tmp_path / "bank.xlsx"
    info.value.save_as(bank_file)
    content = bank_file.read_bytes()
    assert not _xlsx_findings(content, "银行文件"), _xlsx_findings(content, "银行文件")
    rows = [[c for c in row if c is not None] for row in
            openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]
    ours = [r for r in rows if claim.number in [str(c) for c in r]]
    assert len(ours) == 1 and "钱新会员" in ours[0]
    assert any(str(c).endswith("9876") and len(str(c)) == len(ACCOUNT) for c in ours[0]), \
        f"the full account number is not in the bank file: {ours[0]}"
    # A date before the batch was built is refused with the reason, and nothing is paid;
    # the day the bank did it is taken.
    page.fill("#paid-on", (dt.date.today() - dt.timedelta(days=1)).isoformat())
    page.click("#pay-submit")
    page.wait_for_selector("text=早于批次")
    assert not Payout.objects.filter(claim=claim, state="paid").exists()
    screenshot(page, "office-week-15-pay-refused")
    paid_on = dt.date.today()
    page.fill("#paid-on", paid_on.isoformat())
    page.click("#pay-submit")
    page.wait_for_function(
        "() => document.querySelector('#batch-state')?.textContent.trim() === '已完成'")
    read(page, "给付批次（已完成）", screenshot, "15-batch-paid-after")
    paid = Payout.objects.filter(claim__in=[claim, *bulk])
    assert {p.state for p in paid} == {"paid"} and paid.count() == 4
    assert {p.paid_on for p in paid} == {paid_on}, "the payment date was not kept"

    page.goto("/coverage/funds/")
    funds = read(page, "互助金账", screenshot, "16-funds")
    assert "3,600.00" in funds, "互助金账 does not show the 3,600.00 paid this week"

    # ---- Friday, the admin: the settlement feed, a 免申即享 run, its claims in bulk ----
    switch(page, "admin_city")
    member = office["member"]  # 孙住院 has not applied: the feed finds the stay
    feed_csv = tmp_path / "医保结算数据.csv"
    write_csv(feed_csv, [stay(member.id_number, name=member.name,
                              admit_date=(day - dt.timedelta(days=9)).isoformat(),
                              discharge_date=(day - dt.timedelta(days=1)).isoformat()),
                         stay(outsider(7), name="赵非会员")], encoding="gbk")
    page.goto("/feeds/upload/")
    read(page, "上传医保结算数据", screenshot, "17-feed-upload")
    page.set_input_files("#id_file", str(feed_csv))
    page.click("#feed-submit")
    page.wait_for_selector("#feed-run")  # the import is done: the run is offered
    feed_page = read(page, "医保结算数据", screenshot, "18-feed-imported")
    assert "非工会会员" in feed_page  # the row that matched no member, with why
    page.click("#feed-run")
    page.wait_for_selector("#run-form")
    page.select_option("#id_scheme", scheme.code)
    read(page, "开始测算", screenshot, "19-run-new")
    page.click("#run-start")
    page.wait_for_url(re.compile(r"/feeds/runs/\d+/$"))
    page.wait_for_selector("#run-report")
    run_page = read(page, "免申即享测算结果", screenshot, "20-run-done")
    # 7,000.00 out of pocket is in the (5,000, 10,000] band, paid at 1.5 %: 105.00.
    assert "已生成理赔 1 条，未匹配到会员 1 条；拟给付合计 105.00 元" in run_page
    with page.expect_download() as info:
        page.click("#run-report")
    report = tmp_path / "测算报告.xlsx"
    info.value.save_as(report)
    findings = _xlsx_findings(report.read_bytes(), "测算报告")
    assert not findings, findings
    proactive = Claim.objects.filter(member=member, state="proactive")
    assert proactive.count() >= 1, "the 免申即享 run filed no claim for the member's stay"
    filer = proactive.first().filed_by
    assert filer.username == "huzhu-proactive", (
        f"the web run filed the claims under {filer.username}, not the system account")
    # In bulk: 提交审核 for every 免申即享 claim, then the admin's own 初审通过.
    page.goto("/claims/?state=proactive")
    page.wait_for_selector("#bulk-all-matching")
    page.select_option("#bulk-step", "submit")
    page.check("#bulk-all-matching")
    page.click("#bulk-go")
    page.wait_for_selector("#bulk-run")
    page.click("#bulk-run")
    page.wait_for_selector("#bulk-result")
    assert page.locator("#bulk-moved").inner_text() == str(proactive.count() or 1)
    page.goto("/claims/?state=submitted")
    for c in Claim.objects.filter(member=member, state="submitted"):
        page.check(f"#bulk-pick-{c.pk}")
    page.select_option("#bulk-step", "first_pass")
    page.click("#bulk-go")
    page.click("#bulk-run")
    page.wait_for_selector("#bulk-result")
    read(page, "免申即享批量初审", screenshot, "21-proactive-first-pass")
    assert page.locator("#bulk-refused-count").count() == 0, (
        "the admin may not do 初审 on the 免申即享 claims: "
        + page.locator("#bulk-refused").inner_text())
    assert not Claim.objects.filter(member=member, state__in=["proactive", "submitted"])

    # ---- The admin's reports: statistics and what-if ---------------------------------
    for url, where, name in (("/feeds/", "医保结算数据列表", "22-feeds"),
                             ("/feeds/runs/", "免申即享", "23-proactive-runs"),
                             ("/reports/", "统计", "24-statistics"),
                             ("/reports/what-if/", "改革测算", "25-what-if"),
                             ("/reports/what-if/new/", "新测算", "26-what-if-new")):
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{where}: {url}"
        read(page, where, screenshot, name)
    page.goto("/reports/")
    stats = page.locator("body").inner_text()
    assert "3,600.00" in stats or "3600" in stats.replace(",", ""), \
        "统计 does not show the 3,600.00 paid this week"

    # ---- The auditor finds the week's work in the log --------------------------------
    switch(page, "auditor_city")
    today = dt.date.today()
    for who, steps in (("clerk_a1", ("新增会员", "登记理赔申请", "上传理赔材料", "提交审核")),
                       ("reviewer_da", ("退回补充材料", "初审通过")),
                       ("reviewer_city", ("复审通过",)),
                       ("finance_city", ("给付", "下载文件")),
                       ("admin_city", ("导入医保结算数据", "提交审核", "初审通过"))):
        user = User.objects.get(username=who)
        page.goto("/audit/")
        page.select_option("#audit-actor", str(user.pk))
        page.fill("#audit-date-from", today.isoformat())
        page.fill("#audit-date-to", today.isoformat())
        page.click("#audit-apply")
        page.wait_for_selector("#audit-table, #empty-audit")
        log = read(page, f"审计日志（{who}）", screenshot, f"27-audit-{who}")
        for step in steps:
            assert step in log, f"审计日志 for {user.display_name}: no {step}"
        assert user.display_name in page.locator("#audit-table").inner_text()
    with page.expect_download() as info:
        page.click("#audit-export-button")
    export = tmp_path / "audit.xlsx"
    info.value.save_as(export)
    content = export.read_bytes()
    # The headers and sheet name are Chinese (the summaries hold typed usernames such as
    # finance_city: data, not words of the system), and the filter was kept.
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = [[str(c) for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    header = next(r for r in rows if "操作人" in r)
    assert not _not_chinese(sheet.title) and all(
        re.search(r"[\u4e00-\u9fff]", h) and not _not_chinese(h) for h in header), header
    data = rows[rows.index(header) + 1:]
    # The export is of the last filter (the admin's day): only that operator's entries.
    assert data and all(user.display_name in " ".join(r) for r in data), \
        "the export lost the filter"
    assert all(any(step in " ".join(r) for r in data) for step in steps)
    assert all(re.search(r"[\u4e00-\u9fff]", m) for m in dialogs), dialogs

    # One time zone on every page (Asia/Shanghai): the 免申即享 run, as the audit log
    # names it, is stamped with the time its own page shows.
    from django.utils import timezone

    from huzhu.feeds.models.proactive import BatchRun

    run = BatchRun.objects.get()
    shown = f"{timezone.localtime(run.created_at):%Y-%m-%d %H:%M} 提交"
    page.goto(f"/audit/?actor={User.objects.get(username='admin_city').pk}")
    objects = " ".join(page.locator("#audit-table .audit-object").all_inner_texts())
    assert shown in objects, (
        f"BUG: the audit log names the 免申即享 run by its time in UTC, not Asia/Shanghai "
        f"(expected “{shown}” among {objects!r}); huzhu.audit.objects._run formats "
        f"created_at without timezone.localtime")
