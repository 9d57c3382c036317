"""Background jobs that work with files: the abstract model the five kinds share (member
and other imports, settlement feeds, the proactive batch's runs, member exports, what-if
runs) and the helper for their private files.

A job is queued by a page (``pending``), taken by the django-tasks worker (its working
statuses), and ends ``done`` or ``failed``. Its files — the upload it reads, the report or
result it makes, the progress and heartbeat files it writes while it runs — live in one
0700 folder per kind under ``UPLOAD_ROOT``, each file 0600 from the moment it exists: they
hold personal data (uploads hold plaintext ID numbers).

Why progress and a heartbeat in side files for imports and feeds: those jobs hold one
transaction for their whole write, and on SQLite no other connection can write (and no
reader can see an uncommitted update) until it ends; a job whose heartbeat has gone stale
belongs to a worker that died. The other kinds write their progress to their own row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol, Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from huzhu.lib.filemodes import private_dir

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
HEARTBEAT_SECONDS = 5  # HUZHU_IMPORT_HEARTBEAT_SECONDS
STALE_SECONDS = 120  # HUZHU_IMPORT_STALE_SECONDS: calamine may hold the GIL ~10 s
PROGRESS_INTERVAL_S = 0.5


# ---------------------------------------------------------------- files


def open_private(path: Path, mode: str = "wb", *, exclusive: bool = False) -> IO[Any]:
    """Create ``path`` readable by this user only; it never exists with wider rights.
    ``exclusive``: refuse to open a file that is already there."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # O_CREAT's mode is masked by the umask; an old file kept its
    return os.fdopen(fd, mode)


def delete_files(paths: Iterable[Path]) -> int:
    """Delete what exists of ``paths``; the number deleted."""
    deleted = 0
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted


class Upload(Protocol):
    """What Django's UploadedFile offers that storing needs."""

    def chunks(self) -> Iterable[bytes]: ...


class JobFiles:
    """One kind's private folder under ``UPLOAD_ROOT`` and the names of the files in it:
    unguessable names for uploads and results, ``<prefix>-<pk>…`` for a job's own."""

    def __init__(self, folder: str, prefix: str = "job") -> None:
        self.folder = folder
        self.prefix = prefix

    def dir(self) -> Path:
        """The folder, made (or tightened to) 0700 on each call: settings may move it."""
        path = Path(settings.UPLOAD_ROOT) / self.folder
        private_dir(path)
        return path

    def new_path(self, suffix: str) -> Path:
        """A path nobody can guess, for an upload or a result file."""
        return self.dir() / f"{uuid.uuid4().hex}{suffix}"

    def store(self, uploaded: Upload | bytes, suffix: str) -> Path:
        """Write an uploaded file (or a request's body) privately under a new name."""
        target = self.new_path(suffix)
        with open_private(target) as fh:
            if isinstance(uploaded, bytes):
                fh.write(uploaded)
            else:
                for chunk in uploaded.chunks():
                    fh.write(chunk)
        return target

    def of(self, pk: int, tail: str) -> Path:
        return self.dir() / f"{self.prefix}-{pk}{tail}"


# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """What the progress template shows of a job: its status, whether the page keeps
    polling, its phase, ``done`` of ``total`` (None: not measurable in this phase, the bar
    runs full) and since when it works."""

    status: str
    polling: bool
    phase: str
    done: int = 0
    total: int | None = None
    since: dt.datetime | None = None

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))

    def elapsed(self, now: dt.datetime | None = None) -> str:
        """The time worked so far in Chinese (``1 分 05 秒``); empty before it starts."""
        if self.since is None:
            return ""
        seconds = max(0, int(((now or timezone.now()) - self.since).total_seconds()))
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        if hours:
            return f"{hours} 小时 {minutes:02d} 分"
        if minutes:
            return f"{minutes} 分 {seconds:02d} 秒"
        return f"{seconds} 秒"

    @property
    def elapsed_text(self) -> str:
        return self.elapsed()


class ProgressFile:
    """``progress(phase, done, total)`` into a job's progress file, at most every half
    second (and always at the end of a phase), replaced whole so readers never see half
    of it. The first call of a new phase also sets the job's status: the status flips
    before the job's transaction opens, so other connections see it."""

    def __init__(self, job: FileJob, first_phase: str = "validating") -> None:
        self.job = job
        self.path = job.progress_path()
        self.last = 0.0
        self.phases: set[str] = {first_phase}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase not in self.phases:
            self.phases.add(phase)
            type(self.job)._default_manager.filter(pk=self.job.pk).update(status=phase)
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S and (total is None or done < total):
            return
        self.last = now
        tmp = self.path.with_suffix(".tmp")
        with open_private(tmp, "w") as fh:
            fh.write(json.dumps({"phase": phase, "done": done, "total": total}))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class FileHeartbeat:
    """Touches a heartbeat file every few seconds from a daemon thread, for as long as the
    work runs; the file goes when it ends. Housekeeping reads its age to tell a dead
    worker from a slow one."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.interval: float = getattr(settings, "HUZHU_IMPORT_HEARTBEAT_SECONDS",
                                       HEARTBEAT_SECONDS)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Self:
        self.beat()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.interval + 1)
        self.path.unlink(missing_ok=True)

    def beat(self) -> None:
        with open_private(self.path):
            pass
        os.utime(self.path)  # the modification time is the beat

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.beat()
            except OSError:
                pass  # a full disk must not kill the job; the sweep may then fail it


class JobHeartbeat(FileHeartbeat):
    """The heartbeat of one job, beside its other files."""

    def __init__(self, job: FileJob) -> None:
        super().__init__(job.heartbeat_path(), f"{job.files().prefix}-heartbeat-{job.pk}")


def heartbeat_stale_after() -> dt.timedelta:
    """How old a heartbeat may be before its worker counts as dead."""
    return dt.timedelta(seconds=getattr(settings, "HUZHU_IMPORT_STALE_SECONDS", STALE_SECONDS))


def file_time(path: Path) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    except OSError:
        return None


# ---------------------------------------------------------------- the model


class FileJob(models.Model):
    """What the five background job kinds share: timestamps, a message, a status of the
    pending → working → done/failed kind, files in a private folder, progress, and
    telling a job whose worker died ("stuck") from a slow one.

    A kind sets the class attributes below, keeps its own ``Status`` choices (their
    values are stored; ``pending``, ``done`` and ``failed`` are the same in all) and
    redeclares a field where its column differs (``started_at = None`` drops one).
    """

    PENDING: ClassVar[str] = "pending"
    DONE: ClassVar[str] = "done"
    FAILED: ClassVar[str] = "failed"
    #: The statuses of a job a worker has taken.
    WORKING: ClassVar[tuple[str, ...]] = ("running",)
    #: The kind's folder; None: the kind keeps no files.
    FILES: ClassVar[JobFiles | None] = None
    #: Fields naming files the job reads (deleted, and the field emptied, once it ends).
    INPUT_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: Fields naming files the job makes for its user (a report, a result).
    OUTPUT_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: True: the worker writes its progress and a heartbeat to files beside the job (its
    #: transaction hides updates of the row); False: to the row itself.
    LIVE_FILES: ClassVar[bool] = False
    #: How long a working job may show no sign of life; None: never judged stuck.
    STALE_AFTER: ClassVar[dt.timedelta | None] = None
    #: The message of a job failed because its worker died.
    INTERRUPTED: ClassVar[str] = "后台处理中断，请重新提交"

    # Redeclared by each kind with its choices (and max_length where it differs).
    status = models.CharField("状态", max_length=12, default="pending")
    message = models.CharField("说明", max_length=500, blank=True)
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        abstract = True

    # -- status

    @property
    def running(self) -> bool:
        """Queued or taken by a worker: the page keeps polling."""
        return self.status == self.PENDING or self.status in self.WORKING

    # -- files

    @classmethod
    def files(cls) -> JobFiles:
        if cls.FILES is None:
            raise TypeError(f"{cls.__name__} keeps no files")
        return cls.FILES

    def progress_path(self) -> Path:
        return self.files().of(self.pk, ".progress.json")

    def heartbeat_path(self) -> Path:
        return self.files().of(self.pk, ".alive")

    def report_path(self) -> Path:
        return self.files().of(self.pk, "-errors.xlsx")

    def _named(self, fields: tuple[str, ...]) -> list[Path]:
        return [Path(value) for value in (getattr(self, f) for f in fields) if value]

    def scratch_files(self) -> list[Path]:
        """The files the worker writes while it runs."""
        if not self.LIVE_FILES:
            return []
        progress = self.progress_path()
        return [progress, progress.with_suffix(".tmp"), self.heartbeat_path()]

    def job_files(self) -> list[Path]:
        """Every file the job may have left on disk."""
        return [*self._named(self.INPUT_FIELDS + self.OUTPUT_FIELDS), *self.scratch_files()]

    def delete_files(self) -> int:
        return delete_files(self.job_files())

    # -- progress

    def live_progress(self) -> dict[str, Any]:
        """Phase and counts of a running job, from its progress file."""
        try:
            live: dict[str, Any] = json.loads(self.progress_path().read_text())
        except (OSError, ValueError):
            return {"phase": self.status, "done": 0, "total": None}
        return live

    def polls(self) -> bool:
        """Whether its page keeps asking for news."""
        return self.running

    def measure(self, phase: str, done: int = 0, total: int | None = None,
                since: dt.datetime | None = None) -> Progress:
        return Progress(status=self.status, polling=self.polls(), phase=phase, done=done,
                        total=total, since=since)

    def progress(self) -> Progress:
        """Where the job is, for ``lib/_progress.html`` (from the progress file; kinds that
        keep their progress in their row override this)."""
        live = self.live_progress() if self.LIVE_FILES and self.running else {}
        return self.measure(live.get("phase") or self.status, live.get("done") or 0,
                            live.get("total"), self.started_at)

    # -- stuck jobs

    def stale_after(self) -> dt.timedelta | None:
        return heartbeat_stale_after() if self.LIVE_FILES else self.STALE_AFTER

    def last_sign_of_life(self) -> dt.datetime | None:
        """The heartbeat's time, or the start if the first beat is not written yet."""
        beat = file_time(self.heartbeat_path()) if self.LIVE_FILES else None
        times = [t for t in (beat, self.started_at) if t is not None]
        return max(times) if times else None

    def is_stuck(self, now: dt.datetime | None = None) -> bool:
        """A job a worker took whose worker no longer shows life. A pending job is not
        stuck: the queue keeps it for the next worker."""
        limit = self.stale_after()
        if limit is None or self.status not in self.WORKING:
            return False
        seen = self.last_sign_of_life()
        return seen is not None and (now or timezone.now()) - seen > limit

    def fail_interrupted(self) -> bool:
        """Mark a stuck job failed and delete the files it read or wrote while running;
        False if it moved on meanwhile."""
        changed = type(self)._default_manager.filter(pk=self.pk, status__in=self.WORKING) \
            .update(status=self.FAILED, message=self.INTERRUPTED, finished_at=timezone.now(),
                    **dict.fromkeys(self.INPUT_FIELDS, ""))
        if changed:
            delete_files([*self._named(self.INPUT_FIELDS), *self.scratch_files()])
        return bool(changed)

    def recover_if_stuck(self) -> Self:
        """For the job's page: a dead worker's job shows as failed, not forever running."""
        if self.running and self.is_stuck() and self.fail_interrupted():
            self.refresh_from_db()
        return self

