"""Payout batches (给付批次): finance groups approved claims, exports the bank transfer
file, then marks the batch paid (each payout posted to the fund ledger) or single
payouts failed with the bank's reason (the claim goes back to the queue).

A claim is in at most one pending payout and paid at most once: the database says so
(partial unique indexes on ``Payout``), the code checks it first to give a reason. Every
step that moves money runs in one transaction with the batch row locked, so two finance
users confirming the same batch at once, or a retried request, pay each payout once.
A batch of ten thousand claims is written set-based: a few statements, not a
``workflow.apply`` per claim, with the same role and scope rules (``workflow.why_not``).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

import xlsxwriter
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.bulk import AuditRows
from huzhu.audit.models import AuditEntry
from huzhu.claims import notifications, workflow
from huzhu.claims.models import Claim, ClaimEvent, Payout, PayoutBatch
from huzhu.claims.workflow import ClaimRefused
from huzhu.coverage import ledger
from huzhu.coverage.models import Account, LedgerEntry, Scheme
from huzhu.lib import crypto
from huzhu.orgs.models import User
from huzhu.orgs.scope import can_see_full_id, sees_everything, union_path

S = Claim.State
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
PURPOSE_MIN = 4  # as for member exports: a full-number file needs a stated purpose
CHUNK = 500  # ids per IN list: SQLite bounds the parameters of one statement
FORMATS = ("xlsx", "csv")
T = TypeVar("T")


def can_pay(user: User) -> bool:
    return sees_everything(user) or user.role in workflow.FINANCE


# ---------------------------------------------------------------- refusals, audited

def _refusals_audited(service: Callable[..., T]) -> Callable[..., T]:
    """A refusal is written to the audit log after the service's transaction rolled back
    (so the entry stays), then raised again."""

    @functools.wraps(service)
    def wrapper(user: User, *args, **kwargs) -> T:
        try:
            return service(user, *args, **kwargs)
        except ClaimRefused as exc:
            log.record(user, AuditEntry.Action.PAYOUT_CHANGED, None,
                       union_path=union_path(user) or "",
                       summary=f"给付操作被拒绝：{exc}",
                       changes={"refused": service.__name__})
            raise

    return wrapper


def _require_role(user: User, what: str) -> None:
    if not can_pay(user):
        raise ClaimRefused(f"您的角色不能{what}")


# ---------------------------------------------------------------- scope

def batches_visible_to(user: User) -> QuerySet[PayoutBatch]:
    return PayoutBatch.objects.visible_to(user)


def get_batch_for_user(user: User, batch_id: int) -> PayoutBatch:
    """The batch, for finance and admins (403 for every other role, whatever the id, so
    that nothing is disclosed), if it lies in the user's subtree (404 otherwise)."""
    from django.shortcuts import get_object_or_404

    _deny_unless_finance(user)
    return get_object_or_404(batches_visible_to(user).select_related(
        "scheme__union", "union", "created_by"), pk=batch_id)


def _deny_unless_finance(user: User) -> None:
    from django.core.exceptions import PermissionDenied

    if not can_pay(user):
        raise PermissionDenied("只有财务和管理员可以办理给付")


def get_payout_for_user(user: User, payout_id: int) -> Payout:
    from django.shortcuts import get_object_or_404

    _deny_unless_finance(user)
    return get_object_or_404(
        Payout.objects.filter(batch__in=batches_visible_to(user))
        .select_related("batch", "claim__member__unit"), pk=payout_id)


# ---------------------------------------------------------------- ready for a batch

def ready_claims(user: User, scheme: Scheme) -> QuerySet[Claim]:
    """Approved claims of the scheme in the user's scope with a positive approved amount
    and no pending payout (with or without a bank account)."""
    return (Claim.objects.visible_to(user)
            .filter(scheme=scheme, state=S.APPROVED, final__gt=0)
            .exclude(payouts__state=Payout.State.PENDING))


