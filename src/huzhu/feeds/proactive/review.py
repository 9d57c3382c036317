"""Review by exception (抽样复核) of a proactive run (免申即享): a sample of its
straight-through claims is reviewed as ordinary claims, then all the others are approved
in one decision — the service behind the run page's panel and ``huzhu proactive sample``
/ ``approve``.

**Straight-through** (直通理赔): a claim the run filed (its outcome ``proposed``), still
in 免申即享待审核 (never submitted, so never edited: only a draft or a returned claim can
be), with no person's edit in its history, an amount up to the scheme's ceiling, and no
review signal (:mod:`huzhu.claims.flags`, the five rules as SQL). The rest of the run's
claims go through ordinary two-level review, unchanged.

**The sample**: a reviewer (a role that may take 初审) draws a percentage of the
straight-through claims at random — ``random.Random(seed).sample`` over their sorted
ids, so the same seed and the same claims draw the same sample — plus any claims of the
run they add. The run's starter may draw it: the claims are filed by the system account
and starting a run states no fact of any claim (issue 21), so four eyes stands between
the one who draws and the one who approves, not between the starter and either.

**The decision**: a second person (a role that may take 复审, never the one who drew the
sample) approves all the other straight-through claims at once. Refused while a sampled
claim is open; when the share of sampled claims not given (不予给付 or withdrawn) or
given for less than the run's amount exceeds the threshold, the run goes to full review
(recorded: its claims stay in 免申即享待审核 and take the ordinary steps). Otherwise the
claims are approved set-based, in chunks of :data:`CHUNK` in their own transactions: one
UPDATE (state, amount, approver, time, the decision's number), their history rows and
the members' SMS in bulk. Approval moves no money in the ledger (a payout does, when it
is paid), so there is nothing else to post.

**Caps**: the run's amounts were the engine's against the history at run time, with the
run's own claims consuming caps in event order. A claim approved since then for the same
family in the scheme (by a reviewer, or a sampled claim approved on its own) was not in
that history, so every straight-through claim of that family drops out of the decision
to ordinary review, where approval recomputes against everything given. One query finds
them: the families (the head's id, ``COALESCE(family_head_id, member_id)``) of the
scheme's claims given with ``approved_at`` at or after the run started, other than those
this decision approved itself (a resumed decision's earlier chunks).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.claims import flags
from huzhu.claims.models import Claim, ClaimEvent
from huzhu.claims.notifications import text_for
from huzhu.feeds.models.proactive import (
    BatchRun,
    ProactiveSample,
    ProactiveSampleClaim,
    StayOutcome,
)
from huzhu.lib.errors import Refused
from huzhu.lib.money import MoneySum
from huzhu.lib.sql import is_postgresql, quote
from huzhu.notify.outbox import Draft, enqueue_many
from huzhu.orgs import roles
from huzhu.orgs.models import User
from huzhu.orgs.scope import sees_everything, union_path
from huzhu.rules.money import to_fen, yuan

S = Claim.State
REVIEW = "claims.review"  # 初审 and 复审 alike (the workflow's capability)
CHUNK = 50_000  # claims approved per transaction on PostgreSQL
CHUNK_SQLITE = 10_000  # under SQLite's limit of bound parameters
NOT_GIVEN = (S.REJECTED, S.WITHDRAWN)
MAX_SEED = 2**63 - 1
NOTE = "批量核准：第 {n} 号抽样复核决定"
LOCK_CLASS = 23023  # the advisory locks' first key: a sample's decision in progress


class ReviewRefused(Refused):
    """The draw or the decision may not be taken; nothing changed. Chinese message."""


@dataclass(frozen=True)
class StraightThrough:
    count: int
    amount: Decimal


@dataclass(frozen=True)
class SampleProgress:
    size: int
    open: int
    given: int  # approved for the run's amount
    rejected: int  # 不予给付 or withdrawn
    lowered: int  # approved for less

    @property
    def share(self) -> Decimal:
        """Rejected or lowered, percent of the sample, two places."""
        if not self.size:
            return Decimal("0.00")
        return (Decimal(self.rejected + self.lowered) * 100 / self.size).quantize(
            Decimal("0.01"))

    def over(self, threshold: Decimal) -> bool:
        """Exactly (not the rounded share): (rejected + lowered) / size > threshold %."""
        return (self.rejected + self.lowered) * 100 > threshold * self.size


@dataclass
class Decision:
    """What one ``approve`` did: ``approved`` claims now (0 when refused or already
    decided), and ``refusal`` when refused. ``message`` says it in Chinese."""

    sample: ProactiveSample
    approved: int = 0
    amount: Decimal = Decimal("0.00")
    dropped: int = 0
    refusal: str = ""
    already: bool = False
    message: str = ""


# ------------------------------------------------------------------ straight-through

def run_claims(run: BatchRun) -> QuerySet[Claim]:
    """The claims the run filed (its outcomes ``proposed``), whatever their state."""
    filed = StayOutcome.objects.filter(run=run, outcome=StayOutcome.Outcome.PROPOSED,
                                       claim__isnull=False).values("claim_id")
    return Claim.objects.filter(pk__in=filed)


def _untouched(run: BatchRun, ceiling: Decimal) -> QuerySet[Claim]:
    """Straight-through but for the signals: still as the run filed them, up to the
    ceiling, never edited by a person."""
    edited = ClaimEvent.objects.filter(claim_id=OuterRef("pk"), action="edit")
    return (run_claims(run).filter(source=Claim.Source.PROACTIVE, state=S.PROACTIVE,
                                   computed__lte=ceiling)
            .exclude(Exists(edited)))


def flagged_ids(qs: QuerySet[Claim]) -> set[int]:
    """The claims of ``qs`` with any review signal (one query per signal, each probing
    the claims' few neighbours by index)."""
    found: set[int] = set()
    for code in flags.FLAG_LABELS:
        found.update(flags.with_flag(qs.order_by(), code).values_list("pk", flat=True))
    return found


def straight_through_rows(run: BatchRun, ceiling: Decimal) -> list[tuple[int, Decimal]]:
    """The run's straight-through claims as (id, amount), sorted by id (the draw's
    order)."""
    qs = _untouched(run, ceiling)
    flagged = flagged_ids(qs)
    rows: list[tuple[int, Decimal]] = []
    for pk, amount in qs.order_by("pk").values_list("pk", "computed").iterator(
            chunk_size=50_000):
        if pk not in flagged and amount is not None:  # never None: computed <= ceiling
            rows.append((pk, amount))
    return rows


def straight_through(run: BatchRun, ceiling: Decimal | None = None) -> StraightThrough:
    """How many claims of the run may go straight through now, and their amount."""
    rows = straight_through_rows(run, run.scheme.straight_through_upto if ceiling is None
                                 else ceiling)
    return StraightThrough(len(rows), to_fen(sum((a for _, a in rows), Decimal("0.00"))))


# ------------------------------------------------------------------ who may

def _role_may(user: User) -> bool:
    return user.is_active and (sees_everything(user) or user.role in roles.roles_with(REVIEW))


def _sees_whole_run(user: User, run: BatchRun) -> bool:
    """The sample is drawn from the whole run, the decision covers all of it: for those
    who see every member the run could reach (its node's subtree; a run the system
    started, with no node, reaches the scheme's union's)."""
    prefix = union_path(user)
    if prefix is None:
        return True
    node = run.union if run.union is not None else run.scheme.union
    return node.path.startswith(prefix)


def why_not_draw(user: User, run: BatchRun) -> str | None:
    if not _role_may(user):
        return "您的角色不能抽取复核样本，须由审核员或管理员办理"
    if not _sees_whole_run(user, run):
        return "该测算的会员不全在您的管辖范围内，须由上级工会的审核人员抽样"
    if run.status != BatchRun.Status.DONE:
        return f"测算当前为“{run.get_status_display()}”，完成后才能抽样"
    sample = ProactiveSample.objects.filter(run=run).first()
    if sample is not None:
        return (f"该测算已于 {timezone.localtime(sample.drawn_at):%Y-%m-%d %H:%M} 由 "
                f"{sample.drawn_by} 抽样（第 {sample.pk} 号抽样复核决定，样本 {sample.size:,} "
                "笔），不能重复抽样")
    return None


def why_not_approve(user: User, sample: ProactiveSample) -> str | None:
    """Who may take the decision (the sample's state is checked by :func:`approve`)."""
    if not _role_may(user):
        return "您的角色不能批量核准，须由另一位审核员或管理员办理"
    if not _sees_whole_run(user, sample.run):
        return "该测算的会员不全在您的管辖范围内，须由上级工会的审核人员批量核准"
    if sample.drawn_by_id == user.pk:
        return "您抽取了这份样本，批量核准须由另一位审核人员办理（双人审核）"
    return None


# ------------------------------------------------------------------ the draw

def parse_percent(raw: object) -> Decimal:
    """A percentage above 0 and at most 100, with at most two places."""
    try:
        value = Decimal(str(raw).strip().removesuffix("%"))
    except (InvalidOperation, ValueError):
        raise ReviewRefused(f"抽样比例“{raw}”不是数字，请填写 0 至 100 之间的百分数，"
                            "如 1 或 0.5") from None
    if not value.is_finite() or value <= 0 or value > 100 or value != value.quantize(
            Decimal("0.01")):
        raise ReviewRefused(f"抽样比例应大于 0、不超过 100，最多两位小数（收到 {raw}）")
    return value


def shown_percent(value: Decimal) -> str:
    """A percentage as people write it: 10, 0.5, 2.25 (not 10.00)."""
    text = f"{Decimal(value).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def sample_size(population: int, percent: Decimal) -> int:
    """The percentage of ``population``, rounded up (a 1% sample of 150 claims is 2)."""
    return min(population, math.ceil(Decimal(population) * percent / 100))


def draw_ids(ids: Sequence[int], percent: Decimal, seed: int) -> list[int]:
    """The sample of ``ids`` (sorted) for ``seed``: the same seed, the same sample."""
    picked = random.Random(seed).sample(list(ids), sample_size(len(ids), percent))
    return sorted(picked)


def draw(user: User, run: BatchRun, *, percent: object, seed: int | None = None,
         add: Iterable[int] = ()) -> ProactiveSample:
    """Draw and record the run's sample; raises :class:`ReviewRefused` (nothing
    recorded) when ``user`` may not, the input is wrong, or there is nothing to draw."""
    pct = parse_percent(percent)
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    if not 0 <= seed <= MAX_SEED:
        raise ReviewRefused(f"随机种子应为 0 至 {MAX_SEED} 之间的整数")
    with transaction.atomic():
        # One draw per run, even from two pages at once: the run's row is the lock.
        run = BatchRun.objects.select_for_update(of=("self",)).select_related(
            "scheme__union", "union").get(pk=run.pk)
        problem = why_not_draw(user, run)
        if problem:
            raise ReviewRefused(problem)
        scheme = run.scheme
        ceiling = scheme.straight_through_upto
        rows = straight_through_rows(run, ceiling)
        if not rows:
            raise ReviewRefused(f"该测算没有可直通的理赔（金额不超过 {yuan(ceiling)} 元、"
                                "无审核提示、仍待审核），全部按普通两级审核办理")
        ids = [pk for pk, _ in rows]
        amounts = dict(rows)
        picked = draw_ids(ids, pct, seed)
        extra = _added(run, add, set(picked))
        total = to_fen(sum(amounts.values(), Decimal("0.00")))
        sample = ProactiveSample.objects.create(
            run=run, seed=seed, percent=pct, ceiling=ceiling, threshold=scheme.sample_threshold,
            straight_through=len(ids), straight_amount=total, drawn=len(picked),
            added=len(extra), size=len(picked) + len(extra), drawn_by=user,
            drawn_at=timezone.now())
        ProactiveSampleClaim.objects.bulk_create(
            [ProactiveSampleClaim(sample=sample, claim_id=pk, amount=amounts[pk])
             for pk in picked]
            + [ProactiveSampleClaim(sample=sample, claim_id=pk, amount=amount, added=True)
               for pk, amount in extra.items()], batch_size=5000)
        log.record(user, AuditEntry.Action.PROACTIVE_SAMPLED, sample,
                   union_path=_path(run),
                   summary=f"{run.title}：抽取复核样本 {sample.size:,} 笔（直通理赔 "
                           f"{len(ids):,} 笔中按 {shown_percent(pct)}% 随机抽取 {len(picked):,} 笔"
                           + (f"，另加入 {len(extra):,} 笔" if extra else "")
                           + f"，随机种子 {seed}），第 {sample.pk} 号抽样复核决定",
                   changes={"run": run.pk, "seed": seed, "percent": str(pct),
                            "sample_size": sample.size, "drawn": len(picked), "added": len(extra),
                            "straight_through": len(ids), "straight_amount": yuan(total),
                            "ceiling": yuan(ceiling), "threshold": str(sample.threshold)})
    return sample


def _added(run: BatchRun, add: Iterable[int], picked: set[int]) -> dict[int, Decimal]:
    """The claims the reviewer adds, id → the run's amount: claims of this run still
    awaiting review; any other is refused by its number (or the id given)."""
    wanted = [pk for pk in dict.fromkeys(int(a) for a in add) if pk not in picked]
    if not wanted:
        return {}
    found = {pk: (number, state, computed) for pk, number, state, computed in
             run_claims(run).filter(pk__in=wanted)
             .values_list("pk", "number", "state", "computed")}
    for pk in wanted:
        if pk not in found:
            raise ReviewRefused(f"理赔 {pk} 不是本次测算生成的理赔，不能加入样本")
        number, state, _ = found[pk]
        if state != S.PROACTIVE:
            raise ReviewRefused(f"理赔 {number} 当前为“{S(state).label}”，已不在免申即享待审核，"
                                "不能加入样本")
    # A proposed claim always has the engine's amount.
    return {pk: found[pk][2] or Decimal("0.00") for pk in wanted}


def ids_for_numbers(run: BatchRun, text: str) -> list[int]:
    """The claims of the run that ``text`` names by 理赔编号 (separated by spaces, commas
    or 、), for the page's "另外加入样本"; a number that is not the run's is refused."""
    numbers = [n.upper() for n in re.split(r"[\s,，、;；]+", text or "") if n]
    if not numbers:
        return []
    found = dict(run_claims(run).filter(number__in=numbers).values_list("number", "pk"))
    for number in numbers:
        if number not in found:
            raise ReviewRefused(f"理赔编号 {number} 不是本次测算生成的理赔，不能加入样本")
    return [found[n] for n in numbers]


def _path(run: BatchRun) -> str:
    return run.union.path if run.union is not None else "/"


# ------------------------------------------------------------------ the sample's progress

def progress(sample: ProactiveSample) -> SampleProgress:
    """Where the sampled claims stand (one aggregate over the sample's rows)."""
    given = Q(claim__state__in=Claim.GIVEN)
    row = ProactiveSampleClaim.objects.filter(sample=sample).aggregate(
        size=Count("pk"),
        rejected=Count("pk", filter=Q(claim__state__in=NOT_GIVEN)),
        lowered=Count("pk", filter=given & Q(claim__final__lt=F("amount"))),
        given=Count("pk", filter=given & Q(claim__final__gte=F("amount"))))
    open_ = row["size"] - row["rejected"] - row["lowered"] - row["given"]
    return SampleProgress(row["size"], open_, row["given"], row["rejected"], row["lowered"])


def sampled_ids(sample: ProactiveSample) -> set[int]:
    return set(ProactiveSampleClaim.objects.filter(sample=sample)
               .values_list("claim_id", flat=True))


# ------------------------------------------------------------------ the decision

def approve(user: User, run: BatchRun) -> Decision:
    """Approve the run's other straight-through claims in one decision, or say why not.
    Idempotent: a decided sample is not decided again (0 approved, and why)."""
    sample = ProactiveSample.objects.filter(run=run).select_related(
        "run__scheme__union", "run__union", "drawn_by", "decided_by").first()
    if sample is None:
        raise ReviewRefused("该测算还没有抽取复核样本：须先由一位审核人员抽样，"
                            "样本审完后再批量核准")
    problem = why_not_approve(user, sample)
    if problem:
        raise ReviewRefused(problem)
    if sample.status != ProactiveSample.Status.OPEN:
        return _already(sample)
    seen = progress(sample)
    if seen.open:
        raise ReviewRefused(f"样本中还有 {seen.open:,} 笔理赔未审完（共 {seen.size:,} 笔），"
                            "全部审完（核准、核减或不予给付）后才能批量核准")
    if seen.over(sample.threshold):
        return _full_review(user, sample, seen)
    return _approve_rest(user, sample, seen)


def _already(sample: ProactiveSample) -> Decision:
    when = f"{timezone.localtime(sample.decided_at):%Y-%m-%d %H:%M}" if sample.decided_at \
        else ""
    if sample.status == ProactiveSample.Status.APPROVED:
        text = (f"第 {sample.pk} 号抽样复核决定已于 {when} 由 {sample.decided_by} 作出，"
                f"批量核准 {sample.approved:,} 笔，本次核准 0 笔")
    else:
        text = (f"该测算已于 {when} 转为逐笔审核（第 {sample.pk} 号抽样复核决定），"
                "本次核准 0 笔：其直通理赔按普通两级审核办理")
    return Decision(sample, already=True, message=text)


def _full_review(user: User, sample: ProactiveSample, seen: SampleProgress) -> Decision:
    """The sample failed: the run goes to full review, recorded; nothing is approved."""
    with transaction.atomic():
        locked = ProactiveSample.objects.select_for_update().get(pk=sample.pk)
        if locked.status != ProactiveSample.Status.OPEN:
            locked.run = sample.run
            return _already(locked)
        ProactiveSample.objects.filter(pk=sample.pk).update(
            status=ProactiveSample.Status.FULL_REVIEW, decided_by=user,
            decided_at=timezone.now(), rejected=seen.rejected, lowered=seen.lowered)
        sample.refresh_from_db()
        limit = shown_percent(sample.threshold)
        text = (f"样本 {seen.size:,} 笔中不予给付 {seen.rejected:,} 笔、核减 {seen.lowered:,} 笔，"
                f"占 {seen.share}%，超过保障项目的阈值 {limit}%：不予批量核准，该次"
                f"测算的 {sample.straight_through:,} 笔直通理赔转为逐笔审核（初审、复审）")
        log.record(user, AuditEntry.Action.PROACTIVE_REFUSED, sample,
                   union_path=_path(sample.run),
                   summary=f"{sample.run.title}：第 {sample.pk} 号抽样复核决定，{text}",
                   changes=_results(sample, seen))
    return Decision(sample, refusal=text, message=text)


def _results(sample: ProactiveSample, seen: SampleProgress) -> dict[str, object]:
    return {"run": sample.run_id, "seed": sample.seed, "percent": str(sample.percent),
            "sample_size": seen.size, "given": seen.given, "rejected": seen.rejected,
            "lowered": seen.lowered, "share": str(seen.share),
            "threshold": str(sample.threshold)}


def colliding_ids(run: BatchRun, candidates: QuerySet[Claim], decision: int) -> set[int]:
    """The candidates whose family had a claim of the scheme given since the run started
    (not by this decision): their amounts may no longer fit the caps."""
    since = run.started_at or run.created_at
    family = Coalesce("member__family_head_id", "member_id")
    touched = (Claim.objects.filter(scheme_id=run.scheme_id, state__in=Claim.GIVEN,
                                    approved_at__gte=since)
               .exclude(proactive_decision=decision)
               .annotate(family=family).values("family"))
    return set(candidates.order_by().annotate(family=family)
               .filter(family__in=Subquery(touched)).values_list("pk", flat=True))


@contextmanager
def _deciding(sample: ProactiveSample) -> Iterator[None]:
    """One decision at a time per sample: its chunks commit one by one, so no row lock
    spans them; on PostgreSQL a session advisory lock does (released at the end, or when
    a crashed process's connection closes). SQLite writes one transaction at a time."""
    if not is_postgresql():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, sample.pk])
        if not cursor.fetchone()[0]:
            raise ReviewRefused("另一位审核人员正在批量核准该测算，请稍后刷新页面查看结果")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, sample.pk])


