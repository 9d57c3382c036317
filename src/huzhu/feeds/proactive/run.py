"""The batch (免申即享): a feed's matched stays through the engine as one batch, and a
claim in the ``proactive`` state (免申即享待审核) for every stay and benefit that pays.

:func:`start_run` makes a :class:`~huzhu.feeds.models.proactive.BatchRun`; :func:`execute`
runs it: it reads the feed's rows (:mod:`.inputs`), evaluates every applicable
benefit of the scheme for every matched stay in ONE call of the engine — the members,
enrolments and prior payouts of the whole set in the coverage export's shapes — and then
writes, in chunks of rows, each chunk in one transaction, the claims and every row's
outcome (:mod:`.writes`). What it finds in between is :mod:`.outcomes`' shapes.

Idempotent and resumable: a claim is unique per (stay, benefit) in the database
(``claims_one_per_stay_benefit``), inserted with ``ON CONFLICT DO NOTHING``, so a rerun
(or a second run at the same time) never claims a stay twice; a stay claimed before is
``already_claimed``. An interrupted run's committed chunks stand; run it again and the
rows with no outcome yet are done (on PostgreSQL two chunks are written at once). Stays
whose claim is still pending (not yet approved) stay in the engine's events, so caps are
consumed in event order exactly as in one clean run.
"""

from __future__ import annotations

import gc
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from django.db.models import Q
from django.utils import timezone

from huzhu.claims.models import Claim
from huzhu.coverage.models import Scheme
from huzhu.feeds.models import Feed, FeedRow
from huzhu.feeds.models.proactive import BatchRun
from huzhu.feeds.proactive import inputs, writes
from huzhu.feeds.proactive.outcomes import OUT, Details, Outcome, Progress, RunResult
from huzhu.lib.errors import Refused
from huzhu.orgs.models import Union, User
from huzhu.rules import evaluate

CHUNK_ROWS = 20_000
# Engine reasons that mean "not covered on that date" rather than "not eligible".
NOT_COVERED = frozenset({"not_enrolled", "outside_window", "not_in_force"})
# Claims that no longer stand for the stay (a rejected claim still does: it was judged).
GONE = (Claim.State.WITHDRAWN,)
OUTSIDE_SCHEME = "不在该保障项目的范围内（所在工会不属于主办工会）"
NO_BENEFIT = "诊断和费用不符合本保障项目任何一项的条件"


def _no_progress(phase: str, done: int, total: int | None) -> None:
    return None


class RunRefused(Refused):
    """The run cannot start (Chinese message for the user)."""


def start_run(feed: Feed, scheme: Scheme, *, user: User | None = None,
              engine: str = "duckdb", union: Union | None = None) -> BatchRun:
    """A pending run of ``feed`` under ``scheme`` as ``user`` (None: the system)."""
    if feed.status != Feed.Status.DONE:
        raise RunRefused(f"医保结算数据 #{feed.pk} 尚未导入完成，不能测算")
    if inputs.applicable(scheme.policy()).empty:
        raise RunRefused(f"保障项目“{scheme.name}”没有可按医保结算数据测算的项目（住院类）")
    if engine not in ("duckdb", "pyspark"):
        raise RunRefused(f"未知的计算引擎 {engine}")
    return BatchRun.objects.create(feed=feed, scheme=scheme, engine=engine,
                                   user=user if getattr(user, "pk", None) else None,
                                   union=union or getattr(user, "union", None),
                                   total=feed.rows)


def execute(run: BatchRun, *, progress: Progress = _no_progress,
            spark_session=None) -> RunResult:
    """Run ``run`` to the end (a run already done is not run again)."""
    run = BatchRun.objects.select_related("feed", "scheme__union", "user__union", "union") \
        .get(pk=run.pk)
    if run.status == BatchRun.Status.DONE:
        return RunResult(run, dict(run.counts), run.proposed_amount)
    BatchRun.objects.filter(pk=run.pk).update(status=BatchRun.Status.RUNNING,
                                              started_at=timezone.now(), phase="loading")
    try:
        result = _execute(run, progress, spark_session)
    except Exception as exc:
        BatchRun.objects.filter(pk=run.pk).update(
            status=BatchRun.Status.FAILED, finished_at=timezone.now(),
            message=f"测算出错，已生成的理赔保留，可重新运行完成其余部分（{type(exc).__name__}）")
        raise
    run.refresh_from_db()
    result.run = run
    return result