def _with_account_flag(qs: QuerySet[Claim]) -> QuerySet[Claim]:
    return qs.annotate(has_account=ExpressionWrapper(
        Q(member__bank_account_sealed__isnull=False), output_field=BooleanField()))


@dataclass(frozen=True)
class Ready:
    """What a new batch of the scheme would hold now (the payouts page's summary)."""

    scheme: Scheme
    count: int
    total: Decimal
    without_account: int

    @property
    def any(self) -> bool:
        return self.count > 0 or self.without_account > 0


def readiness(user: User, scheme: Scheme) -> Ready:
    qs = ready_claims(user, scheme)
    with_account = qs.filter(member__bank_account_sealed__isnull=False).aggregate(
        n=Count("pk"), total=Sum("final"))
    return Ready(scheme, with_account["n"], _money(with_account["total"]),
                 qs.filter(member__bank_account_sealed__isnull=True).count())


def without_account(user: User, scheme: Scheme) -> QuerySet[Claim]:
    """Approved claims left out of batches because the member has no bank account."""
    return ready_claims(user, scheme).filter(member__bank_account_sealed__isnull=True)


# ---------------------------------------------------------------- building a batch

@dataclass
class _Picked:
    payable: list[Claim] = field(default_factory=list)
    no_account: list[Claim] = field(default_factory=list)


def _candidates(user: User, scheme: Scheme, claim_ids: Iterable[int] | None) -> _Picked:
    """The claims for the batch, locked, each checked as ``workflow.why_not`` would."""
    base = _with_account_flag(Claim.objects.select_for_update(of=("self",))
                              .select_related("member__union")
                              .only("id", "number", "state", "final", "scheme_id",
                                    "filed_by_id", "first_reviewed_by_id", "benefit_name",
                                    "member__name", "member__union__path")
                              .order_by("pk"))
    if claim_ids is None:
        claims = list(base.filter(pk__in=ready_claims(user, scheme).values("pk")))
    else:
        wanted = sorted(set(claim_ids))
        visible = base.filter(pk__in=Claim.objects.visible_to(user).values("pk"))
        claims = [c for chunk in _chunks(wanted) for c in visible.filter(pk__in=chunk)]
        if len(claims) != len(wanted):
            # Never which ones: a claim outside the scope does not exist for the user.
            raise ClaimRefused(f"有 {len(wanted) - len(claims)} 件理赔不存在或不在您的管辖范围内")
    picked = _Picked()
    for claim in claims:
        problem = workflow.why_not(user, claim, "batch") or _not_payable(claim, scheme)
        if problem:
            raise ClaimRefused(f"理赔 {claim.number}：{problem}")
        (picked.payable if claim.has_account else picked.no_account).append(claim)
    return picked


def _not_payable(claim: Claim, scheme: Scheme) -> str | None:
    if claim.scheme_id != scheme.pk:
        return "不属于本保障项目"
    if not claim.final or claim.final <= 0:
        return "核定金额为 0，不能给付"
    return None


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


@_refusals_audited
def build_batch(user: User, scheme: Scheme, claim_ids: Iterable[int] | None = None
                ) -> PayoutBatch:
    """A new open batch of the scheme's approved claims (``claim_ids``: only these, each
    of which must be ready; None: every ready one in the user's scope).

    Claims whose member has no bank account are left out; the batch returned carries
    them as ``batch.without_account`` (a list of claims) for the caller to report.
    """
    _require_role(user, workflow.TRANSITIONS["batch"].label)
    with transaction.atomic():
        picked = _candidates(user, scheme, claim_ids)
        if not picked.payable:
            raise ClaimRefused(_nothing_to_batch(picked))
        batch = _new_batch(user, scheme)
        now = _db_now()
        try:
            with transaction.atomic():
                _insert(Payout, ("batch_id", "claim_id", "amount", "state", "failure_reason",
                                 "updated_at"),
                        [(batch.pk, c.pk, _db_money(c.final), Payout.State.PENDING, "", now)
                         for c in picked.payable])
        except IntegrityError:
            raise ClaimRefused("有理赔已在另一个待付款的批次中，请刷新后重试") from None
        moved = _move([c.pk for c in picked.payable], S.APPROVED, state=S.IN_BATCH)
        if moved != len(picked.payable):
            raise ClaimRefused("有理赔刚被他人处理，请刷新后重试")
        note = f"加入给付批次 {batch.number}"
        _history(user, picked.payable, "batch", S.APPROVED, S.IN_BATCH, note)
        total = sum((c.final for c in picked.payable), ZERO)
        log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
                   summary=f"生成给付批次 {batch.number}（{scheme.name}）："
                           f"{len(picked.payable)} 笔，合计 {total} 元"
                           + (f"；{len(picked.no_account)} 件因无银行账号未纳入"
                              if picked.no_account else ""),
                   changes={"count": len(picked.payable), "total": str(total),
                            "without_account": [c.number for c in picked.no_account][:200]})
    batch.without_account = picked.no_account
    return batch


