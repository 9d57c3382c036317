"""Reconciling a batch against the bank's result file (回盘核对): each transfer the bank
reports is marked paid (with its date), failed (with the bank's reason) or returned
(退票: paid earlier, now sent back — the account was closed), all or nothing.

:func:`plan` reads the file (:mod:`.return_file`) against the batch and says what it
would do, refusing row by row what does not match (an unknown 理赔编号 or 序号, another
amount or name, a status the payout cannot take); the page shows it before the user
confirms. :func:`reconcile` plans again with the batch locked and, only when no row is
refused, applies it in one transaction, set-based: one UPDATE per state (and date or
reason) per chunk of payouts and claims, the ledger entries and history rows by COPY or
multi-row INSERT, the members' SMS in bulk. The same file applied again finds every
payout already where the file puts it and changes nothing.

Ledger: a paid payout posts Dr 互助金给付 / Cr 银行存款 (``payout:<id>``) on its payment
date, as :func:`settle.mark_paid` does; a 退票 posts the mirror on its return date —
accounts swapped, the same amount, scheme and period, as a coverage reversal does — as a
payout entry (``payout-return:<id>``), which ``huzhu ledger check`` nets against the
paid payouts. A 退票 moves the claim back to approved, where it waits for a corrected
account (待更正账号, :func:`build.awaiting_correction`); the member is sent an SMS.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import TypeVar, cast

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import notifications
from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.claims.payouts import return_file
from huzhu.claims.payouts.access import (
    locked_batch,
    refusals_audited,
    require_pay,
    visible_batch,
)
from huzhu.claims.payouts.build import by_ids, id_chunks
from huzhu.claims.payouts.return_file import PAID, RETURNED, ReturnFileError, ReturnRow
from huzhu.claims.payouts.settle import close_if_done
from huzhu.claims.payouts.writes import db_money, db_now, insert, record_step
from huzhu.claims.workflow import ClaimRefused
from huzhu.coverage.models import Account, LedgerEntry
from huzhu.notify import outbox
from huzhu.orgs.models import User
from huzhu.rules.money import yuan

S = Claim.State
P = Payout.State
ZERO = Decimal("0.00")
ERRORS_SHOWN = 20
CLAIM_CHUNK = 5000  # claims loaded and written per round: memory stays flat at a million
RETURN_STEP = "payout_return"
RETURN_LABEL = "银行退票"
K = TypeVar("K")


@dataclass(frozen=True)
class Move:
    """One payout the file moves: from ``before`` to ``after`` on ``day``."""

    payout_id: int
    claim_id: int
    number: str
    amount: Decimal
    before: str
    after: str
    day: dt.date
    reason: str
    row: int


@dataclass
class Plan:
    """What a result file does to a batch; nothing applied while ``errors`` is not empty."""

    batch: PayoutBatch
    file_name: str
    moves: list[Move] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    not_in_file: int = 0  # pending payouts the file does not mention

    def _of(self, after: str) -> list[Move]:
        return [m for m in self.moves if m.after == after]

    @property
    def paid(self) -> list[Move]:
        return self._of(P.PAID)

    @property
    def failed(self) -> list[Move]:
        return self._of(P.FAILED)

    @property
    def returned(self) -> list[Move]:
        return self._of(P.RETURNED)

    @staticmethod
    def total(moves: Iterable[Move]) -> Decimal:
        return sum((m.amount for m in moves), ZERO)

    @property
    def paid_total(self) -> Decimal:
        return self.total(self.paid)

    @property
    def failed_total(self) -> Decimal:
        return self.total(self.failed)

    @property
    def returned_total(self) -> Decimal:
        return self.total(self.returned)

    @property
    def changes_nothing(self) -> bool:
        return not self.moves and not self.errors

    def summary(self) -> str:
        """The counts and totals in one Chinese sentence."""
        parts = [f"付款成功 {len(self.paid)} 笔 {yuan(self.total(self.paid))} 元",
                 f"付款失败 {len(self.failed)} 笔 {yuan(self.total(self.failed))} 元",
                 f"退票 {len(self.returned)} 笔 {yuan(self.total(self.returned))} 元"]
        text = "，".join(parts)
        if self.unchanged:
            text += f"；{self.unchanged} 笔此前已核对，不再变更"
        if self.not_in_file:
            text += f"；{self.not_in_file} 笔待付款的给付不在回盘文件中，仍待付款"
        return text


class ReconcileRefused(ClaimRefused):
    """A result file with refused rows: nothing was applied."""


@dataclass(frozen=True)
class _Payout:
    pk: int
    claim_id: int
    number: str
    amount: Decimal
    state: str
    seq: int | None
    name: str
    paid_on: dt.date | None


def _payouts(batch: PayoutBatch) -> list[_Payout]:
    qs = (Payout.objects.filter(batch=batch).order_by("pk")
          .values_list("pk", "claim_id", "claim__number", "amount", "state", "bank_seq",
                       "claim__member__name", "paid_on"))
    return [_Payout(*row) for row in qs.iterator(chunk_size=5000)]


def plan(user: User, batch: PayoutBatch, data: bytes, file_name: str, *,
         paid_on: dt.date | None = None) -> Plan:
    """What the result file would do to the batch (nothing is written)."""
    require_pay(user, "核对银行回盘文件")
    return _plan(visible_batch(user, batch), data, file_name, paid_on)


def _plan(batch: PayoutBatch, data: bytes, name: str, paid_on: dt.date | None) -> Plan:
    try:
        parsed = return_file.read(data, name)
    except ReturnFileError as exc:
        raise ReconcileRefused(str(exc)) from None
    result = Plan(batch, name)
    errors: list[tuple[int, str]] = [(e.row, str(e)) for e in parsed.errors]
    payouts = _payouts(batch)
    by_number = {p.number: p for p in payouts}
    by_seq = {p.seq: p for p in payouts if p.seq is not None}
    today = timezone.localdate()
    default_day = paid_on or today
    built = timezone.localtime(batch.created_at).date()
    seen: dict[int, int] = {}
    for row in parsed.rows:
        where = f"{name} 第 {row.row} 行"
        payout, error = _match(row, batch, by_number, by_seq)
        if payout is None:
            errors.append((row.row, f"{where}{error}"))
            continue
        if payout.pk in seen:
            errors.append((row.row, f"{where}“{_ref_field(row)}”：与第 {seen[payout.pk]} 行"
                                    f"是同一笔给付（理赔 {payout.number}）"))
            continue
        seen[payout.pk] = row.row
        problem = _mismatch(row, payout)
        if problem:
            errors.append((row.row, f"{where}{problem}"))
            continue
        move_or_error = _decide(row, payout, row.date or default_day, built, today)
        if isinstance(move_or_error, str):
            errors.append((row.row, f"{where}{move_or_error}"))
        elif move_or_error is None:
            result.unchanged += 1
        else:
            result.moves.append(move_or_error)
    # In the file's order: the person fixing it goes down the rows once.
    result.errors = [text for _, text in sorted(errors, key=lambda e: e[0])]
    result.not_in_file = sum(1 for p in payouts if p.state == P.PENDING and p.pk not in seen)
    if not parsed.rows and not parsed.errors:
        result.errors.append(f"{name}：表头下没有任何转账记录")
    return result


def _ref_field(row: ReturnRow) -> str:
    return "理赔编号" if row.number else "序号"


def _match(row: ReturnRow, batch: PayoutBatch, by_number: dict[str, _Payout],
           by_seq: dict[int, _Payout]) -> tuple[_Payout | None, str]:
    """The batch's payout the row names (by 理赔编号 when it has one, else 序号; when it
    has both they must name the same payout), or why not."""
    if row.number:
        payout = by_number.get(row.number)
        if payout is None:
            return None, f"“理赔编号”：{row.number} 不在批次 {batch.number} 中"
        if row.seq is not None and payout.seq is not None and row.seq != payout.seq:
            return None, (f"“序号”：{row.seq} 与理赔编号 {row.number} 在银行文件中的序号 "
                          f"{payout.seq} 不符")
        return payout, ""
    assert row.seq is not None  # return_file refuses a row with neither
    payout = by_seq.get(row.seq)
    if payout is None:
        return None, (f"“序号”：批次 {batch.number} 最近一次导出的银行文件中没有序号 "
                      f"{row.seq}" + ("" if by_seq else "（该批次尚未导出过银行文件）"))
    return payout, ""


def _mismatch(row: ReturnRow, payout: _Payout) -> str | None:
    if row.amount != payout.amount:
        return (f"“金额”：{yuan(row.amount)} 元与批次中理赔 {payout.number} 的给付金额 "
                f"{yuan(payout.amount)} 元不符")
    if row.name and row.name != payout.name:
        return f"“户名”：{row.name} 与理赔 {payout.number} 的会员姓名 {payout.name} 不符"
    return None


def _decide(row: ReturnRow, payout: _Payout, day: dt.date, built: dt.date,
            today: dt.date) -> Move | str | None:
    """The move the row asks for; None when the payout already stands where the row puts
    it (a file applied again); a message when it cannot."""
    ref = f"（理赔 {payout.number}）"
    if day > today:
        return f"“日期”：{day:%Y-%m-%d} 晚于今天{ref}"
    word = return_file.STATUS_WORDS[row.status]
    state = payout.state
    target = {PAID: P.PAID, return_file.FAILED: P.FAILED, RETURNED: P.RETURNED}[row.status]
    if state == target or (state == P.RETURNED and target == P.PAID):
        # Already applied; a 成功 row for a payout returned since is the earlier result.
        return None
    if state == P.PENDING or (state == P.PAID and target == P.RETURNED):
        if state == P.PENDING and target != P.FAILED and day < built:
            return (f"“日期”：付款日期 {day:%Y-%m-%d} 早于批次的建立日期 {built:%Y-%m-%d}"
                    f"{ref}")
        if state == P.PAID and payout.paid_on and day < payout.paid_on:
            return (f"“日期”：退票日期 {day:%Y-%m-%d} 早于付款日期 "
                    f"{payout.paid_on:%Y-%m-%d}{ref}")
        return Move(payout.pk, payout.claim_id, payout.number, payout.amount, state, target,
                    day, row.reason, row.row)
    label = P(state).label
    hint = "；款项已付出后被退回的，请在状态中写“退票”" if state == P.PAID else ""
    return f"“状态”：该笔给付已是“{label}”，银行回盘为“{word}”，不能变更{ref}{hint}"


@refusals_audited
def reconcile(user: User, batch: PayoutBatch, data: bytes, file_name: str, *,
              paid_on: dt.date | None = None) -> Plan:
    """Apply the result file to the batch, all or nothing (see the module). Returns the
    plan applied; ``plan.changes_nothing`` when the file had been applied already."""
    require_pay(user, "核对银行回盘文件")
    with transaction.atomic():
        batch = locked_batch(user, batch)
        result = _plan(batch, data, file_name, paid_on)
        if result.errors:
            shown = "；".join(result.errors[:ERRORS_SHOWN])
            more = (f"；另有 {len(result.errors) - ERRORS_SHOWN} 行有误"
                    if len(result.errors) > ERRORS_SHOWN else "")
            raise ReconcileRefused(f"回盘文件有 {len(result.errors)} 处不符，未做任何变更："
                                   f"{shown}{more}")
        if not result.moves:
            return result
        _apply(user, batch, result)
    return result


# ---------------------------------------------------------------- applying

def _apply(user: User, batch: PayoutBatch, result: Plan) -> None:
    now = timezone.now()
    _update_payouts(result.moves, now)
    _fill_account_hash([m.payout_id for m in result.returned])
    _post_ledger(user, batch, result.moves)
    _move_claims(user, batch, result, now)
    closed = close_if_done(batch, now)
    for m in result.returned:
        log.record(user, AuditEntry.Action.PAYOUT_RETURNED, batch,
                   summary=f"给付批次 {batch.number} 中理赔 {m.number} 的 {yuan(m.amount)} 元"
                           f"被银行退票（{m.day:%Y-%m-%d}）：{m.reason}；已冲回互助金账，"
                           "理赔退回待给付，待更正账号后重新给付",
                   changes={"payout": m.payout_id, "claim": m.number,
                            "amount": str(m.amount), "reason": m.reason,
                            "退票日期": m.day.isoformat(), "回盘文件": result.file_name})
    log.record(user, AuditEntry.Action.PAYOUT_RECONCILED, batch,
               summary=f"核对给付批次 {batch.number} 的银行回盘文件 {result.file_name}："
                       f"{result.summary()}" + ("；批次已完成" if closed else ""),
               changes={"回盘文件": result.file_name,
                        "成功笔数": len(result.paid), "成功金额": str(result.total(result.paid)),
                        "失败笔数": len(result.failed),
                        "失败金额": str(result.total(result.failed)),
                        "退票笔数": len(result.returned),
                        "退票金额": str(result.total(result.returned)),
                        "unchanged": result.unchanged})


def _grouped(moves: Iterable[Move], key: Callable[[Move], K]) -> dict[K, list[int]]:
    out: dict[K, list[int]] = defaultdict(list)
    for m in moves:
        out[key(m)].append(m.payout_id)
    return out


def _update_payouts(moves: list[Move], now: dt.datetime) -> None:
    """One UPDATE per (state, date or reason) per chunk; each must move every row."""
    def apply(ids: list[int], before: str, **values: object) -> None:
        moved = sum(by_ids(Payout.objects.filter(state=before), chunk).update(
            updated_at=now, **values) for chunk in id_chunks(sorted(ids)))
        if moved != len(ids):
            raise ClaimRefused("给付状态刚被他人变更，未做任何改动，请重新核对")

    pending = [m for m in moves if m.before == P.PENDING]
    for day, ids in _grouped((m for m in pending if m.after == P.PAID),
                             lambda m: m.day).items():
        apply(ids, P.PENDING, state=P.PAID, paid_on=day)
    for reason, ids in _grouped((m for m in pending if m.after == P.FAILED),
                                lambda m: m.reason).items():
        apply(ids, P.PENDING, state=P.FAILED, failure_reason=reason)
    for (day, reason), ids in _grouped((m for m in pending if m.after == P.RETURNED),
                                       lambda m: (m.day, m.reason)).items():
        # Paid and returned in the one result file: paid and returned that day.
        apply(ids, P.PENDING, state=P.RETURNED, paid_on=day, returned_on=day,
              failure_reason=reason)
    for (day, reason), ids in _grouped((m for m in moves if m.before == P.PAID),
                                       lambda m: (m.day, m.reason)).items():
        apply(ids, P.PAID, state=P.RETURNED, returned_on=day, failure_reason=reason)


def _fill_account_hash(ids: list[int]) -> None:
    """A returned payout whose account was never recorded (its file was written before
    the 序号 were kept) takes the member's account now: the closed one."""
    member_hash = Subquery(Claim.objects.filter(pk=OuterRef("claim_id"))
                           .values("member__bank_account_hash")[:1])
    for chunk in id_chunks(sorted(ids)):
        by_ids(Payout.objects.filter(account_hash=""), chunk).update(account_hash=member_hash)