def _execute(run: BatchRun, progress: Progress, spark_session) -> RunResult:
    scheme, policy = run.scheme, run.scheme.policy()
    benefits = inputs.applicable(policy)
    progress("loading", 0, None)
    rows = inputs.feed_rows(run.feed)
    in_scope = _in_scope(rows, scheme, run)
    stays = rows.filter(in_scope)
    events = inputs.build_events(stays, benefits)
    existing = _existing_claims(scheme, events)
    # Counted, rejected and manual claims keep their stays out of the engine (counted
    # ones are prior payouts); pending proactive ones stay in, consuming caps in order.
    out_of_engine = pa.array([existing.get(k, (None,) * 5)[4] is True
                              for k in _pair_keys(events)], pa.bool_())
    engine_events = events.filter(pc.invert(out_of_engine))
    progress("inputs", 0, None)
    member_ids = set(pc.unique(stays["member"]).to_pylist())
    members, enrolments = inputs.members_and_enrolments(scheme, stays["member"].cast(pa.string()))
    prior = inputs.prior_table(scheme, member_ids, benefits.codes)
    progress("engine", 0, None)
    BatchRun.objects.filter(pk=run.pk).update(phase="engine")
    if engine_events.num_rows:
        kwargs = {"backend": run.engine}
        if run.engine == "pyspark":
            kwargs["spark_session"] = spark_session
        out = evaluate(policy, members, inputs.engine_events(engine_events), enrolments, prior,
                       **kwargs)
    else:
        out = None
    progress("engine", 1, 1)
    # A million Outcome objects, then chunks of them written, making no cycles to speak
    # of: the collector's passes over the growing heap cost seconds (1M objects: 5 s with
    # it, 1.5 s without), as in the import's validation.
    collecting = gc.isenabled()
    gc.disable()
    try:
        outcomes, details = _classify(rows, in_scope, events, out, existing, benefits, policy)
        del rows, stays, out
        BatchRun.objects.filter(pk=run.pk).update(phase="writing")
        return writes.write(run, outcomes, details, progress, chunk_rows=CHUNK_ROWS)
    finally:
        if collecting:
            gc.enable()


def _in_scope(rows: pa.Table, scheme: Scheme, run: BatchRun) -> pa.ChunkedArray:
    """Matched rows whose member belongs below the scheme's union and the run's node."""
    paths = [scheme.union.path]
    node = run.union
    if node is not None and node.path.startswith(scheme.union.path):
        paths = [node.path]
    elif node is not None and not scheme.union.path.startswith(node.path):
        raise RunRefused("该保障项目不在您的管辖范围内")
    query = Q()
    for p in paths:
        query |= Q(path__startswith=p)
    ids = pa.array(list(Union.objects.filter(query).values_list("id", flat=True)), pa.int64())
    matched = pc.equal(rows["match"], FeedRow.Match.MATCHED)
    return pc.fill_null(pc.and_(matched, pc.is_in(rows["union"], value_set=ids)), False)


def _pair_keys(events: pa.Table) -> list[str]:
    return pc.binary_join_element_wise(events["stay"].cast(pa.string()), events["benefit"],
                                       "-").to_pylist()


def _existing_claims(scheme: Scheme, events: pa.Table) -> dict[str, tuple]:
    """``<stay>-<benefit>`` → (claim id, number, state, amount, kept out of the engine)
    for claims already made for the feed's stays: proactive ones by their stay, filed ones
    by member, benefit and discharge date."""
    found: dict[str, tuple] = {}
    if not events.num_rows:
        return found
    codes = sorted(set(events["benefit"].to_pylist()))
    stays = set(events["stay"].to_pylist())
    qs = (Claim.objects.filter(scheme=scheme, settlement__isnull=False, benefit__in=codes)
          .exclude(state__in=GONE)
          .values_list("settlement_id", "benefit", "id", "number", "state", "final", "computed"))
    for stay, benefit, pk, number, state, final, computed in qs.iterator(chunk_size=20_000):
        if stay in stays:
            pending = state in (Claim.State.PROACTIVE, Claim.State.SUBMITTED,
                                Claim.State.SECOND_REVIEW, Claim.State.RETURNED)
            found[f"{stay}-{benefit}"] = (pk, number, state,
                                          final if final is not None else computed, not pending)
    members = set(events["member"].to_pylist())
    filed = (Claim.objects.filter(scheme=scheme, settlement__isnull=True, benefit__in=codes)
             .exclude(state__in=GONE)
             .values_list("member_id", "benefit", "event_date", "id", "number", "state",
                          "final", "computed"))
    by_day = {}
    for member, benefit, day, pk, number, state, final, computed in filed.iterator(
            chunk_size=20_000):
        if member in members:
            by_day[(member, benefit, day)] = (pk, number, state,
                                              final if final is not None else computed, True)
    if by_day:
        for stay, member, benefit, day in zip(events["stay"].to_pylist(),
                                              events["member"].to_pylist(),
                                              events["benefit"].to_pylist(),
                                              events["event_date"].to_pylist(), strict=True):
            hit = by_day.get((member, benefit, day))
            if hit is not None:
                found.setdefault(f"{stay}-{benefit}", hit)
    return found