def _nothing_to_batch(picked: _Picked) -> str:
    if picked.no_account:
        return (f"没有可以加入给付批次的理赔：{len(picked.no_account)} 件已审批的理赔因会员"
                "没有登记银行账号不能给付，请先补录银行账号")
    return "没有可以加入给付批次的理赔（须已审批、核定金额大于零且不在其他待付款批次中）"


def _new_batch(user: User, scheme: Scheme) -> PayoutBatch:
    union = user.union if user.union_id else scheme.union
    batch = PayoutBatch.objects.create(
        number=f"tmp-{crypto.blind_index(str(timezone.now()) + str(user.pk))[:12]}",
        scheme=scheme, union=union, created_by=user)
    batch.number = f"GF{timezone.localdate():%Y}{batch.pk:07d}"
    batch.save(update_fields=["number"])
    return batch


def _history(user: User, claims: list[Claim], action: str, before: str, after: str,
             note: str) -> None:
    """The claims' history rows and audit entries, as ``workflow.apply`` writes them."""
    now = _db_now()
    _insert(ClaimEvent, ("claim_id", "at", "actor_id", "action", "from_state", "to_state",
                         "note", "amount"),
            [(c.pk, now, user.pk, action, before, after, note[:300], _db_money(c.final))
             for c in claims])
    label = workflow.TRANSITIONS[action].label
    states = [S(before).label, S(after).label]
    rows = AuditRows(user)
    for c in claims:
        rows.add(AuditEntry.Action.CLAIM_CHANGED, "claim", c.pk, c.member.union.path,
                 f"理赔 {c.number}（{c.member.name} {c.benefit_name}）：{label}，{note}",
                 {"state": states, "amount": str(c.final)})
        if len(rows.pending) >= 2000:
            rows.flush()
    rows.flush()