@dataclass(frozen=True)
class _ClaimInfo:
    period_id: int | None
    name: str
    benefit: str


def _claim_info(claim_ids: list[int]) -> dict[int, _ClaimInfo]:
    out = {}
    for chunk in id_chunks(sorted(claim_ids)):
        for pk, period_id, name, benefit in by_ids(Claim.objects, chunk).values_list(
                "pk", "period_id", "member__name", "benefit_name"):
            out[pk] = _ClaimInfo(period_id, name, benefit)
    return out


LEDGER_COLUMNS = ("scheme_id", "period_id", "booked_on", "kind", "debit", "credit", "amount",
                  "reference", "memo", "created_by_id", "created_at")


def _post_ledger(user: User, batch: PayoutBatch, moves: list[Move]) -> None:
    """The payment of each newly paid payout (a pending one returned too: it was paid),
    and the mirror of each returned one. Written in bulk: the (kind, reference)
    uniqueness still makes a second posting of the same payout fail the transaction."""
    posting = [m for m in moves if m.before == P.PENDING and m.after != P.FAILED]
    returned = [m for m in moves if m.after == P.RETURNED]
    info = _claim_info([m.claim_id for m in posting + returned])
    now = db_now()
    adapt = connection.ops.adapt_datefield_value
    created_by = user.pk if getattr(user, "pk", None) else None
    rows = []
    for m in posting:
        c = info[m.claim_id]
        rows.append((batch.scheme_id, c.period_id, adapt(m.day), LedgerEntry.Kind.PAYOUT,
                     Account.BENEFIT_EXPENSE, Account.BANK, db_money(m.amount),
                     f"payout:{m.payout_id}",
                     f"给付 {batch.number} {m.number} {c.name} {c.benefit}"[:200],
                     created_by, now))
    for m in returned:
        c = info[m.claim_id]
        rows.append((batch.scheme_id, c.period_id, adapt(m.day), LedgerEntry.Kind.PAYOUT,
                     Account.BANK, Account.BENEFIT_EXPENSE, db_money(m.amount),
                     f"payout-return:{m.payout_id}",
                     f"退票 {batch.number} {m.number} {c.name}：{m.reason}"[:200],
                     created_by, now))
    for start in range(0, len(rows), 50_000):
        insert(LedgerEntry, LEDGER_COLUMNS, rows[start:start + 50_000])


