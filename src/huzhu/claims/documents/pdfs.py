"""The claim and payout batch PDFs, laid out with the premium notice's helpers
(:mod:`huzhu.coverage.pdf`: font, letterhead, field grid, page footer), so that every
paper the office hands out looks the same. Amounts are two places, in words by
:func:`huzhu.rules.money.amount_in_words`; the member's ID number and bank account are
masked as the pages mask them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import timezone
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table, TableStyle

from huzhu.claims.models import Claim, ClaimEvent, Payout, PayoutBatch
from huzhu.claims.templatetags.computation_words import computation_steps
from huzhu.coverage.pdf import (
    BODY_WIDTH,
    GRID,
    SHADE,
    Footer,
    day,
    fields,
    font_name,
    letterhead,
    local_day,
    paragraph,
    render,
    signatures,
    styles,
)
from huzhu.lib.errors import Refused
from huzhu.lib.money import MoneySum
from huzhu.orgs.models import User
from huzhu.rules.money import amount_in_words, to_fen, yuan
from huzhu.rules.vocabulary import FRACTURE_SITE, OUTCOME, RELATION

ZERO = Decimal("0.00")
S = Claim.State


def _money(amount: Decimal | None) -> str:
    return f"{yuan(amount)} 元" if amount is not None else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _person(user: User | None) -> str:
    return "" if user is None else str(user)  # the name a person goes by, else the login


def _member_rows(claim: Claim) -> list[tuple[str, str]]:
    member = claim.member
    return [
        ("姓名", member.name),
        ("性别", member.get_gender_display()),
        ("身份证号", member.id_number_masked),
        ("手机号", member.phone or "未登记"),
        ("工作单位", member.unit.name),
        ("基层工会", member.union.name),
        ("银行账号", member.bank_account_masked or "未登记"),
        ("开户行", member.bank_name or "未登记"),
    ]


def _event_rows(claim: Claim) -> list[tuple[str, str]]:
    """The claim's facts that are filled in, labelled as the claim page labels them."""
    rows = [("保障项目", claim.scheme.name), ("申请项目", claim.benefit_name),
            ("事件日期", day(claim.event_date))]
    optional = [
        ("入院日期", day(claim.admit_date)),
        ("住院天数", f"{claim.days} 天" if claim.days else ""),
        ("医院", claim.hospital),
        ("发票号", claim.invoice_number),
        ("医疗费总额", _money(claim.total_cost)),
        ("医保报销后个人现金支付", _money(claim.out_of_pocket)),
        ("诊断编码", claim.diagnosis),
        ("伤害结果", OUTCOME.get(claim.outcome, claim.outcome)
         + (f"，{claim.disability_grade} 级伤残" if claim.disability_grade else "")),
        ("骨折部位", FRACTURE_SITE.get(claim.fracture_site, claim.fracture_site)),
        ("是否工伤", _yes_no(claim.work_related)),
        ("是否因公", _yes_no(claim.on_duty)),
        ("核定损失", _money(claim.loss_amount)),
        ("火灾事故认定书编号", claim.certificate_no),
        ("亲属", " ".join(x for x in (RELATION.get(claim.relation, claim.relation),
                                     claim.relative_name) if x)),
        ("是否共同生活", _yes_no(claim.co_resident)),
    ]
    return rows + [(label, value) for label, value in optional if value]


def _union(claim: Claim) -> str:
    return claim.scheme.union.name


def _title_line(claim: Claim) -> str:
    return f"理赔编号：{claim.number}　登记日期：{day(local_day(claim.created_at))}"


def application_pdf(claim: Claim) -> bytes:
    """理赔申请表: the member's details and the event, for the member to check and sign."""
    font = font_name()
    sheet = styles(font)
    story = letterhead(_union(claim), "职工互助保障理赔申请表", _title_line(claim), sheet)
    story.append(paragraph("申请人信息", sheet["heading"]))
    story.append(fields(_member_rows(claim), sheet))
    story.append(paragraph("申请事项", sheet["heading"]))
    story.append(fields(_event_rows(claim), sheet))
    story.append(Spacer(1, 4 * mm))
    story.append(paragraph(
        f"本人申请{claim.scheme.name}{claim.benefit_name}。以上所填内容和所附材料真实、完整，"
        "如有虚假，愿退还已领取的互助金并承担相应责任。本人同意工会为审核本申请核实有关情况，"
        "给付款项转入本人登记的银行账户。", sheet["body"]))
    story.append(Spacer(1, 6 * mm))
    story.append(signatures(["申请人（签字）", "经办人（签字）"], sheet))
    story.append(Spacer(1, 4 * mm))
    story.append(paragraph(f"打印日期：{day(timezone.localdate())}", sheet["right"]))
    return render(story, title=f"理赔申请表 {claim.number}", author=_union(claim),
                  footer=Footer(font, f"理赔编号 {claim.number}"))