def _move(claim_ids: list[int], before: str, **values) -> int:
    """Claims ``before`` → ``values``, by primary key in chunks (an IN over a subquery
    got a nested loop on PostgreSQL before its statistics caught up); the count moved."""
    values.setdefault("updated_at", timezone.now())
    return sum(Claim.objects.filter(pk__in=chunk, state=before).update(**values)
               for chunk in _chunks(sorted(claim_ids)))


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Plain INSERTs for ten thousand rows: ``bulk_create`` prepares every field of every
    object in Python, which was most of a batch's time (the same reason as
    :class:`huzhu.audit.bulk.AuditRows`). Values come adapted. SQLite runs in process,
    so ``executemany`` is cheapest there; PostgreSQL takes the rows by COPY (Django's
    client-side binding spent seconds parsing large multi-row INSERTs)."""
    q = connection.ops.quote_name
    table, names = q(model._meta.db_table), ", ".join(q(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's own cursor: Django's error translation (IntegrityError) by hand.
            with connection.wrap_database_errors, \
                    cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES "
                           f"({', '.join(['%s'] * len(columns))})", rows)


def _db_now():
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _db_money(amount: Decimal):
    return connection.ops.adapt_decimalfield_value(amount, 14, 2)


# ---------------------------------------------------------------- the bank file

COLUMNS = [("姓名", 10), ("银行账号", 24), ("开户行", 16), ("金额", 12), ("理赔编号", 16),
           ("会员所在单位", 30)]


@dataclass(frozen=True)
class BankRow:
    name: str
    account: str
    bank: str
    amount: Decimal
    number: str
    unit: str


def bank_rows(batch: PayoutBatch, *, full: bool) -> Iterator[BankRow]:
    """The batch's pending payouts, in payout order, read as plain rows in chunks (ten
    thousand model instances with their related members would be most of the time)."""
    qs = (batch.payouts.filter(state=Payout.State.PENDING).order_by("pk")
          .values_list("amount", "claim__number", "claim__member__name",
                       "claim__member__bank_account_sealed", "claim__member__unit__name"))
    for amount, number, name, sealed, unit in qs.iterator(chunk_size=2000):
        account = crypto.unseal(sealed) if sealed else ""
        yield BankRow(name, account if full else crypto.mask_bank_account(account),
                      "",  # the registry keeps no bank name yet
                      amount, number, unit)


def _totals(batch: PayoutBatch) -> tuple[int, Decimal]:
    agg = batch.payouts.filter(state=Payout.State.PENDING).aggregate(n=Count("pk"),
                                                                      total=Sum("amount"))
    return agg["n"], _money(agg["total"])


def _money(total: Decimal | None) -> Decimal:
    """A database sum to the fen (SQLite's come back as Decimal("1740"))."""
    return (total or ZERO).quantize(CENT)


def total_label(count: int, total: Decimal) -> str:
    return f"合计 {count} 笔 {total:.2f} 元"


@_refusals_audited
def export_batch(user: User, batch: PayoutBatch, fmt: str = "xlsx", *, full: bool = False,
                 purpose: str = "") -> bytes:
    """The bank transfer file of the batch's pending payouts, with a total row.

    Accounts are masked unless ``full`` is asked, which needs a role that may see full
    numbers (``can_see_full_id``) and a stated purpose; every file is audited, the
    purpose with it.
    """
    _require_role(user, "导出银行转账文件")
    if fmt not in FORMATS:
        raise ClaimRefused("导出格式只能是 xlsx 或 csv")
    purpose = " ".join(purpose.split())[:200]
    if full and not can_see_full_id(user):
        raise ClaimRefused("您的角色不能导出完整银行账号")
    if full and len(purpose) < PURPOSE_MIN:
        raise ClaimRefused(f"导出完整银行账号须写明用途（至少{PURPOSE_MIN}个字），"
                           "用途将记入审计日志")
    batch = _visible(user, batch)
    count, total = _totals(batch)
    if not count:
        raise ClaimRefused("该批次没有待付款的给付，无需导出银行转账文件")
    rows = bank_rows(batch, full=full)
    data = _xlsx(batch, rows, count, total) if fmt == "xlsx" else _csv(rows, count, total)
    log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
               summary=f"导出给付批次 {batch.number} 银行转账文件（{fmt}，"
                       f"{'完整账号' if full else '脱敏账号'}，{count} 笔，合计 {total} 元）"
                       + (f"，用途：{purpose}" if purpose else ""),
               changes={"format": fmt, "full_numbers": full, "purpose": purpose,
                        "count": count, "total": str(total)})
    return data


def _visible(user: User, batch: PayoutBatch) -> PayoutBatch:
    found = batches_visible_to(user).select_related("scheme__union", "union").filter(
        pk=batch.pk).first()
    if found is None:
        raise ClaimRefused("该给付批次不在您的管辖范围内")
    return found


