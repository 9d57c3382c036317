"""A bulk step as a job: the selection frozen for the confirmation (``draft``), then run
— at once for a few hundred claims, by the django-tasks worker beyond that, its progress
(``done`` of ``total``) written to its row as it goes, for ``lib/_progress.html``.

The work itself is :func:`huzhu.claims.bulk.apply_many`; this module only keeps its
result where the result page (paged) can read it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.db import OperationalError
from django.utils import timezone
from django_tasks import task

from huzhu.claims import bulk
from huzhu.claims.models import BulkJob
from huzhu.orgs.models import User

# Up to this many claims a step runs while the page waits (a claim's approval, with its
# recomputation, takes some tens of milliseconds); more go to the background worker.
BACKGROUND_OVER = 200
PROGRESS_INTERVAL_S = 0.5


def prepare(user: User, claim_ids: Iterable[int | str], step: str, described: str
            ) -> BulkJob:
    """Freeze a selection for the user to confirm; refuses (:class:`bulk.BulkRefused`) a
    step the user's role may not take, or an empty or oversized selection. The ids are
    the found ones or those ticked (the form's text): :func:`bulk.unique_ids` reads both."""
    bulk.check_step(user, step)
    ids = bulk.unique_ids(claim_ids)
    if not ids:
        raise bulk.BulkRefused("请先勾选要办理的理赔")
    if len(ids) > bulk.MAX_CLAIMS:
        raise bulk.BulkRefused(f"一次最多批量办理 {bulk.MAX_CLAIMS:,} 笔理赔，请缩小筛选范围")
    return BulkJob.objects.create(user=user, step=step, claim_ids=ids, total=len(ids),
                                  described=described[:300])


def start(user: User, job: BulkJob, data: dict[str, Any]) -> bool:
    """Confirm ``job``: check the shared inputs, then run it (now, or in the background
    for a large selection). False when the job was confirmed before (the same form sent
    twice): nothing is run again."""
    inputs = bulk.check(user, job.step, data)
    taken = BulkJob.objects.filter(pk=job.pk, user=user, status=BulkJob.Status.DRAFT).update(
        status=BulkJob.Status.PENDING, data=inputs)
    if not taken:
        return False
    if job.total > BACKGROUND_OVER:
        run_bulk_job.enqueue(job.pk)
    else:
        execute(job.pk)
    return True


@task()
def run_bulk_job(job_id: int) -> dict[str, Any]:
    return execute(job_id)


def execute(job_id: int) -> dict[str, Any]:
    """Run a confirmed job; one already taken (a retried task) is left alone."""
    taken = BulkJob.objects.filter(pk=job_id, status=BulkJob.Status.PENDING).update(
        status=BulkJob.Status.RUNNING, started_at=timezone.now())
    if not taken:
        return {"job": job_id, "skipped": True}
    job = BulkJob.objects.select_related("user__union").get(pk=job_id)
    reporter = _Reporter(job.pk)
    try:
        result = bulk.apply_many(job.user, job.claim_ids, job.step, job.data,
                                 progress=reporter)
    except bulk.BulkRefused as exc:  # the role changed since the confirmation
        _save(job.pk, status=BulkJob.Status.FAILED, message=str(exc)[:500],
              finished_at=timezone.now())
        return {"job": job_id, "refused": str(exc)}
    except Exception as exc:
        _save(job.pk, status=BulkJob.Status.FAILED, finished_at=timezone.now(),
              message=f"办理中出错（{type(exc).__name__}），已办理的理赔保留，其余未办理"[:500])
        raise
    _save(job.pk, status=BulkJob.Status.DONE, done=result.total, moved=result.moved,
          refused=[[r.claim_id, r.number, r.reason] for r in result.refused],
          message=result.summary()[:500], finished_at=timezone.now())
    return {"job": job_id, "moved": result.moved, "refused": len(result.refused)}


class _Reporter:
    """Progress to the job's row, at most every half second (and at the end)."""

    def __init__(self, pk: int) -> None:
        self.pk, self.last = pk, 0.0

    def __call__(self, done: int, moved: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_INTERVAL_S or done == total:
            self.last = now
            try:  # best effort: a busy SQLite may hold the write lock a moment
                BulkJob.objects.filter(pk=self.pk).update(done=done, moved=moved,
                                                         updated_at=timezone.now())
            except OperationalError:
                pass


def _save(pk: int, **fields: Any) -> None:
    for attempt in range(5):
        try:
            BulkJob.objects.filter(pk=pk).update(**fields)
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(1)
