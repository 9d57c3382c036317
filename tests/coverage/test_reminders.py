"""Renewal and unpaid-premium reminders: the outbox gets one per person and deadline,
however often they are asked for, with the name, scheme and deadline in the text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huzhu.coverage import enrolment, premiums, reminders, schemes
from huzhu.coverage.models import PremiumNotice
from huzhu.members.models import Member
from huzhu.notify.models import OutboxMessage
from huzhu.orgs.models import Unit

D = dt.date


def test_unpaid_reminders_go_to_the_unit_once_per_amount(users, units, staff, period):
    Unit.objects.filter(pk=units["a1"].pk).update(contact_phone="13900001111")
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=D(2026, 2, 1))
    first = reminders.remind_unpaid(period, D(2026, 3, 1))
    again = reminders.remind_unpaid(period, D(2026, 3, 2))
    assert (first.written, again.written) == (1, 0)
    message = OutboxMessage.objects.get()
    assert message.to == "13900001111" and "尚欠 600.00 元" in message.text
    assert units["a1"].name in message.text and "2026年3月31日" in message.text
    notice = PremiumNotice.objects.get()
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("150.00"),
                              paid_on=D(2026, 3, 3), bank_reference="B1")
    assert reminders.remind_unpaid(period, D(2026, 3, 4)).written == 1  # a new amount owed
    premiums.register_payment(users["finance_city"], notice.pk, amount=Decimal("450.00"),
                              paid_on=D(2026, 3, 4), bank_reference="B2")
    assert reminders.remind_unpaid(period, D(2026, 3, 5)).candidates == 0


def test_renewal_reminders_name_the_member_and_skip_who_renewed(users, units, staff, period,
                                                                admin, premium_scheme):
    Member.objects.filter(pk=staff["m1"].pk).update(phone="13800001111")
    Member.objects.filter(pk=staff["m2"].pk).update(phone="13800002222")
    Member.objects.filter(pk=staff["m3"].pk).update(phone="")
    enrolment.enrol_unit(users["clerk_a1"], period, units["a1"], on=D(2026, 2, 1))
    nxt = schemes.create_period(admin, premium_scheme, name="2027年度", start=D(2027, 1, 1),
                                end=D(2027, 12, 31), premium=Decimal("150.00"),
                                enrol_from=D(2026, 12, 1), enrol_until=D(2027, 3, 31))
    enrolment.enrol_unit(users["clerk_a1"], nxt, units["a1"], member_ids=[staff["m2"].pk,
                                                                         staff["m4"].pk],
                         on=D(2026, 12, 5))
    done = reminders.remind_renewal(nxt, D(2026, 12, 10))
    assert (done.candidates, done.written, done.no_phone) == (2, 1, 1)
    text = OutboxMessage.objects.get(kind="coverage.renewal").text
    assert "赵一您好" in text and "2027年度" in text and "2027年3月31日截止" in text
    assert reminders.remind_renewal(nxt, D(2026, 12, 11)).written == 0
    assert reminders.remind_renewal(nxt, D(2027, 5, 1)).candidates == 0  # window closed