def _claims(batch: PayoutBatch, ids: list[int]) -> list[Claim]:
    claims = list(Claim.objects.filter(pk__in=ids).select_related("member__union")
                  .only("id", "number", "state", "final", "benefit_name", "scheme_id",
                        "member__name", "member__phone", "member__union_id",
                        "member__union__path", "member__union__name").order_by("pk"))
    for claim in claims:
        claim.scheme = batch.scheme  # one scheme per batch, with its union loaded
    return claims


class _PaidAmounts:
    """A claim's paid payouts, read for many claims at once, answering the one question
    the 已给付 SMS text asks of ``claim.payouts`` (their amounts, in order): a query per
    claim was most of a million-claim reconciliation."""

    def __init__(self, amounts: list[Decimal]) -> None:
        self.amounts = amounts

    def filter(self, **_: object) -> _PaidAmounts:
        return self

    def order_by(self, *_: str) -> _PaidAmounts:
        return self

    def values_list(self, *_: str, flat: bool = False) -> list[Decimal]:
        return list(self.amounts)


def _light_claims(batch: PayoutBatch, ids: list[int], state: str) -> list[Claim]:
    """The paid claims as the history, the audit rows and the SMS text read them: plain
    objects from two narrow queries (a select_related of claim, member and union, and
    the SMS text's own query of each claim's paid payouts, were a third of a
    million-claim reconciliation)."""
    amounts: dict[int, list[Decimal]] = defaultdict(list)
    for claim_id, amount in (Payout.objects.filter(claim_id__in=ids, state=P.PAID)
                             .order_by("claim_id", "pk").values_list("claim_id", "amount")):
        amounts[claim_id].append(amount)
    out = []
    rows = (Claim.objects.filter(pk__in=ids).order_by("pk")
            .values_list("pk", "number", "final", "benefit_name", "member_id",
                         "member__name", "member__phone", "member__union_id",
                         "member__union__path"))
    for pk, number, final, benefit, member_id, name, phone, union_id, path in rows:
        member = SimpleNamespace(pk=member_id, name=name, phone=phone, union_id=union_id,
                                 union=SimpleNamespace(path=path))
        out.append(SimpleNamespace(pk=pk, number=number, final=final, benefit_name=benefit,
                                   member_id=member_id, member=member, scheme=batch.scheme,
                                   state=state, payouts=_PaidAmounts(amounts[pk])))
    return cast(list[Claim], out)


