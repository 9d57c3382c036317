"""Building a payout batch (给付批次): finance groups a scheme's approved claims, each
checked as ``workflow.why_not`` would, into one open batch of pending payouts.

A claim is in at most one pending payout: the database says so (a partial unique index
on ``Payout``), the code checks it first to give a reason. A batch of ten thousand claims
is written set-based (:mod:`huzhu.claims.payouts.writes`): a few statements, not a
``workflow.apply`` per claim, with the same role and scope rules.

:func:`build_batches` is what the payouts page and ``huzhu payouts build`` both call:
the ready claims grouped by the union that pays them (:func:`paying_unions`), at most
``max_per_batch`` in each batch. A claim whose payment the bank returned (退票) waits
for a corrected account (待更正账号): it is ready again only once the member's bank
account differs from the one the returned payment went to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Manager,
    Model,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import duplicates, workflow
from huzhu.claims.models import Claim, ClaimEvent, Payout, PayoutBatch
from huzhu.claims.payouts.access import refusals_audited, require_pay
from huzhu.claims.payouts.writes import chunks, db_money, db_now, insert, move, record_step
from huzhu.claims.workflow import ClaimRefused
from huzhu.coverage.models import Scheme
from huzhu.lib import crypto
from huzhu.lib.money import MoneySum
from huzhu.orgs.models import Union, User
from huzhu.rules.money import to_fen, yuan

S = Claim.State
M = TypeVar("M", bound=Model)
ZERO = Decimal("0.00")


# ---------------------------------------------------------------- ready for a batch

DEFAULT_MAX_PER_BATCH = 50_000
# Unions that keep accounts and pay their members' claims (a grassroots union does not).
PAYING_LEVELS = (Union.Level.PROVINCE, Union.Level.CITY, Union.Level.DISTRICT)


def _approved(user: User, scheme: Scheme) -> QuerySet[Claim]:
    return (Claim.objects.visible_to(user)
            .filter(scheme=scheme, state=S.APPROVED, final__gt=0)
            .exclude(payouts__state=Payout.State.PENDING))


def _returned_to_same_account() -> Exists:
    """The claim has a payout the bank returned (退票) that went to the account the
    member still has: paying it again would go to the closed account."""
    return Exists(Payout.objects.filter(claim_id=OuterRef("pk"), state=Payout.State.RETURNED,
                                        account_hash=OuterRef("member__bank_account_hash")))


def ready_claims(user: User, scheme: Scheme) -> QuerySet[Claim]:
    """Approved claims of the scheme in the user's scope with a positive approved amount,
    no pending payout and no 退票 waiting for a corrected account (with or without a
    bank account)."""
    return _approved(user, scheme).exclude(_returned_to_same_account())


def awaiting_correction(user: User, scheme: Scheme) -> QuerySet[Claim]:
    """Approved claims held back after a 退票 until the member's account is corrected
    (待更正账号)."""
    return _approved(user, scheme).filter(_returned_to_same_account())


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
    awaiting_correction: int = 0

    @property
    def any(self) -> bool:
        return self.count > 0 or self.without_account > 0 or self.awaiting_correction > 0


def readiness(user: User, scheme: Scheme) -> Ready:
    qs = ready_claims(user, scheme)
    payable = qs.filter(member__bank_account_sealed__isnull=False)
    with_account = payable.aggregate(n=Count("pk"), total=MoneySum("final"))
    # Less what was paid already: a 复核 that raised a paid claim is owed the difference.
    paid = Payout.objects.filter(claim__in=payable.values("pk"), state=Payout.State.PAID
                                 ).aggregate(t=MoneySum("amount"))["t"] or ZERO
    return Ready(scheme, with_account["n"], to_fen((with_account["total"] or ZERO) - paid),
                 qs.filter(member__bank_account_sealed__isnull=True).count(),
                 awaiting_correction(user, scheme).count())


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
                                    "member__name", "member__union__path", "member_id",
                                    "benefit", "event_date", "admit_date", "settlement_id",
                                    "invoice_number", "duplicate_override_by_id")
                              .order_by("pk"))
    if claim_ids is None:
        claims = list(base.filter(pk__in=ready_claims(user, scheme).values("pk")))
    else:
        wanted = sorted(set(claim_ids))
        visible = base.filter(pk__in=Claim.objects.visible_to(user).values("pk"))
        claims = [c for chunk in chunks(wanted) for c in visible.filter(pk__in=chunk)]
        if len(claims) != len(wanted):
            # Never which ones: a claim outside the scope does not exist for the user.
            raise ClaimRefused(f"有 {len(wanted) - len(claims)} 件理赔不存在或不在您的管辖范围内")
    picked = _Picked()
    held = duplicates.refusals(claims)
    for claim in claims:
        problem = (workflow.why_not(user, claim, "batch") or _not_payable(claim, scheme)
                   or held.get(claim.pk))
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



@refusals_audited
def build_batch(user: User, scheme: Scheme, claim_ids: Iterable[int] | None = None,
                *, union: Union | None = None) -> PayoutBatch:
    """A new open batch of the scheme's approved claims (``claim_ids``: only these, each
    of which must be ready; None: every ready one in the user's scope), paid by
    ``union`` (default: the user's union).

    Claims whose member has no bank account are left out; the batch returned carries
    them as ``batch.without_account`` (a list of claims) for the caller to report.
    """
    require_pay(user, workflow.TRANSITIONS["batch"].label)
    with transaction.atomic():
        picked = _candidates(user, scheme, claim_ids)
        if claim_ids is not None:
            held = _awaiting_ids([c.pk for c in picked.payable])
            if held:
                number = next(c.number for c in picked.payable if c.pk in held)
                raise ClaimRefused(f"理赔 {number}：银行已退票，须先更正会员的银行账号"
                                   "（待更正账号）才能再次给付")
        if not picked.payable:
            raise ClaimRefused(_nothing_to_batch(picked))
        batch = _new_batch(user, scheme, union)
        now = db_now()
        owed = _owed(picked.payable)
        try:
            with transaction.atomic():
                insert(Payout, ("batch_id", "claim_id", "amount", "state", "failure_reason",
                                 "account_hash", "updated_at"),
                        [(batch.pk, c.pk, db_money(owed[c.pk]), Payout.State.PENDING, "", "",
                          now) for c in picked.payable])
        except IntegrityError:
            raise ClaimRefused("有理赔已在另一个待付款的批次中，请刷新后重试") from None
        moved = move([c.pk for c in picked.payable], S.APPROVED, state=S.IN_BATCH)
        if moved != len(picked.payable):
            raise ClaimRefused("有理赔刚被他人处理，请刷新后重试")
        for claim in picked.payable:
            claim.state = S.IN_BATCH
        note = f"加入给付批次 {batch.number}"
        record_step(user, picked.payable, "batch", S.APPROVED, S.IN_BATCH, note)
        total = sum(owed.values(), ZERO)
        log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
                   summary=f"生成给付批次 {batch.number}（{scheme.name}）："
                           f"{len(picked.payable)} 笔，合计 {yuan(total)} 元"
                           + (f"；{len(picked.no_account)} 件因无银行账号未纳入"
                              if picked.no_account else ""),
                   changes={"count": len(picked.payable), "total": str(total),
                            "without_account": [c.number for c in picked.no_account][:200]})
    batch.without_account = picked.no_account
    return batch


def _owed(claims: list[Claim]) -> dict[int, Decimal]:
    """Claim id → what the batch pays: the approved amount less what the claim's paid
    payouts already paid (nothing, but for a claim whose 复核 raised a paid amount:
    huzhu.claims.appeals; then the difference)."""
    paid: dict[int, Decimal] = {}
    for chunk in chunks(sorted(c.pk for c in claims)):
        paid.update(Payout.objects.filter(claim_id__in=chunk, state=Payout.State.PAID)
                    .values("claim_id").annotate(s=MoneySum("amount"))
                    .values_list("claim_id", "s").order_by())
    owed = {c.pk: to_fen(c.final - paid.get(c.pk, ZERO)) for c in claims}
    if (number := next((c.number for c in claims if owed[c.pk] <= 0), None)) is not None:
        raise ClaimRefused(f"理赔 {number}：核定金额已全额给付，不能再次给付")
    return owed


def _nothing_to_batch(picked: _Picked) -> str:
    if picked.no_account:
        return (f"没有可以加入给付批次的理赔：{len(picked.no_account)} 件已审批的理赔因会员"
                "没有登记银行账号不能给付，请先补录银行账号")
    return "没有可以加入给付批次的理赔（须已审批、核定金额大于零且不在其他待付款批次中）"


def _awaiting_ids(claim_ids: list[int]) -> set[int]:
    """Those of ``claim_ids`` waiting for a corrected account after a 退票."""
    held: set[int] = set()
    for chunk in chunks(sorted(claim_ids)):
        held.update(Claim.objects.filter(pk__in=chunk).filter(_returned_to_same_account())
                    .values_list("pk", flat=True))
    return held


def _new_batch(user: User, scheme: Scheme, union: Union | None = None) -> PayoutBatch:
    if union is None:
        union = user.union if user.union_id else scheme.union
    batch = PayoutBatch.objects.create(
        number=f"tmp-{crypto.blind_index(str(timezone.now()) + str(user.pk))[:12]}",
        scheme=scheme, union=union, created_by=user)
    batch.number = f"GF{timezone.localdate():%Y}{batch.pk:07d}"
    batch.save(update_fields=["number"])
    return batch


# ---------------------------------------------------------------- many batches at once

def paying_unions(user: User, union_ids: Iterable[int]) -> dict[int, Union]:
    """Member's union id → the union that pays its members' claims: the nearest union
    above or at it that keeps accounts (a district, city or province union) and lies in
    the user's scope; the user's own union when there is none (a grassroots finance
    user pays its own members)."""
    wanted = set(union_ids)
    paths = dict(Union.objects.filter(pk__in=wanted).values_list("pk", "path"))
    chains = {pk: [int(p) for p in path.strip("/").split("/") if p]
              for pk, path in paths.items()}
    known = Union.objects.in_bulk({a for chain in chains.values() for a in chain} | wanted)
    own = user.union if user.union_id else None
    prefix = own.path if own is not None else ""
    out: dict[int, Union] = {}
    for pk in wanted:
        payer = next((known[a] for a in reversed(chains.get(pk, []))
                      if a in known and known[a].level in PAYING_LEVELS
                      and known[a].path.startswith(prefix)), None)
        out[pk] = payer or own or known[pk]
    return out


@dataclass
class Built:
    """The batches one build made, and the claims left out for want of a bank account."""

    batches: list[PayoutBatch]
    without_account: list[Claim]


def build_batches(user: User, scheme: Scheme, max_per_batch: int = DEFAULT_MAX_PER_BATCH
                  ) -> Built:
    """Every ready claim of the scheme in the user's scope, in new open batches: one
    group per paying union (:func:`paying_unions`), cut into batches of at most
    ``max_per_batch`` claims, in claim order. All or none: one transaction. Claims whose
    member has no bank account are left out and returned with the batches.

    Set-based (a million claims): the candidates come from one query with what each
    batch pays, the checks of :func:`build_batch` run over the whole set (the duplicate
    rule only for the claims SQL finds a possible twin of), and each batch is a COPY of
    its payouts and history rows plus a state-guarded UPDATE of its claims, with one
    audit entry per batch; each claim's history row says what the per-claim audit entry
    of :func:`build_batch` says (step, states, amount, batch)."""
    require_pay(user, workflow.TRANSITIONS["batch"].label)
    if max_per_batch < 1:
        raise ClaimRefused("每个批次的笔数至少为 1")
    with transaction.atomic():
        ready = ready_claims(user, scheme)
        rows: list[_Row] = list(ready.filter(member__bank_account_sealed__isnull=False)
                    .annotate(twin=_possible_twin())
                    .order_by("pk").values_list("pk", "member__union_id", "number", "final",
                                                "twin", "duplicate_override_by_id"))
        if not rows:
            # The same reasons as a single batch: no account, nothing approved.
            build_batch(user, scheme)
        _check_all(user, scheme, rows)
        owed = _owed_all(rows)
        finals = {pk: final or ZERO for pk, _, _, final, *_ in rows}
        payers = paying_unions(user, {union_id for _, union_id, *_ in rows})
        groups: dict[int, list[int]] = {}
        for pk, union_id, *_ in rows:
            groups.setdefault(payers[union_id].pk, []).append(pk)
        by_id = {u.pk: u for u in payers.values()}
        left_out = list(without_account(user, scheme).select_related("member")
                        .order_by("pk"))
        batches: list[PayoutBatch] = []
        for payer_id in sorted(groups, key=lambda k: by_id[k].path):
            ids = groups[payer_id]
            for start in range(0, len(ids), max_per_batch):
                batches.append(_write_batch(user, scheme, by_id[payer_id],
                                            ids[start:start + max_per_batch], owed, finals,
                                            left_out if not batches else []))
    return Built(batches, left_out)


# A candidate: id, member's union id, number, approved amount, possible twin, override.
_Row = tuple[int, int, str, "Decimal | None", Any, "int | None"]


def _possible_twin() -> Exists:
    """Another live claim of the member that may make this one a duplicate: a superset
    of :func:`huzhu.claims.duplicates.why` in SQL (same benefit and settlement or scheme,
    or the same invoice), so that the exact rule runs in Python on these few only. A
    claim someone confirmed as not a duplicate is never held back when batched."""
    same = (Q(benefit=OuterRef("benefit"))
            & (Q(settlement_id=OuterRef("settlement_id")) | Q(scheme_id=OuterRef("scheme_id")))
            | (Q(invoice_number=OuterRef("invoice_number")) & ~Q(invoice_number="")))
    return Exists(Claim.objects.filter(same, member_id=OuterRef("member_id"))
                  .exclude(pk=OuterRef("pk")).exclude(state__in=duplicates.DEAD))


def _check_all(user: User, scheme: Scheme, rows: list[_Row]) -> None:
    """:func:`_candidates`'s checks over the whole set. The query asked for approved
    claims of the scheme in the user's scope with a positive amount, so of
    ``workflow.why_not`` only the role is left (the same for every claim: asked of the
    first) and of the duplicate rule only the claims with a possible twin."""
    first = Claim.objects.select_related("member__union").get(pk=rows[0][0])
    if problem := workflow.why_not(user, first, "batch") or _not_payable(first, scheme):
        raise ClaimRefused(f"理赔 {first.number}：{problem}")
    suspects = [pk for pk, _, _, _, twin, override in rows if twin and override is None]
    for start in range(0, len(suspects), BULK):
        claims = list(Claim.objects.filter(pk__in=suspects[start:start + BULK])
                      .only(*duplicates.FIELDS[1:], "duplicate_override_by_id").order_by("pk"))
        held = duplicates.refusals(claims)
        if held:
            claim = next(c for c in claims if c.pk in held)
            raise ClaimRefused(f"理赔 {claim.number}：{held[claim.pk]}")


def _owed_all(rows: list[_Row]) -> dict[int, Decimal]:
    """:func:`_owed` for the whole set: the paid payouts of approved claims are few (a
    复核 that raised a paid claim), read in one query."""
    ids = {pk for pk, *_ in rows}
    paid: dict[int, Decimal] = {}
    for claim_id, amount in (Payout.objects.filter(state=Payout.State.PAID,
                                                   claim__state=S.APPROVED)
                             .values_list("claim_id", "amount").order_by()):
        if claim_id in ids:
            paid[claim_id] = paid.get(claim_id, ZERO) + amount
    owed = {}
    for pk, _, number, final, *_ in rows:
        owed[pk] = to_fen((final or ZERO) - paid.get(pk, ZERO))
        if owed[pk] <= 0:
            raise ClaimRefused(f"理赔 {number}：核定金额已全额给付，不能再次给付")
    return owed


BULK = 50_000  # ids per statement on PostgreSQL (one array parameter)
SQLITE_BULK = 5_000  # SQLite: one parameter per id, under its bound


def id_chunks(ids: list[int]) -> list[list[int]]:
    size = BULK if connection.vendor == "postgresql" else SQLITE_BULK
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def id_filter(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """``column`` in ``ids`` as SQL and its parameters: one array on PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def by_ids(qs: QuerySet[M] | Manager[M], ids: list[int]) -> QuerySet[M]:
    """``qs`` narrowed to primary keys ``ids`` (one of :func:`id_chunks`): one array
    parameter on PostgreSQL, where fifty thousand placeholders cost seconds of parsing."""
    qs = qs.all()
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(qs.model._meta.db_table)
        return qs.filter(ExpressionWrapper(RawSQL(f"{table}.id = ANY(%s)", [ids]),
                                           output_field=BooleanField()))
    return qs.filter(pk__in=ids)


def _write_batch(user: User, scheme: Scheme, union: Union, ids: list[int],
                 owed: dict[int, Decimal], finals: dict[int, Decimal],
                 left_out: list[Claim]) -> PayoutBatch:
    batch = _new_batch(user, scheme, union)
    now = db_now()
    try:
        with transaction.atomic():
            insert(Payout, ("batch_id", "claim_id", "amount", "state", "failure_reason",
                            "account_hash", "updated_at"),
                   [(batch.pk, pk, db_money(owed[pk]), Payout.State.PENDING, "", "", now)
                    for pk in ids])
    except IntegrityError:
        raise ClaimRefused("有理赔已在另一个待付款的批次中，请刷新后重试") from None
    q = connection.ops.quote_name
    moved = 0
    with connection.cursor() as cursor:
        for chunk in id_chunks(ids):
            # Guarded by the state: a claim another builder took meanwhile is not moved
            # and the count tells (the partial unique index stops its second payout).
            where, params = id_filter(q("id"), chunk)
            cursor.execute(f"UPDATE {q(Claim._meta.db_table)} SET {q('state')} = %s, "
                           f"{q('updated_at')} = %s WHERE {q('state')} = %s AND {where}",
                           [S.IN_BATCH, now, S.APPROVED, *params])
            moved += cursor.rowcount
    if moved != len(ids):
        raise ClaimRefused("有理赔刚被他人处理，请刷新后重试")
    note = f"加入给付批次 {batch.number}"[:300]
    insert(ClaimEvent, ("claim_id", "at", "actor_id", "action", "from_state", "to_state",
                        "note", "amount"),
           [(pk, now, user.pk, "batch", S.APPROVED, S.IN_BATCH, note, db_money(finals[pk]))
            for pk in ids])
    total = to_fen(sum((owed[pk] for pk in ids), ZERO))
    log.record(user, AuditEntry.Action.PAYOUT_CHANGED, batch,
               summary=f"生成给付批次 {batch.number}（{scheme.name}）："
                       f"{len(ids)} 笔，合计 {yuan(total)} 元"
                       + (f"；{len(left_out)} 件因无银行账号未纳入" if left_out else ""),
               changes={"count": len(ids), "total": str(total),
                        "without_account": [c.number for c in left_out][:200]})
    return batch