def _step_day(claim: Claim, to_state: str, actor_id: int | None) -> str:
    """The day the claim last reached ``to_state`` at ``actor_id``'s hand."""
    if actor_id is None:
        return ""
    at = (ClaimEvent.objects.filter(claim=claim, to_state=to_state, actor_id=actor_id)
          .order_by("-at", "-id").values_list("at", flat=True).first())
    return day(local_day(at)) if at else ""


def _filed_day(claim: Claim) -> str:
    at = claim.submitted_at or claim.created_at
    return day(local_day(at))


def _people_table(claim: Claim, sheet: dict[str, ParagraphStyle]) -> Table:
    cell = sheet["cell"]
    rows = [
        ("经办人（登记）", _person(claim.filed_by), _filed_day(claim)),
        ("初审人", _person(claim.first_reviewed_by),
         _step_day(claim, S.SECOND_REVIEW, claim.first_reviewed_by_id)),
        ("复审人", _person(claim.second_reviewed_by),
         _step_day(claim, S.APPROVED, claim.second_reviewed_by_id)),
    ]
    data: list[list[Any]] = [[paragraph(h, cell) for h in ("环节", "姓名", "日期", "签字")]]
    data += [[paragraph(text, cell) for text in row] + [""] for row in rows]
    table = Table(data, colWidths=[36 * mm, 46 * mm, 36 * mm, BODY_WIDTH - 118 * mm],
                  rowHeights=[8 * mm] + [11 * mm] * len(rows))
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, GRID),
                               ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _state_line(claim: Claim) -> str:
    text = claim.get_state_display()
    if claim.state == S.REJECTED:
        text += f"（{claim.get_reject_code_display()}：{claim.reject_text}）"
    return text


def approval_pdf(claim: Claim) -> bytes:
    """理赔审批表: who filed, first- and second-reviewed the claim and when, the amounts
    computed and approved (in words), and the 计算过程 sentences the claim page shows."""
    font = font_name()
    sheet = styles(font)
    story = letterhead(_union(claim), "职工互助保障理赔审批表", _title_line(claim), sheet)
    member = claim.member
    amounts = [
        ("申请人", member.name), ("身份证号", member.id_number_masked),
        ("工作单位", member.unit.name), ("申请项目", claim.benefit_name),
        ("事件日期", day(claim.event_date)), ("办理状态", _state_line(claim)),
        ("测算金额", _money(claim.computed) or "尚未测算"),
        ("核定金额", _money(claim.final) or "尚未核定"),
    ]
    if claim.final is not None:
        amounts.append(("核定金额（大写）", f"人民币{amount_in_words(claim.final)}"))
    if claim.reduction_reason:
        amounts.append(("核减原因", claim.reduction_reason))
    story.append(fields(amounts, sheet))
    story.append(paragraph("计算过程", sheet["heading"]))
    steps = computation_steps(claim)
    if steps:
        for i, step in enumerate(steps, start=1):
            story.append(paragraph(f"{i}. {step}", sheet["body"]))
    elif claim.computation:
        reason = claim.computation.get("reason_message") or ""
        story.append(paragraph(f"测算金额 {_money(claim.computed)}" + (f"；{reason}" if reason
                                                                      else ""), sheet["body"]))
    else:
        story.append(paragraph("提交审核时按政策自动测算金额，尚未测算。", sheet["body"]))
    story.append(paragraph("办理人员", sheet["heading"]))
    story.append(_people_table(claim, sheet))
    story.append(Spacer(1, 6 * mm))
    story.append(signatures(["负责人审批意见", "负责人（签字）"], sheet))
    story.append(Spacer(1, 4 * mm))
    story.append(paragraph(f"打印日期：{day(timezone.localdate())}", sheet["right"]))
    return render(story, title=f"理赔审批表 {claim.number}", author=_union(claim),
                  footer=Footer(font, f"理赔编号 {claim.number}"))


def paid_payout(claim: Claim) -> Payout:
    """The claim's paid payout, or a refusal saying why there is no 给付通知书 yet."""
    payout = claim.payouts.filter(state=Payout.State.PAID).first()
    if payout is None or claim.state != S.PAID:
        raise Refused(f"理赔 {claim.number} 目前为“{claim.get_state_display()}”，"
                      "确认付款后才能打印给付通知书")
    return payout