def _move_claims(user: User, batch: PayoutBatch, result: Plan, now: dt.datetime) -> None:
    def check(moved: int, wanted: int) -> None:
        if moved != wanted:
            raise ClaimRefused("给付与理赔状态不一致，未做任何改动，请联系管理员")

    where = f"批次 {batch.number}，回盘文件 {result.file_name}"
    paid = result.paid
    if paid:
        # By primary key, 50,000 a statement: an IN over the payouts just paid got a
        # sequential plan on the freshly copied payouts (10 s a batch of 10,000).
        ids = [m.claim_id for m in paid]
        check(_move(ids, S.IN_BATCH, state=S.PAID, paid_at=now, updated_at=now), len(ids))
    for start in range(0, len(paid), CLAIM_CHUNK):
        part = paid[start:start + CLAIM_CHUNK]
        for day, moves in _by_day(part).items():
            claims = _light_claims(batch, [m.claim_id for m in moves], S.PAID)
            record_step(user, claims, "pay", S.IN_BATCH, S.PAID,
                        f"{where}，付款日期 {day:%Y-%m-%d}", signal=False)
            _paid_sms(claims, {m.claim_id: m.payout_id for m in moves})
    for reason, moves in _by_reason(result.failed).items():
        ids = [m.claim_id for m in moves]
        check(_move(ids, S.IN_BATCH, state=S.APPROVED, updated_at=now), len(ids))
        claims = _claims(batch, ids)
        for claim in claims:
            claim.state = S.APPROVED
        record_step(user, claims, "fail", S.IN_BATCH, S.APPROVED,
                    f"{where}，付款失败：{reason}")
    for before in (P.PENDING, P.PAID):
        returned = [m for m in result.returned if m.before == before]
        claim_before = S.IN_BATCH if before == P.PENDING else S.PAID
        for (day, reason), moves in _by_day_reason(returned).items():
            ids = [m.claim_id for m in moves]
            check(_move(ids, claim_before, state=S.APPROVED, paid_at=None, updated_at=now),
                  len(ids))
            claims = _claims(batch, ids)
            for claim in claims:
                claim.state, claim.paid_at = S.APPROVED, None
            # The receiver of claim_transitioned sends the 退票 SMS (claims.notifications).
            record_step(user, claims, RETURN_STEP, claim_before, S.APPROVED,
                        f"{where}，{day:%Y-%m-%d} 银行退票：{reason}；待更正账号后重新给付",
                        label=RETURN_LABEL)


