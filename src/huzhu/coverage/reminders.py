"""Reminders by SMS (Ningshan sends them, seed 001): renewal before a period's enrolment
window closes, and unpaid premiums to the unit's contact. Written to the notification
outbox with a key that makes each reminder go out once, however often this runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from huzhu.coverage.joining import notice_due_date
from huzhu.coverage.models import Enrolment, Period, PremiumNotice
from huzhu.members.phone import PhoneError, parse_mobile
from huzhu.notify.outbox import Draft, enqueue_many
from huzhu.rules.money import yuan

RENEWAL = "coverage.renewal"
UNPAID = "coverage.unpaid"
KINDS = {RENEWAL: "续保提醒", UNPAID: "缴费提醒"}  # registered in CoverageConfig.ready


@dataclass
class Reminded:
    written: int  # new messages in the outbox
    candidates: int  # who should be reminded
    no_phone: int  # of them, without a mobile number

    def summary(self, what: str) -> str:
        text = f"{what}：应提醒 {self.candidates} 个，新写入发件箱 {self.written} 条"
        if self.no_phone:
            text += f"，{self.no_phone} 个没有有效手机号"
        return text


def _signature(period: Period) -> str:
    return f"【{period.scheme.union.name}】"


def remind_renewal(period: Period, today: dt.date) -> Reminded:
    """Members of the previous period not yet enrolled in ``period``, while its window is
    open: a text with their name, the scheme and the deadline."""
    previous = period.scheme.periods.filter(start__lt=period.start).order_by("-start").first()
    if previous is None or not (period.enrol_from <= today <= period.enrol_until):
        return Reminded(0, 0, 0)
    rows = (Enrolment.objects.filter(period=previous, state=Enrolment.State.ACTIVE)
            .exclude(member__enrolments__period=period)
            .values_list("member_id", "member__name", "member__phone", "member__union_id"))
    drafts, no_phone, total = [], 0, 0
    for member_id, name, phone, union_id in rows.iterator(chunk_size=5000):
        total += 1
        mobile = _mobile(phone)
        if mobile is None:
            no_phone += 1
            continue
        deadline = f"{period.enrol_until:%Y年%-m月%-d日}"
        drafts.append(Draft(
            kind=RENEWAL, to=mobile, member=member_id, union=union_id,
            dedupe_key=f"{RENEWAL}:{period.pk}:{member_id}",
            text=f"{_signature(period)}{name}您好，{period.scheme.name}{period.name}续保将于"
                 f"{deadline}截止，请及时联系单位工会办理。",
            params={"name": name, "scheme": period.scheme.name, "period": period.name,
                    "deadline": deadline}))
    return Reminded(enqueue_many(drafts), total, no_phone)


def remind_unpaid(period: Period, today: dt.date) -> Reminded:
    """Units whose notice is not paid in full, once per notice and amount outstanding.

    A notice whose 缴费截止 has passed gets a new one, :data:`PAYMENT_DAYS` days from
    ``today``, before the texts are written: a reminder never asks for payment by a day
    already gone, and the notice (page and PDF) says the same date as the SMS."""
    overdue = PremiumNotice.objects.filter(period=period, due_date__lt=today).exclude(
        state=PremiumNotice.State.PAID)
    overdue.update(due_date=notice_due_date(period, today), updated_at=timezone.now())
    notices = (PremiumNotice.objects.filter(period=period)
               .exclude(state=PremiumNotice.State.PAID).select_related("unit__union"))
    drafts, no_phone, total = [], 0, 0
    for notice in notices:
        total += 1
        phone = _mobile(notice.unit.contact_phone)
        if phone is None:  # a landline cannot take an SMS
            no_phone += 1
            continue
        deadline = f"{notice.due_date:%Y年%-m月%-d日}"
        owed = yuan(notice.outstanding)
        drafts.append(Draft(
            kind=UNPAID, to=phone, union=notice.unit.union_id,
            # The key keeps the amount as the database has it (600.00): a reminder
            # written before stays the same reminder.
            dedupe_key=f"{UNPAID}:{notice.pk}:{notice.outstanding}",
            text=f"{_signature(period)}{notice.unit.name}：{period.scheme.name}{period.name}"
                 f"互助金尚欠 {owed} 元（通知单号 {notice.number}），"
                 f"请于{deadline}前缴纳。",
            params={"unit": notice.unit.name, "scheme": period.scheme.name,
                    "period": period.name, "amount": owed,
                    "number": notice.number, "deadline": deadline}))
    return Reminded(enqueue_many(drafts), total, no_phone)


def _mobile(phone: str) -> str | None:
    try:
        return parse_mobile(phone) if phone else None
    except PhoneError:
        return None
