"""Issue 21, item 12: where work waits in the queue — a search by name, ID number or
理赔编号 (kept out of the address), a benefit dropdown in Chinese, labelled date boxes,
an xlsx of exactly the filtered list (logged), and who may take 复审 when the reviewer
may not."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
from django.urls import reverse

from huzhu.audit.models import AuditEntry
from huzhu.claims.models import Claim
from huzhu.claims.workflow import apply
from tests.claims.test_views import login


def rows_of(page: str) -> int:
    return page.count('id="claim-row-')


def search(client, text: str, **filters):
    """Post the filter form as the page does; follow to the list."""
    response = client.post(reverse("claims:queue"), {"q": text, **filters})
    assert response.status_code == 302 and text not in response.url
    return response, client.get(response.url).content.decode()


def test_the_queue_finds_claims_by_name_id_number_or_claim_number(client, users, staff,
                                                                 file_hospital):
    zhao = file_hospital(staff["m1"])
    qian = file_hospital(staff["m2"])
    c = login(client, "clerk_a1")
    _, page = search(c, "赵")
    assert zhao.number in page and qian.number not in page and rows_of(page) == 1
    assert 'value="赵"' in page  # the box keeps what was typed
    _, page = search(c, staff["m2"].id_number)
    assert qian.number in page and rows_of(page) == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_SEARCHED,
                                     summary="理赔查询：按完整身份证号查找").count() == 1
    _, page = search(c, staff["m1"].id_number[-4:])
    assert zhao.number in page and rows_of(page) == 1
    _, page = search(c, zhao.number.lower())
    assert rows_of(page) == 1 and zhao.number in page
    _, page = search(c, "LP")
    assert rows_of(page) == 2
    _, page = search(c, "无此人")
    assert rows_of(page) == 0 and 'id="empty-claims"' in page


def test_a_search_travels_with_the_other_filters_and_the_pager(client, users, staff,
                                                              file_hospital):
    file_hospital(staff["m1"])
    c = login(client, "clerk_a1")
    response, page = search(c, "赵", state="all", benefit="fire")
    assert "state=all" in response.url and "benefit=fire" in response.url
    assert rows_of(page) == 0
    # A token from another session finds nothing to recall: the page says so.
    page = c.get(reverse("claims:queue"), {"s": "nonsense"}).content.decode()
    assert 'id="search-expired"' in page


def test_the_benefit_dropdown_and_the_date_boxes_are_labelled_in_chinese(client, users,
                                                                         changchun):
    page = login(client, "reviewer_da").get(reverse("claims:queue")).content.decode()
    assert '<label class="form-label mb-0" for="claim-benefit">保障项目</label>' in page
    assert '<option value="hospital">住院医疗补贴</option>' in page
    assert '<label class="form-label mb-0" for="claim-from">事件日期从</label>' in page
    assert '<label class="form-label mb-0" for="claim-to">事件日期至</label>' in page
    assert "保障项目代码" not in page


def test_the_export_is_exactly_the_filtered_list(client, users, staff, file_hospital):
    zhao = file_hospital(staff["m1"], out_of_pocket="12000.00")
    qian = file_hospital(staff["m2"])
    file_hospital(staff["m3"])
    for claim in (zhao, qian):
        apply(users["clerk_a1"], claim.pk, "submit")
    # A name that Excel would read as a formula, and an amount SQLite gives back long.
    zhao.member.unit.name = "=HYPERLINK(\"http://x\")"
    zhao.member.unit.save()
    Claim.objects.filter(pk=zhao.pk).update(computed=Decimal("240.000000"))
    c = login(client, "reviewer_da")
    response = c.post(reverse("claims:queue-export"), {"state": "submitted"})
    assert response["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book["理赔清单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("理赔编号", "会员姓名", "单位", "保障方案", "保障项目", "事件日期",
                       "测算金额（元）", "核定金额（元）", "状态", "经办人")
    assert [r[0] for r in rows[1:]] == [zhao.number, qian.number]
    first = rows[1]
    # The unit's name as typed, a text cell with Excel's quote prefix: never a formula.
    assert first[1:3] == ("赵一", "=HYPERLINK(\"http://x\")")
    assert sheet.cell(row=2, column=3).data_type == "s" and sheet.cell(row=2, column=3).quotePrefix
    assert first[5:] == ("2026-03-10", 240, None, "待初审", "clerk_a1")
    cell = sheet.cell(row=2, column=7)
    assert cell.data_type == "n" and cell.number_format == "#,##0.00"
    assert all(sheet.cell(row=2, column=col).data_type != "f" for col in range(1, 11))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FILE_DOWNLOADED)
    assert entry.actor == users["reviewer_da"]
    assert entry.summary == "导出理赔清单 2 笔（状态：待初审）"


def test_the_export_follows_the_search(client, users, staff, file_hospital):
    zhao = file_hospital(staff["m1"])
    file_hospital(staff["m2"])
    c = login(client, "clerk_a1")
    response, page = search(c, "赵")
    token = response.url.split("s=")[1]
    assert f'<input type="hidden" name="s" value="{token}">' in page
    answer = c.post(reverse("claims:queue-export"), {"s": token})
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content)))
                ["理赔清单"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [zhao.number]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.FILE_DOWNLOADED)
    assert "搜索：姓名以“赵”开头" in entry.summary


def test_the_queue_says_who_may_take_the_second_review(client, users, staff, file_hospital,
                                                       tree):
    from huzhu.orgs.models import User

    claim = file_hospital(staff["m1"])
    apply(users["clerk_a1"], claim.pk, "submit")
    apply(users["reviewer_da"], claim.pk, "first_pass")
    page = login(client, "reviewer_da").get(reverse("claims:queue")).content.decode()
    note = page.split(f'id="approve-note-{claim.pk}">')[1].split("</div>")[0]
    assert note == "您已做过初审，复审须由另一位审核人员办理（双人审核）：可由 admin_city 复审"
    User.objects.create_user(username="reviewer_city", password="x" * 12, role="reviewer",
                             union=tree["city"])
    User.objects.create_user(username="reviewer_b", password="x" * 12, role="reviewer",
                             union=tree["b1"])  # not over this claim's union
    page = login(client, "reviewer_da").get(reverse("claims:queue")).content.decode()
    assert "：可由 admin_city、reviewer_city 复审</div>" in page
    other = login(client, "admin_city").get(reverse("claims:queue")).content.decode()
    assert f'id="approve-note-{claim.pk}"' not in other  # the admin may take it