def _xlsx(batch: PayoutBatch, rows: Iterable[BankRow], count: int, total: Decimal) -> bytes:
    out = io.BytesIO()
    # No formulas from data: a name written "=…" stays text. Constant memory: rows are
    # flushed as they are written.
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                     "strings_to_numbers": False, "strings_to_urls": False})
    sheet = book.add_worksheet(f"给付批次{batch.number}"[:31])
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "0.00"})
    bold_money = book.add_format({"num_format": "0.00", "bold": True})
    bold = book.add_format({"bold": True})
    for col, (title, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, head)
    sheet.freeze_panes(1, 0)
    r = 0
    for r, row in enumerate(rows, start=1):
        # Accounts as strings: a 19-digit number would lose its last digits in Excel.
        sheet.write_string(r, 0, row.name)
        sheet.write_string(r, 1, row.account)
        if row.bank:  # empty until the registry keeps bank names: a blank cell, not ""
            sheet.write_string(r, 2, row.bank)
        # xlsxwriter writes a Decimal's own digits into the cell: no float on the way.
        sheet.write_number(r, 3, row.amount, money)
        sheet.write_string(r, 4, row.number)
        sheet.write_string(r, 5, row.unit)
    sheet.write_string(r + 1, 0, total_label(count, total), bold)
    sheet.write_number(r + 1, 3, total, bold_money)
    book.close()
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    """A text cell Excel would run as a formula is prefixed with an apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(rows: Iterable[BankRow], count: int, total: Decimal) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in COLUMNS])
    for row in rows:
        writer.writerow([_csv_text(row.name), row.account, _csv_text(row.bank),
                         f"{row.amount:.2f}", _csv_text(row.number), _csv_text(row.unit)])
    writer.writerow([total_label(count, total), "", "", f"{total:.2f}", "", ""])
    # UTF-8 with a byte-order mark: Excel on Windows then reads the Chinese correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---------------------------------------------------------------- paid, failed

def _locked(user: User, batch: PayoutBatch) -> PayoutBatch:
    """The batch row, locked for the step (only it: not the scheme's or union's row)."""
    found = (batches_visible_to(user).select_for_update(of=("self",))
             .select_related("scheme__union").filter(pk=batch.pk).first())
    if found is None:
        raise ClaimRefused("该给付批次不在您的管辖范围内")
    return found


@_refusals_audited
def mark_paid(user: User, batch: PayoutBatch, paid_on: dt.date) -> int:
    """Every pending payout of the batch → paid on ``paid_on``: its claim → paid, one
    ledger entry each (Dr 互助金给付 / Cr 银行存款, reference ``payout:<id>``), the SMS
    to the member. Returns how many were paid now: a second call (a retried request, a
    colleague's click) finds nothing pending and pays nothing."""
    _require_role(user, workflow.TRANSITIONS["pay"].label)
    if paid_on > timezone.localdate():
        raise ClaimRefused("付款日期不能晚于今天")
    with transaction.atomic():
        batch = _locked(user, batch)
        pending = list(batch.payouts.filter(state=Payout.State.PENDING).select_related(
            "claim__member__union", "claim__period").order_by("pk"))
        if not pending:
            return 0
        for p in pending:
            # One scheme per batch: not its row (and policy text) joined ten thousand times.
            p.claim.scheme = batch.scheme
        for p in pending:
            problem = workflow.why_not(user, p.claim, "pay")
            if problem:
                raise ClaimRefused(f"理赔 {p.claim.number}：{problem}")
        now = timezone.now()
        for p in pending:
            _post(user, batch, p, paid_on)
        paid = batch.payouts.filter(state=Payout.State.PENDING).update(
            state=Payout.State.PAID, paid_on=paid_on, updated_at=now)
        moved = _move([p.claim_id for p in pending], S.IN_BATCH, state=S.PAID, paid_at=now,
                      updated_at=now)
        if paid != len(pending) or moved != len(pending):
            raise ClaimRefused("给付与理赔状态不一致，未做任何改动，请联系管理员")
        claims = [p.claim for p in pending]
        _history(user, claims, "pay", S.IN_BATCH, S.PAID,
                 f"批次 {batch.number}，付款日期 {paid_on:%Y-%m-%d}")
        for claim in claims:
            claim.state, claim.paid_at = S.PAID, now
            notifications.on_transition(claim, "pay")
        total = sum((p.amount for p in pending), ZERO)
        closed = _close_if_done(batch, now)
        log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
                   summary=f"给付批次 {batch.number} 确认已付款：{paid} 笔，合计 {total} 元，"
                           f"付款日期 {paid_on:%Y-%m-%d}" + ("；批次已完成" if closed else ""),
                   changes={"count": paid, "total": str(total), "paid_on": paid_on.isoformat()})
    return paid


