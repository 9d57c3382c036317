"""Enrolment of many units at once (a whole city, a renewal): the same rules as
:func:`huzhu.coverage.enrolment.enrol_unit` (both from
:mod:`huzhu.coverage.joining`), in set-based queries and bulk writes.

A city of a million members in two thousand units: members, existing enrolments and
earlier periods are read a few hundred units at a time, enrolments are inserted with
one ``COPY`` per chunk on PostgreSQL and one ``executemany`` on SQLite (``bulk_create``
is capped at 999 parameters a statement on SQLite: 76 rows), notices updated the same
way, and one ledger entry and one audit entry are written per unit. A unit the rules
refuse (the share it must reach) is listed with the reason; the others go ahead.
``bench/bench_coverage.py`` measures it at a million members.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from huzhu.audit.log import record_many
from huzhu.audit.models import AuditEntry
from huzhu.coverage.joining import (
    check_period,
    eligible_statuses,
    joining_premium,
    notice_due_date,
    notice_number,
    notice_state,
    previous_enrolments,
    unit_problem,
)
from huzhu.coverage.models import (
    Account,
    Enrolment,
    LedgerEntry,
    Period,
    PremiumNotice,
    Scheme,
)
from huzhu.coverage.refusals import refusals_audited, refuse
from huzhu.lib.sql import is_postgresql, quote
from huzhu.members.models import Member
from huzhu.orgs.models import Unit, User
from huzhu.rules import premiums as rules
from huzhu.rules.money import yuan

UNITS_PER_CHUNK = 200


@dataclass
class BulkOutcome:
    enrolled: int = 0
    units: int = 0
    premium: Decimal = Decimal("0.00")
    refused: list[tuple[Unit, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.units} 个单位新登记参保 {self.enrolled} 人，应缴 {yuan(self.premium)} 元"
        if self.refused:
            text += f"；{len(self.refused)} 个单位未办理"
        return text


@refusals_audited
def enrol_units(user: User, period: Period, units: Iterable[Unit], *,
                on: dt.date | None = None,
                member_ids: dict[int, list[int]] | None = None) -> BulkOutcome:
    """Enrol each unit's eligible members (or ``member_ids[unit]``) in ``period``."""
    day = on or timezone.localdate()
    check_period(user, period, day)
    joined, premium = joining_premium(period, day)
    plan = _Plan(user, period, day, joined, premium, member_ids)
    outcome = BulkOutcome()
    chunk: list[Unit] = []
    for unit in units:
        chunk.append(unit)
        if len(chunk) >= UNITS_PER_CHUNK:
            plan.run(chunk, outcome)
            chunk = []
    if chunk:
        plan.run(chunk, outcome)
    return outcome


