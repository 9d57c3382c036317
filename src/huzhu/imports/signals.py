"""A deleted job takes its files with it (its report holds the first errors of the file)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from huzhu.imports.models import ImportJob
from huzhu.lib.jobs import delete_files


@receiver(post_delete, sender=ImportJob, dispatch_uid="imports-job-files")
def delete_job_files(sender, instance: ImportJob, **kwargs) -> None:
    paths = instance.job_files()
    # After the commit: a rolled-back delete keeps its row, and should keep its files.
    transaction.on_commit(lambda: delete_files(paths))