def _aligned(events: pa.Table, out: pa.Table | None) -> pa.Table | None:
    """The engine's rows in the events' order (a left join on the event id)."""
    if out is None:
        return None
    keys = events.select(["event_id"]).append_column(
        "_pos", pa.array(range(events.num_rows), pa.int64()))
    joined = keys.join(out, keys="event_id", join_type="left outer")
    joined = joined.sort_by("_pos")
    return joined.select([c for c in out.column_names])


def _classify(rows: pa.Table, in_scope: pa.ChunkedArray, events: pa.Table,
              out: pa.Table | None, existing: dict[str, tuple], benefits,
              policy) -> tuple[list[Outcome], Details]:
    """Every report row, in (row, benefit) order, and the proposed claims' details."""
    aligned = _aligned(events, out)
    details = Details(events, aligned, {b.code: b.name for b in policy.benefits})
    n = events.num_rows
    if aligned is not None:
        payables, reasons, messages = (aligned[c].to_pylist() for c in
                                       ("payable", "reason", "reason_message"))
    else:
        payables = reasons = messages = [None] * n
    outcomes: list[Outcome] = []
    per_row: dict[int, list[Outcome]] = {}
    ev = {name: events[name].to_pylist() for name in (
        "row", "stay", "member", "benefit", "settlement_code", "discovered", "banked")}
    for i in range(n):
        benefit = ev["benefit"][i]
        o = Outcome(row=ev["row"][i], settlement_code=ev["settlement_code"][i],
                    outcome=OUT.INELIGIBLE, stay=ev["stay"][i], member=ev["member"][i],
                    benefit=benefit, discovered=ev["discovered"][i], banked=ev["banked"][i])
        claimed = existing.get(f"{o.stay}-{benefit}") if existing else None
        if claimed is not None:
            pk, number, state, amount, _ = claimed
            o.outcome, o.claim, o.amount = OUT.ALREADY_CLAIMED, pk, amount
            o.reason = state
            o.reason_text = f"已有理赔 {number}（{Claim.State(state).label}）"
        else:
            payable, reason, message = payables[i], reasons[i], messages[i]
            if payable > 0:
                o.outcome, o.amount, o.index = OUT.PROPOSED, payable, i
            else:
                o.outcome = OUT.NOT_COVERED if reason in NOT_COVERED else OUT.INELIGIBLE
                o.amount = Decimal("0.00")
            o.reason, o.reason_text = reason or "", message or ""
        per_row.setdefault(o.row, []).append(o)
    scope = in_scope.to_pylist()
    labels = dict(FeedRow.Match.choices)
    for row, code, outcome, match, member, stay, message, ok in zip(
            rows["row"].to_pylist(), rows["settlement_code"].to_pylist(),
            rows["outcome"].to_pylist(), rows["match"].to_pylist(),
            rows["member"].to_pylist(), rows["stay"].to_pylist(),
            rows["message"].to_pylist(), scope, strict=True):
        found = per_row.get(row)
        if found:
            outcomes.extend(sorted(found, key=lambda o: o.benefit))
        elif outcome == FeedRow.Outcome.INVALID:
            outcomes.append(Outcome(row, code or "", OUT.INVALID, reason="invalid",
                                    reason_text=message or ""))
        elif outcome == FeedRow.Outcome.CONFLICT:
            # Held as 结算ID冲突 for the union to decide: not imported, so not judged; the
            # row's own neutral message says so (never a list of what differs).
            outcomes.append(Outcome(row, code or "", OUT.INVALID, reason="conflict",
                                    reason_text=message or ""))
        elif not ok:
            text = OUTSIDE_SCHEME if match == FeedRow.Match.MATCHED else labels.get(match, "")
            outcomes.append(Outcome(row, code or "", OUT.UNMATCHED, stay=stay,
                                    member=member if match == FeedRow.Match.MATCHED else None,
                                    reason=match if match != FeedRow.Match.MATCHED
                                    else "outside_scheme", reason_text=text))
        else:  # matched, but no benefit applies (only diagnosis-list ones, none hit)
            outcomes.append(Outcome(row, code or "", OUT.INELIGIBLE, stay=stay, member=member,
                                    amount=Decimal("0.00"), reason="diagnosis_not_covered",
                                    reason_text=NO_BENEFIT))
    return outcomes, details