class _Plan:
    def __init__(self, user: User, period: Period, day: dt.date, joined: dt.date,
                 premium: Decimal, member_ids: dict[int, list[int]] | None) -> None:
        self.user, self.period, self.scheme = user, period, period.scheme
        self.day, self.joined, self.premium = day, joined, premium
        self.member_ids = member_ids
        self.statuses = set(eligible_statuses(self.scheme))
        free = premium == 0
        self.starts_now = free or self.scheme.coverage_start == Scheme.CoverageStart.ON_ENROLMENT
        self.paid_on = day if free else None
        # A scheme's first period (a city's first year) has no earlier coverage to carry
        # over: one query here saves one per few hundred members below.
        self.has_history = Enrolment.objects.filter(
            period__scheme=self.scheme, period__start__lt=period.start,
            coverage_from__isnull=False).exists()
        q = quote
        columns = ("member_id", "period_id", "unit_id", "enrolled_on", "first_enrolled",
                   "coverage_from", "coverage_to", "premium", "paid_on", "state", "notice_id",
                   "created_by_id", "created_at")
        table = q(Enrolment._meta.db_table)
        self.insert = (f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "
                       f"VALUES ({', '.join(['%s'] * len(columns))})")
        self.copy = f"COPY {table} ({', '.join(q(c) for c in columns)}) FROM STDIN"
        # The same for every row of the run (as enrol_unit's rows): adapted once.
        date = connection.ops.adapt_datefield_value
        self.fixed_dates = (date(day), date(joined if self.starts_now else None),
                            date(period.end), date(self.paid_on))
        self.adapt_date = date
        self.update_notice = (f"UPDATE {q(PremiumNotice._meta.db_table)} SET "
                              f"{q('members')} = %s, {q('amount_due')} = %s, "
                              f"{q('state')} = %s, {q('updated_at')} = %s WHERE {q('id')} = %s")

    def run(self, units: list[Unit], outcome: BulkOutcome) -> None:
        allowed = []
        for unit in units:
            problem = unit_problem(self.user, self.scheme, unit)
            if problem:
                outcome.refused.append((unit, problem))
            else:
                allowed.append(unit)
        if not allowed:
            return
        chosen = self._choose(allowed, outcome)
        if chosen:
            self._write(chosen, outcome)

    def _choose(self, units: list[Unit], outcome: BulkOutcome) -> dict[Unit, list[int]]:
        """Per unit, the members to enrol now, after the share rule."""
        ids = [u.pk for u in units]
        staff: dict[int, list[tuple]] = defaultdict(list)
        # By (unit, id): the (unit, id) index gives each unit's members in id order.
        for row in Member.objects.filter(unit_id__in=ids).values_list(
                "id", "unit_id", "status", "gender").order_by("unit_id", "id"):
            staff[row[1]].append(row)
        enrolled: dict[int, set[int]] = defaultdict(set)
        counted: dict[int, int] = defaultdict(int)  # towards the share
        female = self.scheme.share_of == Scheme.ShareOf.FEMALE
        for member_id, unit_id, state, status, gender in Enrolment.objects.filter(
                period=self.period, unit_id__in=ids).values_list(
                "member_id", "unit_id", "state", "member__status", "member__gender"):
            enrolled[unit_id].add(member_id)
            if state == Enrolment.State.ACTIVE and status == Member.Status.ACTIVE and (
                    not female or gender == Member.Gender.FEMALE):
                counted[unit_id] += 1
        chosen = {}
        for unit in units:
            wanted = set(self.member_ids.get(unit.pk, ())) if self.member_ids is not None \
                else None
            new = [m for m in staff[unit.pk] if m[0] not in enrolled[unit.pk]
                   and m[2] in self.statuses and (wanted is None or m[0] in wanted)]
            if not new:
                continue
            problem = self._share(staff[unit.pk], counted[unit.pk], new, female)
            if problem:
                outcome.refused.append((unit, problem))
            else:
                chosen[unit] = [m[0] for m in new]
        return chosen

    def _share(self, staff: list[tuple], counted: int, new: list[tuple],
               female: bool) -> str | None:
        if self.scheme.min_share is None:
            return None

        def counts(m: tuple) -> bool:
            return m[2] == Member.Status.ACTIVE and (not female or m[3] == Member.Gender.FEMALE)

        return rules.share_problem(
            enrolled=counted + sum(1 for m in new if counts(m)),
            staff=sum(1 for m in staff if counts(m)), min_share=self.scheme.min_share,
            whom=Scheme.ShareOf(self.scheme.share_of).label)

    def _write(self, chosen: dict[Unit, list[int]], outcome: BulkOutcome) -> None:
        history = self._history([m for ids in chosen.values() for m in ids])
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        day, coverage_from, coverage_to, paid_on = self.fixed_dates
        fresh = self.adapt_date(self.joined)  # no earlier coverage: waiting counts from now
        period_id, user_id, active = self.period.pk, self.user.pk, Enrolment.State.ACTIVE
        try:
            with transaction.atomic():
                notices = self._notices(list(chosen))
                rows, notice_rows, ledger, audit = [], [], [], []
                for unit, ids in chosen.items():
                    notice = notices[unit.pk]
                    unit_id, notice_id = unit.pk, notice.pk
                    for member_id in ids:
                        first = fresh
                        if member_id in history:
                            first = self.adapt_date(rules.first_enrolled(
                                self.joined, *history[member_id]))
                        rows.append((
                            member_id, period_id, unit_id, day, first, coverage_from,
                            coverage_to, self.premium, paid_on, active, notice_id, user_id,
                            now))
                    amount = self.premium * len(ids)
                    notice.members += len(ids)
                    notice.amount_due += amount
                    notice_rows.append((notice.members, notice.amount_due, notice_state(notice),
                                        now, notice.pk))
                    if amount > 0:
                        ledger.append(self._ledger_entry(notice, unit, len(ids), amount))
                    audit.append(self._audit(unit, len(ids), amount))
                    outcome.enrolled += len(ids)
                    outcome.units += 1
                    outcome.premium += amount
                # In member order: the member-keyed indexes (and, on PostgreSQL, the
                # foreign-key checks at commit) then walk their B-trees once instead of
                # jumping about. Each unit's rows keep their order, member by member, as
                # enrol_unit writes them (payments are allocated in that order).
                rows.sort(key=itemgetter(0))
                self._insert(rows)
                with connection.cursor() as cursor:
                    cursor.executemany(self.update_notice, notice_rows)
                LedgerEntry.objects.bulk_create(ledger, batch_size=500)
                record_many(audit)
        except IntegrityError:
            raise refuse(self.user, "部分会员刚刚已由他人登记参保，请刷新页面后重试") from None

    def _insert(self, rows: list[tuple]) -> None:
        """The chunk's enrolments: COPY on PostgreSQL (executemany sends a statement per
        row: over twice as slow at a million), executemany on SQLite (in-process anyway)."""
        with connection.cursor() as cursor:
            if not is_postgresql():
                cursor.executemany(self.insert, rows)
                return
            # The raw psycopg cursor: Django's wrapper turns its errors (a member enrolled
            # by someone else meanwhile) into django.db.IntegrityError, as for execute.
            with connection.wrap_database_errors, cursor.cursor.copy(self.copy) as copy:
                for row in rows:
                    copy.write_row(row)

    def _history(self, member_ids: list[int]) -> dict[int, tuple]:
        """:func:`previous_enrolments` for the chunk's members in one query: their ids go
        as one parameter (an array, a JSON list), not in batches of 900 placeholders."""
        if not self.has_history or not member_ids:
            return {}
        column = f"{quote(Enrolment._meta.db_table)}.{quote('member_id')}"
        if is_postgresql():
            among = RawSQL(f"{column} = ANY(%s)", [member_ids], output_field=BooleanField())
        elif connection.vendor == "sqlite":
            among = RawSQL(f"{column} IN (SELECT value FROM json_each(%s))",
                           [json.dumps(member_ids)], output_field=BooleanField())
        else:
            return previous_enrolments(self.scheme, self.period, member_ids)
        found: dict[int, tuple] = {}
        rows = (Enrolment.objects.filter(among, period__scheme=self.scheme,
                                         period__start__lt=self.period.start)
                .exclude(coverage_from__isnull=True)
                .order_by("member_id", "period__start")
                .values_list("member_id", "coverage_to", "first_enrolled"))
        for member_id, end, first in rows.iterator(chunk_size=10_000):
            found[member_id] = (end, first)  # ordered by start: the latest wins
        return found

    def _notices(self, units: list[Unit]) -> dict[int, PremiumNotice]:
        qs = PremiumNotice.objects.filter(period=self.period, unit__in=units)
        if connection.features.has_select_for_update:
            qs = qs.select_for_update()
        found = {n.unit_id: n for n in qs}
        due = notice_due_date(self.period, self.day)  # issued on the enrolment day
        missing = [PremiumNotice(period=self.period, unit=u, due_date=due,
                                 number=notice_number(self.period, u))
                   for u in units if u.pk not in found]
        if missing:
            PremiumNotice.objects.bulk_create(missing, batch_size=500)
            for n in PremiumNotice.objects.filter(period=self.period,
                                                  unit_id__in=[n.unit_id for n in missing]):
                found[n.unit_id] = n
        return found

    def _ledger_entry(self, notice: PremiumNotice, unit: Unit, members: int,
                      amount: Decimal) -> LedgerEntry:
        return LedgerEntry(
            scheme=self.scheme, period=self.period, kind=LedgerEntry.Kind.PREMIUM_DUE,
            debit=Account.RECEIVABLE, credit=Account.PREMIUM_INCOME, amount=amount,
            reference=f"notice:{notice.pk}:{uuid.uuid4().hex[:16]}",
            memo=f"{unit.name} {members} 人参保", created_by=self.user,
            booked_on=timezone.localdate())

    def _audit(self, unit: Unit, members: int, amount: Decimal) -> AuditEntry:
        return AuditEntry(
            actor=self.user, action=AuditEntry.Action.ENROLLED, object_type="unit",
            object_id=str(unit.pk), union_path=unit.union.path,
            summary=f"{self.period}：单位“{unit.name}”新登记参保 {members} 人，"
                    f"应缴 {yuan(amount)} 元",
            changes={"period": str(self.period), "members": members, "premium": str(amount)})