def payment_notice_pdf(claim: Claim) -> bytes:
    """给付通知书 for the member: what was paid, in figures and words, on which day, to
    the account ending in which four digits."""
    payout = paid_payout(claim)
    font = font_name()
    sheet = styles(font)
    member = claim.member
    paid_on = payout.paid_on or local_day(claim.paid_at)
    story = letterhead(_union(claim), "职工互助保障给付通知书",
                       f"理赔编号：{claim.number}　给付批次：{payout.batch.number}", sheet)
    story.append(paragraph(f"{member.name}：", sheet["body"]))
    last4 = member.bank_last4
    account = f"尾号 {last4} 的银行账户" if last4 else "您登记的银行账户"
    story.append(paragraph(
        f"您申请的{claim.benefit_name}（事件日期 {day(claim.event_date)}）经审核，"
        f"核定给付 {yuan(payout.amount)} 元，已于 {day(paid_on)} 转入您{account}，请查收。",
        sheet["body"]))
    story.append(Spacer(1, 2 * mm))
    rows = [
        ("姓名", member.name), ("身份证号", member.id_number_masked),
        ("保障项目", claim.scheme.name), ("给付项目", claim.benefit_name),
        ("给付金额", f"{yuan(payout.amount)} 元"),
        ("给付金额（大写）", f"人民币{amount_in_words(payout.amount)}"),
        ("付款日期", day(paid_on)), ("收款账号", f"尾号 {last4}" if last4 else "未登记"),
    ]
    if member.bank_name:
        rows.append(("开户行", member.bank_name))
    if claim.reduction_reason:
        rows.append(("核减原因", claim.reduction_reason))
    story.append(fields(rows, sheet))
    story.append(Spacer(1, 3 * mm))
    story.append(paragraph("如对给付金额有疑问，请持本通知书与所在单位工会或经办工会联系。",
                           sheet["small"]))
    story.append(Spacer(1, 12 * mm))
    story.append(paragraph(f"{_union(claim)}（盖章）", sheet["right"]))
    story.append(paragraph(f"通知日期：{day(timezone.localdate())}", sheet["right"]))
    return render(story, title=f"给付通知书 {claim.number}", author=_union(claim),
                  footer=Footer(font, f"理赔编号 {claim.number}"))


def batch_figures(batch: PayoutBatch) -> tuple[int, Decimal]:
    """Count and total of the batch's payouts that are or will be paid (a failed one is
    back in the queue and is not approved for payment here)."""
    agg = batch.payouts.exclude(state=Payout.State.FAILED).aggregate(
        n=Count("pk"), total=MoneySum("amount"))
    return agg["n"], to_fen(agg["total"] or ZERO)


def _by_benefit(batch: PayoutBatch) -> list[tuple[str, int, Decimal]]:
    rows = (batch.payouts.exclude(state=Payout.State.FAILED)
            .values("claim__benefit_name").annotate(n=Count("pk"), total=MoneySum("amount"))
            .order_by("claim__benefit_name"))
    return [(r["claim__benefit_name"], r["n"], to_fen(r["total"] or ZERO)) for r in rows]


def batch_approval_pdf(batch: PayoutBatch, *, today: dt.date | None = None) -> bytes:
    """付款审批单 of a payout batch: count, total in figures and words, a line per benefit,
    and the signatures of 经办, 审核 and 负责人."""
    count, total = batch_figures(batch)
    font = font_name()
    sheet = styles(font)
    union = batch.union.name
    story = letterhead(union, "互助金付款审批单",
                       f"给付批次：{batch.number}　生成日期：{day(local_day(batch.created_at))}",
                       sheet)
    story.append(fields([
        ("保障项目", batch.scheme.name), ("经办工会", union),
        ("给付笔数", f"{count} 笔"), ("付款金额", f"{yuan(total)} 元"),
        ("付款金额（大写）", f"人民币{amount_in_words(total)}"),
        ("批次状态", batch.get_state_display()),
        ("生成人", _person(batch.created_by)),
        ("付款方式", "银行批量转账（见本批次银行转账文件）"),
    ], sheet))
    story.append(paragraph("按给付项目", sheet["heading"]))
    data = [["给付项目", "笔数", "金额（元）"]]
    data += [[name, f"{n}", yuan(amount)] for name, n, amount in _by_benefit(batch)]
    data.append(["合计", f"{count}", yuan(total)])
    table = Table(data, colWidths=[BODY_WIDTH - 70 * mm, 25 * mm, 45 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 10),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("BACKGROUND", (0, -1), (-1, -1), SHADE),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ]))
    story.append(table)
    story.append(Spacer(1, 8 * mm))
    story.append(signatures(["经办（签字）", "审核（签字）", "负责人（签字）"], sheet))
    story.append(Spacer(1, 4 * mm))
    story.append(paragraph(f"打印日期：{day(today or timezone.localdate())}", sheet["right"]))
    return render(story, title=f"付款审批单 {batch.number}", author=union,
                  footer=Footer(font, f"给付批次 {batch.number}"))