def _approve_rest(user: User, sample: ProactiveSample, seen: SampleProgress) -> Decision:
    with _deciding(sample):
        return _approve_locked(user, sample, seen)


def _approve_locked(user: User, sample: ProactiveSample, seen: SampleProgress) -> Decision:
    run = sample.run
    base = _untouched(run, sample.ceiling)
    flagged = flagged_ids(base)
    sampled = sampled_ids(sample)
    collide = colliding_ids(run, base, sample.pk)
    todo = [pk for pk in base.order_by("pk").values_list("pk", flat=True)
            if pk not in flagged and pk not in sampled]
    # Claims up to the ceiling that carry a review signal now (some only since the draw:
    # the sample's approvals give the usual-amount rule its history).
    signalled = len(flagged - sampled)
    dropped = sum(1 for pk in todo if pk in collide)
    todo = [pk for pk in todo if pk not in collide]
    size = CHUNK if is_postgresql() else CHUNK_SQLITE
    now = timezone.now()
    moved = 0
    for start in range(0, len(todo), size):
        moved += _approve_chunk(user, sample, todo[start:start + size], now)
    with transaction.atomic():
        locked = ProactiveSample.objects.select_for_update().get(pk=sample.pk)
        if locked.status != ProactiveSample.Status.OPEN:  # a concurrent decision won
            locked.run = run
            return _already(locked)
        totals = Claim.objects.filter(proactive_decision=sample.pk).aggregate(
            n=Count("pk"), total=MoneySum("final"))
        approved, amount = totals["n"] or 0, totals["total"] or Decimal("0.00")
        ProactiveSample.objects.filter(pk=sample.pk).update(
            status=ProactiveSample.Status.APPROVED, decided_by=user, decided_at=now,
            approved=approved, approved_amount=amount, dropped=dropped,
            rejected=seen.rejected, lowered=seen.lowered)
        sample.refresh_from_db()
        left = f"，{dropped:,} 笔因同一家庭在测算后已有理赔获批（上限须重新测算）转为逐笔审核" \
            if dropped else ""
        if signalled:
            left += f"，{signalled:,} 笔有审核提示，按普通两级审核办理"
        limit = shown_percent(sample.threshold)
        text = (f"第 {sample.pk} 号抽样复核决定：批量核准 {moved:,} 笔，合计 {yuan(amount)} 元"
                f"{left}；样本 {seen.size:,} 笔中不予给付 {seen.rejected:,} 笔、核减 "
                f"{seen.lowered:,} 笔，占 {seen.share}%，未超过阈值 {limit}%")
        log.record(user, AuditEntry.Action.PROACTIVE_APPROVED, sample,
                   union_path=_path(run), summary=f"{run.title}：{text}",
                   changes={**_results(sample, seen), "claims": approved,
                            "amount": str(amount), "dropped": dropped,
                            "flagged": signalled})
    return Decision(sample, approved=moved, amount=amount, dropped=dropped, message=text)


