"""Member exports as background jobs: asked for by a POST with a purpose, written by the
worker with progress, downloaded once, deleted after download or a day."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.db import OperationalError
from django.utils import timezone
from django_tasks import task

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib import crypto
from huzhu.lib.jobs import open_private
from huzhu.members.export import export_queryset, write_members_xlsx
from huzhu.members.models import MemberExport
from huzhu.members.search import MemberQuery, search_members
from huzhu.orgs.models import User

KEEP_FOR = dt.timedelta(days=1)
PROGRESS_INTERVAL_S = 1.0


def request_export(user: User, query: MemberQuery, *, described: str, full: bool,
                   purpose: str) -> MemberExport:
    """Queue an export of what ``query`` finds for ``user`` (the caller checked the role)."""
    job = MemberExport.objects.create(
        user=user, union=user.union if user.union_id else None, filters=query.filters(),
        query_sealed=crypto.seal(query.q, column=crypto.EXPORT_QUERY) if query.q else None,
        described=described[:300],
        full_numbers=full, purpose=purpose[:200],
    )
    run_member_export.enqueue(job.pk)
    return job


def _query(job: MemberExport) -> MemberQuery:
    text = crypto.unseal(job.query_sealed, column=crypto.EXPORT_QUERY) if job.query_sealed else ""
    return MemberQuery.from_params(job.filters, q=text)


@task()
def run_member_export(export_id: int) -> dict:
    claimed = MemberExport.objects.filter(pk=export_id, status=MemberExport.Status.PENDING)\
        .update(status=MemberExport.Status.RUNNING)
    if not claimed:
        return {"export": export_id, "skipped": True}
    job = MemberExport.objects.select_related("user__union").get(pk=export_id)
    # In the kind's private folder (0700), the file 0600: it may hold full ID numbers.
    target = MemberExport.files().new_path(".xlsx")
    try:
        qs = search_members(job.user, _query(job))
        total = qs.count()
        _progress(job, total=total, written=0)
        reporter = _Reporter(job, total)
        with open_private(target, exclusive=True) as handle:
            rows = write_members_xlsx(export_queryset(qs), handle, full=job.full_numbers,
                                      progress=reporter)
    except Exception as exc:
        target.unlink(missing_ok=True)
        _finish(job, status=MemberExport.Status.FAILED, message=f"导出失败：{exc}"[:500])
        raise
    _finish(job, status=MemberExport.Status.DONE, total_rows=rows, written_rows=rows,
            file_path=str(target))
    log.record(
        job.user, AuditEntry.Action.MEMBER_EXPORTED, None,
        union_path=job.user.union.path if job.user.union_id else "/",
        summary=f"导出会员名单（{job.described}）{rows} 条"
        + ("，含完整证件号" if job.full_numbers else "，证件号已脱敏")
        + (f"，用途：{job.purpose}" if job.purpose else ""),
        changes={"rows": rows, "full_numbers": job.full_numbers, "filter": job.described,
                 "purpose": job.purpose, "export": job.pk},
    )
    return {"export": export_id, "rows": rows}


class _Reporter:
    def __init__(self, job: MemberExport, total: int) -> None:
        self.job, self.total, self.last = job, total, 0.0

    def __call__(self, written: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_INTERVAL_S:
            self.last = now
            _progress(self.job, total=self.total, written=written)


def _progress(job: MemberExport, *, total: int, written: int) -> None:
    # Best effort: on SQLite a long import may hold the write lock; progress can wait.
    try:
        MemberExport.objects.filter(pk=job.pk).update(total_rows=total, written_rows=written)
    except OperationalError:
        pass


def _finish(job: MemberExport, **fields) -> None:
    fields["finished_at"] = timezone.now()
    for attempt in range(5):
        try:
            MemberExport.objects.filter(pk=job.pk).update(**fields)
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(2)


def take_file(job: MemberExport) -> Path | None:
    """Hand out the file once: mark the job downloaded and return the path to stream and
    delete, or None when it is not (or no longer) there."""
    path = Path(job.file_path) if job.file_path else None
    taken = MemberExport.objects.filter(pk=job.pk, status=MemberExport.Status.DONE).update(
        status=MemberExport.Status.DOWNLOADED, downloaded_at=timezone.now())
    if not taken or path is None or not path.is_file():
        return None
    log.record(job.user, AuditEntry.Action.EXPORT_DOWNLOADED, None,
               union_path=job.user.union.path if job.user.union_id else "/",
               summary=f"下载会员导出文件 #{job.pk}（{job.total_rows} 条）",
               changes={"export": job.pk, "rows": job.total_rows})
    return path


def sweep() -> dict[str, int]:
    """Delete files downloaded or older than a day; fail exports whose worker died."""
    now = timezone.now()
    expired = 0
    for job in MemberExport.objects.exclude(file_path="").filter(
            finished_at__lt=now - KEEP_FOR):
        job.delete_files()
        MemberExport.objects.filter(pk=job.pk).update(
            file_path="", status=MemberExport.Status.EXPIRED
            if job.status == MemberExport.Status.DONE else job.status)
        expired += 1
    for job in MemberExport.objects.filter(status=MemberExport.Status.DOWNLOADED)\
            .exclude(file_path=""):
        job.delete_files()
        MemberExport.objects.filter(pk=job.pk).update(file_path="")
        expired += 1
    running = MemberExport.objects.filter(status=MemberExport.Status.RUNNING)
    stuck = sum(1 for job in running if job.is_stuck(now) and job.fail_interrupted())
    return {"过期导出文件": expired, "中断的导出": stuck}