def _post(user: User, batch: PayoutBatch, payout: Payout, paid_on: dt.date) -> None:
    claim = payout.claim
    ledger.post(scheme=claim.scheme, period=claim.period, kind=LedgerEntry.Kind.PAYOUT,
                debit=Account.BENEFIT_EXPENSE, credit=Account.BANK, amount=payout.amount,
                reference=f"payout:{payout.pk}", user=user, booked_on=paid_on,
                memo=f"给付 {batch.number} {claim.number} {claim.member.name} {claim.benefit_name}")


def _close_if_done(batch: PayoutBatch, now: dt.datetime) -> bool:
    if batch.payouts.filter(state=Payout.State.PENDING).exists():
        return False
    batch.state, batch.closed_at = PayoutBatch.State.CLOSED, now
    batch.save(update_fields=["state", "closed_at"])
    return True


@_refusals_audited
def mark_failed(user: User, payout: Payout, reason: str) -> Payout:
    """The bank returned ``payout``: it is failed with the bank's reason and its claim
    goes back to approved, to be paid in a later batch. It never reaches the ledger.
    Marking an already failed payout again changes nothing."""
    _require_role(user, "标记付款失败")
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise ClaimRefused("请填写银行退回的原因")
    with transaction.atomic():
        batch = _locked(user, payout.batch)
        payout = (Payout.objects.select_related("claim__member__union")
                  .get(pk=payout.pk, batch=batch))
        if payout.state == Payout.State.FAILED:
            return payout
        if payout.state == Payout.State.PAID:
            raise ClaimRefused("该笔给付已确认付款，不能再标记为付款失败")
        claim = payout.claim
        problem = workflow.why_not(user, claim, "fail")
        if problem:
            raise ClaimRefused(f"理赔 {claim.number}：{problem}")
        now = timezone.now()
        payout.state, payout.failure_reason = Payout.State.FAILED, reason
        payout.save(update_fields=["state", "failure_reason", "updated_at"])
        _move([claim.pk], S.IN_BATCH, state=S.APPROVED, updated_at=now)
        _history(user, [claim], "fail", S.IN_BATCH, S.APPROVED,
                 f"批次 {batch.number} 付款失败：{reason}")
        closed = _close_if_done(batch, now)
        log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
                   summary=f"给付批次 {batch.number} 中理赔 {claim.number}（{claim.member.name}）"
                           f"付款失败，{payout.amount} 元退回待给付：{reason}"
                           + ("；批次已完成" if closed else ""),
                   changes={"payout": payout.pk, "claim": claim.number,
                            "amount": str(payout.amount), "reason": reason})
    return payout


# ---------------------------------------------------------------- the batch's numbers

@dataclass(frozen=True)
class BatchTotals:
    count: int
    total: Decimal
    pending: int
    paid: int
    failed: int
    paid_total: Decimal


def batch_totals(batch: PayoutBatch) -> BatchTotals:
    """Count and total of the payouts that are or will be paid (failed ones apart)."""
    by_state = {row["state"]: (row["n"], _money(row["t"])) for row in batch.payouts
                .values("state").annotate(n=Count("pk"), t=Sum("amount")).order_by()}
    pending, paid, failed = (by_state.get(s, (0, ZERO)) for s in Payout.State.values)
    return BatchTotals(pending[0] + paid[0], pending[1] + paid[1], pending[0], paid[0],
                       failed[0], paid[1])
