"""Demo steps for coverage: Changchun's free subsidies for the whole city and a
Ningshan-style premium scheme taken up in two districts, with two years of periods,
enrolments, premiums (a few units not yet paid) and the city's subsidy funding."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huzhu.coverage import enrolment, premiums, reminders, schemes
from huzhu.coverage.bulk_enrolment import enrol_units
from huzhu.coverage.models import PremiumNotice
from huzhu.demo.base import DemoContext, Step
from huzhu.demo.names import CITY_UNION_NAME
from huzhu.notify.sending import send_due

D = dt.date
PREMIUM_DISTRICTS = ("朝阳区", "南关区")  # the clerk and reviewer work in 朝阳区


def make_schemes(ctx: DemoContext) -> int:
    admin = ctx.staff["admin"]
    ctx.progress.start("保障项目", 4)
    # The fund's collection accounts, as the notices print them (invented numbers).
    free = schemes.create_scheme(admin, union=ctx.city, policy_name="changchun-2023",
                                 payee_name=f"{CITY_UNION_NAME}职工互助补贴专户",
                                 payee_bank="中国工商银行长春南关支行",
                                 payee_account="4200 2210 0902 4530 718")
    premium = schemes.create_scheme(admin, union=ctx.city, policy_name="ningshan-2024",
                                    name="职工医疗互助保障（宁陕模式）",
                                    min_share=Decimal("0.5"),
                                    payee_name=f"{CITY_UNION_NAME}职工互助保障金专户",
                                    payee_bank="中国建设银行长春人民大街支行",
                                    payee_account="2205 0161 5310 0000 0468")
    ctx.progress.advance(2)
    for year in (2025, 2026):
        schemes.create_period(admin, free, name=f"{year}年", start=D(year, 1, 1),
                              end=D(year, 12, 31), premium=Decimal("0"),
                              enrol_from=D(year, 1, 1), enrol_until=D(year, 12, 31))
        schemes.create_period(admin, premium, name=f"{year}年度", start=D(year, 1, 1),
                              end=D(year, 12, 31), premium=Decimal("150.00"),
                              enrol_from=D(year - 1, 12, 1), enrol_until=D(year, 3, 31))
    ctx.progress.advance(2)
    ctx.extra["schemes"] = {"free": free, "premium": premium}
    return 2


def enrol_and_pay(ctx: DemoContext) -> int:
    rng = ctx.rng("coverage")
    admin, finance = ctx.staff["admin"], ctx.staff["finance"]
    premium = ctx.extra["schemes"]["premium"]
    p2025, p2026 = premium.periods.order_by("start")
    units = [u for u in ctx.units
             if u.union.parent.name.startswith(PREMIUM_DISTRICTS)]
    joining = [u for u in units if rng.random() < 0.8]
    ctx.progress.start("参保与缴费", 4)
    enrolled = enrol_units(admin, p2025, joining, on=D(2025, 1, 20)).enrolled
    ctx.progress.advance()
    _pay_all(PremiumNotice.objects.filter(period=p2025), finance, rng, D(2025, 2, 20))
    ctx.progress.advance()
    schemes.advance(admin, p2025)
    schemes.advance(admin, p2025)
    enrolled += enrolment.renew(admin, p2025, p2026, on=D(2026, 1, 15)).enrolled
    ctx.progress.advance()
    notices = list(PremiumNotice.objects.filter(period=p2026).order_by("id"))
    unpaid = {n.pk for n in notices if rng.random() < 0.1}
    partial = {n.pk for n in notices if n.pk not in unpaid and rng.random() < 0.08}
    for notice in notices:
        if notice.pk in unpaid:
            continue
        amount = notice.amount_due if notice.pk not in partial else \
            (notice.amount_due / 2).quantize(Decimal("1"))
        if amount > 0:
            premiums.register_payment(finance, notice.pk, amount=amount,
                                      paid_on=D(2026, 2, rng.randint(1, 27)),
                                      bank_reference=f"ICBC2026{notice.pk:06d}")
    _remind(p2026)
    schemes.advance(admin, p2026)  # the enrolment window is over: coverage runs
    _fund_free_scheme(ctx, finance)
    ctx.progress.advance()
    return enrolled


def _remind(period) -> None:
    """Reminders as they stood at the end of the 2026 window, and the ones already sent."""
    reminders.remind_unpaid(period, D(2026, 3, 20))
    send_due(limit=50)  # some went out already; the rest wait in the outbox


def _pay_all(notices, finance, rng, around: dt.date) -> None:
    for notice in notices:
        if notice.amount_due > 0:
            premiums.register_payment(
                finance, notice.pk, amount=notice.amount_due,
                paid_on=around + dt.timedelta(days=rng.randint(-10, 10)),
                bank_reference=f"ICBC{around.year}{notice.pk:06d}")


def _fund_free_scheme(ctx: DemoContext, finance) -> None:
    free = ctx.extra["schemes"]["free"]
    per_member = Decimal("60")  # a year's subsidy budget per member, illustrative
    budget = (per_member * len(ctx.member_ids)).quantize(Decimal("0.01"))
    for period in free.periods.order_by("start"):
        premiums.fund_subsidy(finance, free, period, amount=budget,
                              booked_on=period.start + dt.timedelta(days=20),
                              reference=f"长工发〔{period.start.year}〕12号")


STEPS = [
    Step("schemes", "保障项目", make_schemes),
    Step("enrolments", "参保与缴费", enrol_and_pay),
]