def _move(claim_ids: list[int], before: str, **values: object) -> int:
    """Claims ``before`` → ``values`` by primary key, one UPDATE per chunk of
    :func:`~huzhu.claims.payouts.build.id_chunks`; the count moved."""
    return sum(by_ids(Claim.objects.filter(state=before), chunk).update(**values)
               for chunk in id_chunks(sorted(claim_ids)))


def _by_day(moves: list[Move]) -> dict[dt.date, list[Move]]:
    out: dict[dt.date, list[Move]] = defaultdict(list)
    for m in moves:
        out[m.day].append(m)
    return out


def _by_reason(moves: list[Move]) -> dict[str, list[Move]]:
    out: dict[str, list[Move]] = defaultdict(list)
    for m in moves:
        out[m.reason].append(m)
    return out


def _by_day_reason(moves: list[Move]) -> dict[tuple[dt.date, str], list[Move]]:
    out: dict[tuple[dt.date, str], list[Move]] = defaultdict(list)
    for m in moves:
        out[(m.day, m.reason)].append(m)
    return out


def _paid_sms(claims: list[Claim], payout_of: dict[int, int]) -> None:
    """The 已给付 SMS of :mod:`huzhu.claims.notifications` for each claim, in bulk (the
    receiver of ``claim_transitioned`` writes one row per call)."""
    kind = "claims.paid"
    drafts = []
    for claim in claims:
        text = notifications.text_for(claim, kind)
        if not text or not claim.member.phone:
            continue
        drafts.append(outbox.Draft(
            kind=kind, to=claim.member.phone, text=text[:500], member=claim.member_id,
            union=claim.member.union_id,
            dedupe_key=f"{kind}:{claim.pk}:payout:{payout_of[claim.pk]}",
            params={"name": claim.member.name, "benefit": claim.benefit_name,
                    "number": claim.number, "amount": yuan(claim.final)}))
    outbox.enqueue_many(drafts)
