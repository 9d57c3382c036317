"""The member pages: cover with exact amounts used and left, the claim's timeline and
payment, another member's ids → 404 everywhere, and no crossing between member and staff
sessions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import URLResolver, get_resolver, reverse

from huzhu.claims import workflow
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.portal import access
from tests.fixtures import PASSWORD
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db
D = dt.date


def _given(claim: Claim, amount: str, state: str = "approved", **extra) -> Claim:
    Claim.objects.filter(pk=claim.pk).update(state=state, computed=Decimal(amount),
                                             final=Decimal(amount), **extra)
    claim.refresh_from_db()
    return claim


def test_cover_shows_each_benefit_in_words_with_used_and_left(client, member, file_hospital):
    _given(file_hospital(member, invoice_number="A"), "240.00")
    _given(file_hospital(member, invoice_number="B", day=D(2026, 3, 20)), "360.50", "paid")
    _given(file_hospital(member, invoice_number="C", day=D(2026, 4, 2)), "999.99", "rejected")
    file_hospital(member, invoice_number="D", day=D(2026, 4, 5))  # a draft: not counted
    # Last year's claim does not count against this year's cap.
    _given(file_hospital(member, invoice_number="E", day=D(2026, 4, 6)), "100.00",
           event_date=D(2025, 12, 30))
    sign_in(client, member)
    page = client.get("/member/").content.decode()
    assert "长春" in page or "住院医疗补贴" in page
    hospital = page.split('id="benefit-', 2)[1]
    assert "住院医疗补贴" in hospital
    assert "每人每个自然年最多 50,000.00 元" in hospital
    assert "已用 <strong class=\"cap-used\">600.50</strong> 元" in hospital
    assert "还可用 <strong class=\"cap-left\">49,399.50</strong> 元" in hospital
    assert "超过 5,000.00 元" in hospital  # the bands, as the scheme page words them


def test_claim_page_timeline_without_staff_names(client, member, users, file_hospital):
    claim = file_hospital(member)
    workflow.apply(users["clerk_a1"], claim.pk, "submit")
    workflow.apply(users["reviewer_da"], claim.pk, "return", missing=["medical_record"],
                   note="请补充住院病历首页")
    sign_in(client, member)
    page = client.get(f"/member/claims/{claim.pk}/").content.decode()
    timeline = page.split('id="claim-timeline"', 1)[1].split("</ol>", 1)[0]
    steps = [s.split("</strong>")[0] for s in timeline.split("<strong>")[1:]]
    assert steps == ["提交申请", "提交审核", "退回补充材料"]
    assert "单位工会" in timeline and "审核人员" in timeline
    assert "需补充病历、请补充住院病历首页" in timeline
    for user in users.values():
        assert user.username not in page
    missing = page.split('id="claim-missing"', 1)[1].split("请将材料", 1)[0]
    assert "病历" in missing and "请补充住院病历首页" in missing
    assert "计算过程" in page and 'id="computed"' in page  # the staff page's partial


def test_paid_claim_shows_date_amount_and_last_four(client, member, users, file_hospital):
    member.set_bank_account("6222020200112233445")
    member.save()
    claim = _given(file_hospital(member), "240.00", "paid")
    batch = PayoutBatch.objects.create(number="PC1", scheme=claim.scheme,
                                       union=member.union, created_by=users["finance_city"])
    Payout.objects.create(batch=batch, claim=claim, amount=Decimal("240.00"), state="paid",
                          paid_on=D(2026, 4, 20), account_hash=member.bank_account_hash)
    sign_in(client, member)
    page = client.get(f"/member/claims/{claim.pk}/").content.decode()
    paid = page.split('id="claim-paid"', 1)[1].split("</div>", 1)[0]
    assert "已于 2026年4月20日 给付 240.00 元，转入尾号 3445 的银行账号" in paid
    # The account changed since: the page does not claim the new one was paid.
    member.set_bank_account("6222020200998877665")
    member.save()
    page = client.get(f"/member/claims/{claim.pk}/").content.decode()
    assert "转入当时登记的银行账号（此后已变更）" in page and "7665" not in page
    # Paid with no account recorded (confirmed without a bank file): nothing is claimed.
    Payout.objects.filter(claim=claim).update(account_hash="")
    page = client.get(f"/member/claims/{claim.pk}/").content.decode()
    assert "，转入登记的银行账号。" in page and "此后已变更" not in page


def _member_urls(claim_id: int) -> list[str]:
    """Every named URL under /member/ (the appeals' included ones too), each id filled
    with ``claim_id``."""
    urls = []

    def walk(patterns: list) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
                continue
            if pattern.name is None:
                continue
            args = {key: claim_id for key in pattern.pattern.converters}
            urls.append(reverse(f"portal:{pattern.name}", kwargs=args))

    walk(get_resolver().namespace_dict["portal"][1].url_patterns)
    return urls


def test_another_members_claim_is_404_on_every_member_url(client, member, other,
                                                          file_hospital):
    theirs = file_hospital(other)
    sign_in(client, member)
    with_ids = [u for u in _member_urls(theirs.pk) if str(theirs.pk) in u]
    assert with_ids  # the claim page at least
    for url in with_ids:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code in (404, 405), url
    mine = file_hospital(member, invoice_number="mine")
    assert client.get(f"/member/claims/{mine.pk}/").status_code == 200


def test_staff_session_gets_no_member_page(client, users, member, file_hospital):
    claim = file_hospital(member)
    client.login(username="clerk_a1", password=PASSWORD)
    assert client.get("/claims/").status_code == 200
    for url in _member_urls(claim.pk):
        assert client.get(url).status_code in (404, 405), url  # 405: POST only (退出)
        assert client.post(url, {}).status_code in (404, 405), url
    assert client.post("/member/logout/").status_code == 404


def test_member_session_gets_no_staff_page(client, member):
    sign_in(client, member)
    for url in ("/claims/", "/members/", "/coverage/", "/payouts/", "/notify/",
                "/audit/", "/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.session[access.MEMBER_KEY] == member.pk  # still signed in as a member


def test_pages_render_for_a_signed_in_member(client, member):
    sign_in(client, member)
    for url in ("/member/", "/member/claims/", "/member/claims/new/", "/member/bank/"):
        page = client.get(url).content.decode()
        for label in ("我的保障", "我的理赔", "申请理赔", "银行账号", "退出"):
            assert label in page, (url, label)
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page


def test_rejected_claim_links_to_the_review_page(client, member, file_hospital):
    claim = file_hospital(member)
    Claim.objects.filter(pk=claim.pk).update(state="rejected", reject_code="not_eligible",
                                             reject_text="出院日期不在保障期内")
    sign_in(client, member)
    page = client.get(f"/member/claims/{claim.pk}/").content.decode()
    assert "不予给付：不符合给付条件，出院日期不在保障期内" in page
    assert f'href="/member/claims/{claim.pk}/appeal/"' in page


def test_a_difference_paid_later_is_a_payment_of_its_own(client, member, users,
                                                         file_hospital):
    member.set_bank_account("6222020200112233445")
    member.save()
    claim = _given(file_hospital(member), "300.00", "paid")
    for n, (amount, day) in enumerate((("240.00", D(2026, 4, 20)), ("60.00", D(2026, 4, 28)))):
        batch = PayoutBatch.objects.create(number=f"PC{n}", scheme=claim.scheme,
                                           union=member.union, created_by=users["finance_city"])
        Payout.objects.create(batch=batch, claim=claim, amount=Decimal(amount), state="paid",
                              paid_on=day, account_hash=member.bank_account_hash)
    sign_in(client, member)
    page = client.get(f"/member/claims/{claim.pk}/").content.decode()
    paid = page.split('id="claim-paid"', 1)[1].split("</div></div>", 1)[0]
    assert "已于 2026年4月20日 给付 240.00 元，转入尾号 3445 的银行账号" in paid
    assert "已于 2026年4月28日 给付 60.00 元，转入尾号 3445 的银行账号" in paid