def _approve_chunk(user: User, sample: ProactiveSample, ids: list[int],
                   now: dt.datetime) -> int:
    """One transaction: approve the chunk's claims still awaiting review in one UPDATE,
    write their history rows and the members' SMS in bulk; how many moved."""
    with transaction.atomic():
        if is_postgresql():
            moved = _approve_pg(user, sample, ids, now)
        else:
            moved = _approve_orm(user, sample, ids, now)
        if not moved:
            return 0
        enqueue_many(_sms(_sms_rows(sample, moved), sample.run.scheme.union.name, sample.pk))
    return len(moved)


def _approve_pg(user: User, sample: ProactiveSample, ids: list[int],
                now: dt.datetime) -> list[int]:
    """PostgreSQL: the UPDATE (which locks the rows it moves; ``state`` is checked again
    under the lock, so a claim a reviewer moved meanwhile is left alone) and the history
    rows in one statement, the ids as one array. The note's amount is ``to_char``'s
    1,234.50, as :func:`yuan` writes it (the tests compare the two)."""
    claims, events = quote(Claim._meta.db_table), quote(ClaimEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH moved AS (UPDATE {claims} SET state = %s, final = computed, "
            "second_reviewed_by_id = %s, approved_at = %s, proactive_decision = %s, "
            "updated_at = %s WHERE id = ANY(%s::bigint[]) AND state = %s "
            "RETURNING id, computed) "
            f"INSERT INTO {events} (claim_id, at, actor_id, action, from_state, to_state, "
            "note, amount) SELECT id, %s, %s, 'approve', %s, %s, "
            "%s || to_char(computed, 'FM999,999,999,990.00') || ' 元', computed FROM moved "
            "RETURNING claim_id",
            [S.APPROVED, user.pk, now, sample.pk, now, ids, S.PROACTIVE,
             now, user.pk, S.PROACTIVE, S.APPROVED, NOTE.format(n=sample.pk) + "；核定 "])
        return [r[0] for r in cursor.fetchall()]


def _approve_orm(user: User, sample: ProactiveSample, ids: list[int],
                 now: dt.datetime) -> list[int]:
    """SQLite (one writer at a time): the claims still awaiting review, one UPDATE, their
    history rows with ``bulk_create``."""
    rows = list(Claim.objects.filter(pk__in=ids, state=S.PROACTIVE)
                .values_list("pk", "computed"))
    if not rows:
        return []
    moved = [pk for pk, _ in rows]
    Claim.objects.filter(pk__in=moved).update(
        state=S.APPROVED, final=F("computed"), second_reviewed_by=user, approved_at=now,
        proactive_decision=sample.pk, updated_at=now)
    note = NOTE.format(n=sample.pk)
    ClaimEvent.objects.bulk_create(
        [ClaimEvent(claim_id=pk, at=now, actor=user, action="approve",
                    from_state=S.PROACTIVE, to_state=S.APPROVED,
                    note=f"{note}；核定 {yuan(amount)} 元", amount=amount)
         for pk, amount in rows], batch_size=5000)
    return moved


def _sms_rows(sample: ProactiveSample, moved: list[int]) -> list[tuple[Any, ...]]:
    """What the SMS of the claims just approved say, for members with a phone number."""
    qs = Claim.objects.filter(proactive_decision=sample.pk).exclude(member__phone="")
    if is_postgresql():
        qs = qs.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [moved]))
    else:
        qs = qs.filter(pk__in=moved)
    return list(qs.values_list("pk", "number", "final", "benefit_name", "member_id",
                               "member__name", "member__phone", "member__union_id"))


def _sms(rows: list[tuple[Any, ...]], union_name: str, decision: int) -> Iterable[Draft]:
    """The member's 理赔已审批 SMS, as a claim approved on its own sends it
    (:func:`huzhu.claims.notifications.text_for`), once per claim."""
    kind = "claims.approved"
    for pk, number, amount, benefit_name, member_id, name, phone, union_id in rows:
        if not phone:
            continue
        claim = SimpleNamespace(scheme=SimpleNamespace(union=SimpleNamespace(name=union_name)),
                                member=SimpleNamespace(name=name), benefit_name=benefit_name,
                                number=number, final=amount)
        text = text_for(cast(Claim, claim), kind) or ""
        yield Draft(kind=kind, to=phone, text=text[:500], member=member_id, union=union_id,
                    dedupe_key=f"{kind}:{pk}:decision-{decision}",
                    params={"name": name, "benefit": benefit_name, "number": number,
                            "amount": yuan(amount)})
