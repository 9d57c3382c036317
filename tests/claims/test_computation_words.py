"""The claim page's 计算过程 card (claims/_computation.html and {% computation_steps %}):
each step a sentence with its numbers, the amounts, and the policy version in a fold."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.template import Context, Template
from django.template.loader import render_to_string

from huzhu.claims.workflow import apply

D = dt.date


def card(claim) -> str:
    return render_to_string("claims/_computation.html", {"claim": claim})


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def steps(html: str) -> list[str]:
    block = re.search(r'<ol[^>]*id="computation-steps"[^>]*>(.*?)</ol>', html, re.S)
    assert block, html
    return re.findall(r"<li>(.*?)</li>", block.group(1))


def test_a_hospital_claim_reads_step_by_step(users, staff, file_hospital):
    claim = file_hospital(staff["m1"], out_of_pocket="12800.50", day=D(2026, 4, 10))
    claim = apply(users["clerk_a1"], claim.pk, "submit")
    html = card(claim)
    assert steps(html) == [
        "个人自付 12,800.50 元，超过起付标准 5,000.00 元，全额计算",
        "12,800.50 元在超过 10,000.00 元至 20,000.00 元（含）一档，全额按 2% 计 256.01 元",
        "本人本年已给付 0.00 元，每人每年上限 50,000.00 元，尚余 50,000.00 元，本次未超过",
        "应付 256.01 元",
    ]
    assert re.search(r'id="computed">256\.01 元<', html)
    assert 'id="final"' not in html  # not yet approved
    # The policy hash is in a fold, once, not in the card's text.
    fold = re.search(r'<details[^>]*id="computation-policy"[^>]*><summary>政策版本</summary>'
                     r"(.*?)</details>", html, re.S)
    assert fold and claim.policy_hash in fold.group(1)
    assert html.count(claim.policy_hash) == 1
    assert "0.0200" not in html and "(10000,20000]" not in html
    assert not re.search(r"[A-Za-z_]{2,}", text(re.sub(r"<details.*?</details>", "", html,
                                                       flags=re.S)))


def test_a_second_claim_states_what_the_year_has_paid_and_the_reduction(users, staff,
                                                                          file_hospital):
    first = file_hospital(staff["m1"], out_of_pocket="12000.00", day=D(2026, 4, 2))
    apply(users["clerk_a1"], first.pk, "submit")
    apply(users["reviewer_da"], first.pk, "first_pass", amount="200.00",
          note="部分费用不属于报销范围")
    first = apply(users["admin_city"], first.pk, "approve")
    html = card(first)
    assert re.search(r'id="final">200\.00 元（核减原因：部分费用不属于报销范围）<', html)
    second = file_hospital(staff["m1"], out_of_pocket="30000.00", day=D(2026, 4, 20),
                           invoice_number="INV-2")
    second = apply(users["clerk_a1"], second.pk, "submit")
    assert steps(card(second))[2:] == [
        "本人本年已给付 200.00 元，每人每年上限 50,000.00 元，尚余 49,800.00 元，本次未超过",
        "应付 900.00 元",
    ]


def test_an_ineligible_claim_states_the_reason_with_its_threshold(users, staff,
                                                                   file_hospital):
    claim = file_hospital(staff["m2"], out_of_pocket="4800.00", day=D(2026, 4, 10))
    claim = apply(users["clerk_a1"], claim.pk, "submit")
    html = card(claim)
    assert 'id="computation-status">不符合给付条件<' in html
    assert steps(html) == ["个人自付 4,800.00 元",
                           "不符合给付条件：未达到起付标准（起付标准 5,000.00 元）",
                           "应付 0.00 元"]


def test_a_draft_has_no_computation_yet(staff, file_hospital):
    claim = file_hospital(staff["m3"], day=D(2026, 4, 10))
    html = card(claim)
    assert "提交审核时按政策自动测算金额。" in html and "<details" not in html


def test_the_tag_says_nothing_it_cannot_derive(users, staff, file_hospital):
    """A benefit the scheme's policy no longer has, or a policy other than the one that
    computed the claim: no sentences; the card shows the kept reason and amounts."""
    claim = file_hospital(staff["m4"], out_of_pocket="4800.00", day=D(2026, 4, 10))
    claim = apply(users["clerk_a1"], claim.pk, "submit")
    claim.benefit = "gone"
    rendered = Template("{% load computation_words %}{% computation_steps claim as s %}"
                        "[{{ s|length }}]").render(Context({"claim": claim}))
    assert rendered == "[0]"
    claim.benefit = "hospital"
    assert "computation-steps" in card(claim)
    claim.policy_hash = "0" * 64  # computed by another version of the policy
    html = card(claim)
    assert "computation-steps" not in html
    assert "未达到起付标准（起付标准 5,000.00 元）" in html
    assert re.search(r'id="computed">0\.00 元<', html)
    assert claim.computed == Decimal("0.00")
