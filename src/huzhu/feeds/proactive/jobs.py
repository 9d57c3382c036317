"""The page's runs as background tasks (django-tasks): the worker takes a pending run and
executes it; its progress is the run's own row (``done`` of ``total``), written after
each committed chunk, so the page reads it without a side file."""

from __future__ import annotations

from django_tasks import task

from huzhu.feeds.models.proactive import BatchRun
from huzhu.feeds.proactive import run as batch
from huzhu.rules.spark import local_session


@task()
def run_batch_job(run_id: int) -> dict:
    """Execute one pending run; a run already taken (a retried task) is left alone."""
    taken = BatchRun.objects.filter(pk=run_id, status=BatchRun.Status.PENDING).update(
        status=BatchRun.Status.RUNNING)
    if not taken:
        return {"run": run_id, "skipped": True}
    run = BatchRun.objects.get(pk=run_id)
    # local_session imports pyspark (an optional extra) only when a run asks for Spark.
    session = local_session() if run.engine == "pyspark" else None
    result = batch.execute(run, spark_session=session)
    return {"run": run_id, "counts": result.counts, "created": result.created}
