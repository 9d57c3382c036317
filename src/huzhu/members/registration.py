"""Who may be registered as a member, and with which dates: the rules the member form
and the import share, so that the two can never disagree."""

from __future__ import annotations

import datetime as dt

# The legal minimum working age (劳动法 第十五条): an in-service member is at least 16.
MIN_WORKING_AGE = 16


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in full years on ``day`` (a 29 February birthday counts from 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def registration_problems(*, birth: dt.date | None, status: str | None,
                          joined_on: dt.date | None,
                          today: dt.date) -> list[tuple[str, str]]:
    """(field, message) for each rule the values break; empty when they may be registered.

    ``status`` None means "active" (the default a new member gets). The messages never
    repeat the birth date: they are shown to roles that may not know it.
    """
    problems: list[tuple[str, str]] = []
    if joined_on is not None:
        if joined_on > today:
            problems.append(("joined_on", "入会日期不能晚于今天"))
        elif birth is not None and joined_on < birth:
            problems.append(("joined_on", "入会日期早于出生日期"))
    if birth is not None and (status or "active") == "active":
        if age_on(birth, today) < MIN_WORKING_AGE:
            problems.append(("id_number", f"按身份证号计算未满{MIN_WORKING_AGE}周岁，"
                                          "不能登记为在职会员（法定最低就业年龄为16周岁）"))
    return problems
