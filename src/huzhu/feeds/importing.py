"""Import a settlement feed: validate every row, store each stay once, match members.

All or nothing, as the member import: a feed with any invalid row imports nothing, and
every invalid row is reported (file, row, column, reason) and counted. ``valid_only``
imports the valid rows of such a feed instead and records the invalid ones (outcome
``invalid``), never dropping one in silence. Re-sending a feed, or one that overlaps an
earlier one, counts nothing twice: a settlement ID seen before is ``known`` and not
written again — unless its facts differ. Then the row is a collision: not imported, the
stored stay left as it was, the rest of the feed imported, and the row held
(:class:`~huzhu.feeds.models.FeedCollision`) until an admin of the feed's node keeps the
stored stay or replaces it (:mod:`huzhu.feeds.collisions`). Whoever pushed the row is
told the same words whatever differs and wherever the stored stay belongs: the stored
stay may be another union's, and naming what differs would confirm its facts.

Two passes over the data, neither of them per row in the database: the rows stream
through the validator into a temporary table (:mod:`huzhu.feeds.staging`), then a few
statements over that table find the known IDs, insert the new stays with their members
and record every row's outcome, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from huzhu.audit.log import record
from huzhu.audit.models import AuditEntry
from huzhu.feeds.models import Feed, FeedRow
from huzhu.feeds.reading import FeedTable, open_feed, records_table
from huzhu.feeds.rows import SettlementValidator
from huzhu.feeds.staging import Stage
from huzhu.imports.errors import ErrorSink, ImportFileError, RowError
from huzhu.imports.outcome import Progress, no_progress
from huzhu.imports.scope import ImportScope
from huzhu.lib import crypto
from huzhu.orgs.models import Union, User

MAX_KEPT_ERRORS = 100_000
KEPT_ON_FEED = 200  # the first errors kept on the feed's row, for its page and the API
PROGRESS_EVERY = 5000
IMPORT_STEPS = 5
# The batch report reads outcomes from FeedRow; an outcome this small is also in memory.
IN_MEMORY_ROWS = 10_000
COLLISION = "该结算ID已有内容不同的结算记录，本行未导入，已转交工会核对"
_DELETE_AFTER = {Feed.Source.UPLOAD, Feed.Source.API}


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What became of one data row (the batch report's ``invalid`` rows start here)."""

    row: int
    settlement_id: str
    outcome: str  # FeedRow.Outcome: invalid / known / new
    member_id: int | None
    match: str  # FeedRow.Match: matched / not_member / outside_scope ("" if invalid)
    reason: str  # Chinese: the row's errors, or why no member matched
    stay_id: int | None  # the Settlement's pk


class EmptyFeed(ImportFileError):
    """A push with no data rows: refused before any feed record is made."""


@dataclass
class FeedOutcome:
    feed: Feed
    file_name: str
    imported: bool = False  # False: the file as a whole was refused, nothing written
    rows: int = 0
    invalid: int = 0
    new: int = 0
    already_known: int = 0
    matched: int = 0
    unmatched_not_member: int = 0
    unmatched_outside_scope: int = 0
    collisions: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ones, by row
    # Every row's outcome when the feed is small; else None: read them with row_outcomes().
    row_list: list[RowOutcome] | None = None

    def row_outcomes(self) -> Iterator[RowOutcome]:
        """Every data row's outcome in row order, from memory or from the database."""
        if self.row_list is not None:
            yield from self.row_list
            return
        yield from row_outcomes(self.feed)

    def summary(self) -> str:
        head = f"医保结算数据 {self.file_name}：共{self.rows}行"
        if not self.imported and self.invalid:
            return f"{head}，{self.invalid}行有错误，全部未导入（见错误报告），请改正后重新提交"
        if not self.imported:
            return f"{head}，未导入：{self.errors[0].message if self.errors else '文件无法读取'}"
        text = (f"{head}，新增结算{self.new}条，已导入过{self.already_known}条，"
                f"匹配到会员{self.matched}条，非会员{self.unmatched_not_member}条，"
                f"不在管辖范围{self.unmatched_outside_scope}条")
        if self.collisions:
            text += f"；{self.collisions}行结算ID与已导入的记录内容不同，未导入，已转交核对"
        if self.invalid:
            text += f"；{self.invalid}行有错误，未导入（见错误报告）"
        return text

    def as_dict(self, errors: int = 20) -> dict:
        """The counts and the first errors (the API's answer)."""
        return {
            "feed_id": self.feed.pk, "imported": self.imported, "rows": self.rows,
            "invalid": self.invalid, "new": self.new, "already_known": self.already_known,
            "matched": self.matched, "unmatched_not_member": self.unmatched_not_member,
            "unmatched_outside_scope": self.unmatched_outside_scope,
            "collisions": self.collisions, "error_count": self.error_count,
            "errors": [e.as_dict() for e in self.errors[:errors]],
            "summary": self.summary(),
        }


def import_feed(path: Path, *, user=None, file_name: str | None = None,
                source: str = Feed.Source.FILE, progress: Progress = no_progress,
                error_limit: int = MAX_KEPT_ERRORS, feed: Feed | None = None,
                union: Union | None = None, today: dt.date | None = None,
                valid_only: bool = False) -> FeedOutcome:
    """Import the feed file at ``path`` (CSV, xlsx or Parquet).

    ``user`` is the importing staff user: their node's subtree is where rows are matched
    (other members are ``unmatched_outside_scope``); None is the system (the command
    line), which matches the whole registry. ``union`` narrows that to a node below the
    user's (the caller checks it is). ``feed`` is the job's row when the web page made
    one; otherwise a feed is created. An upload or API push (``source``) is deleted once
    imported: it holds plaintext ID numbers. With an invalid row nothing is imported
    (``outcome.imported`` False, the errors in ``outcome.errors``) unless ``valid_only``.
    Never raises for bad input, but for an API push without data rows: :class:`EmptyFeed`,
    before any feed record is made.
    """
    name = file_name or Path(path).name
    try:
        if feed is None and source == Feed.Source.API:
            return _import_push(Path(path), name, user=user, progress=progress,
                                error_limit=error_limit, union=union, today=today,
                                valid_only=valid_only)
        feed = feed or _new_feed(user, name, source, union)
        try:
            table = open_feed(Path(path), name)
        except ImportFileError as exc:
            return _refused(feed, name, exc)
        return import_table(table, feed=feed, user=user, progress=progress,
                            error_limit=error_limit, today=today, valid_only=valid_only)
    finally:
        if source in _DELETE_AFTER:
            Path(path).unlink(missing_ok=True)


def _import_push(path: Path, name: str, *, user: User | None, progress: Progress, error_limit: int,
                 union: Union | None, today: dt.date | None, valid_only: bool) -> FeedOutcome:
    """A pushed file: its first data row is read before the feed record is made, so an
    empty push leaves no record (:class:`EmptyFeed`)."""
    try:
        table = open_feed(path, name)
        first = next(table.rows, None)
    except ImportFileError as exc:
        return _refused(_new_feed(user, name, Feed.Source.API, union), name, exc)
    if first is None:
        raise EmptyFeed(name, "没有结算记录：文件中没有数据行（只有表头）")
    table.rows = itertools.chain([first], table.rows)
    return import_table(table, feed=_new_feed(user, name, Feed.Source.API, union), user=user,
                        progress=progress, error_limit=error_limit, today=today,
                        valid_only=valid_only)


def import_records(records: list[dict], *, user=None, file_name: str = "接口推送",
                   progress: Progress = no_progress, error_limit: int = MAX_KEPT_ERRORS,
                   union: Union | None = None, today: dt.date | None = None,
                   valid_only: bool = False) -> FeedOutcome:
    """Import the API's JSON rows (English field names); nothing touches the disk. A
    record that is not an object or names an unknown field raises
    :class:`ImportFileError` before anything is written; no records at all,
    :class:`EmptyFeed`."""
    if not records:
        raise EmptyFeed(file_name, "没有结算记录：rows 为空")
    table = records_table(records, file_name)
    feed = _new_feed(user, file_name, Feed.Source.API, union)
    return import_table(table, feed=feed, user=user, progress=progress,
                        error_limit=error_limit, today=today, valid_only=valid_only)


def import_table(table: FeedTable, *, feed: Feed, user=None, progress: Progress = no_progress,
                 error_limit: int = MAX_KEPT_ERRORS,
                 today: dt.date | None = None, valid_only: bool = False) -> FeedOutcome:
    """Validate and import ``table`` into ``feed``, matching within the feed's node; all
    or nothing unless ``valid_only``."""
    outcome = FeedOutcome(feed, table.file_name)
    sink = ErrorSink(error_limit)
    scope = _scope(user, feed)
    Feed.objects.filter(pk=feed.pk).update(
        status=Feed.Status.VALIDATING,
        started_at=Coalesce(F("started_at"), Value(timezone.now())))
    stage = Stage()
    try:
        validator = SettlementValidator(table.file_name, table.mapping, today,
                                        json=table.format == "json")
        try:
            outcome.rows = _validate(table, validator, stage, sink, progress)
        except ImportFileError as exc:  # a row the reader could not read at all
            return _refused(feed, table.file_name, exc)
        if outcome.rows == 0:
            return _refused(feed, table.file_name,
                            ImportFileError(table.file_name, "文件中没有数据行（只有表头）"))
        if sink.count and not valid_only:
            return _refused_rows(feed, outcome, sink)
        progress("importing", 0, IMPORT_STEPS)
        with transaction.atomic():
            _load(stage, feed, scope, sink, validator, progress)
            _finish(feed, outcome, stage, sink, scope)
    finally:
        stage.drop()
    if outcome.rows <= IN_MEMORY_ROWS:
        outcome.row_list = list(row_outcomes(feed))
    return outcome


def _new_feed(user, name: str, source: str, union: Union | None = None) -> Feed:
    return Feed.objects.create(source=source, file_name=name[:255],
                               user=user if getattr(user, "pk", None) else None,
                               union=union or getattr(user, "union", None))


def _scope(user, feed: Feed) -> ImportScope:
    """The importing user's subtree, or the feed's node when it lies below the user's."""
    scope = ImportScope.for_user(user)
    node = feed.union
    if node is not None and (scope.prefix is None or node.path.startswith(scope.prefix)):
        return ImportScope(user, node.path)
    return scope


def _refused(feed: Feed, name: str, exc: ImportFileError) -> FeedOutcome:
    outcome = FeedOutcome(feed, name, errors=[exc.error], error_count=1)
    Feed.objects.filter(pk=feed.pk).update(
        status=Feed.Status.FAILED, error_count=1, errors=[exc.error.as_dict()],
        message=outcome.summary()[:500], finished_at=timezone.now(), stored_path="")
    feed.refresh_from_db()
    return outcome


def _refused_rows(feed: Feed, outcome: FeedOutcome, sink: ErrorSink) -> FeedOutcome:
    """Invalid rows in an all-or-nothing feed: nothing imported, every error reported."""
    outcome.invalid = len(sink.bad_rows)
    outcome.errors = sorted(sink.kept, key=lambda e: e.row)
    outcome.error_count = sink.count
    outcome.imported = False
    Feed.objects.filter(pk=feed.pk).update(
        status=Feed.Status.FAILED, rows=outcome.rows, invalid=outcome.invalid,
        error_count=outcome.error_count,
        errors=[e.as_dict() for e in outcome.errors[:KEPT_ON_FEED]],
        message=outcome.summary()[:500], finished_at=timezone.now(), stored_path="")
    feed.refresh_from_db()
    return outcome


def _validate(table: FeedTable, validator: SettlementValidator, stage: Stage, sink: ErrorSink,
              progress: Progress) -> int:
    """First pass: every row through the validator into the stage; duplicates in the
    file are invalid (the first one stands). Returns the number of data rows."""
    # The loop makes no reference cycles; the collector's passes over a growing heap
    # cost a tenth of a million-row feed's time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        total = _stage_rows(table, validator, stage, sink, progress)
    finally:
        if collecting:
            gc.enable()
    stage.flush()
    stage.analyze()
    progress("validating", total, total)
    return total


def _stage_rows(table: FeedTable, validator: SettlementValidator, stage: Stage,
                sink: ErrorSink, progress: Progress) -> int:
    seal = crypto.sealer(column=crypto.SETTLEMENT_ID_NUMBER)
    index = crypto.blind_indexer()  # refuses while a key rotation rebuilds the indexes
    first_row_of: dict[str, int] = {}
    header = validator.header("settlement_id")
    total = 0
    for row, cells in table.rows:
        total += 1
        parsed, errors = validator(row, cells)
        sid = validator.last_id
        if sid:
            first = first_row_of.setdefault(sid, row)
            if first != row:
                errors.append(RowError(table.file_name, row, header, f"结算ID与第{first}行重复"))
        if errors:
            sink.add(errors)
            stage.add_invalid(row, sid, "；".join(e.message for e in errors))
        else:
            stage.add_valid(parsed, index(parsed.id_number), seal(parsed.id_number))
        if not total % PROGRESS_EVERY:
            progress("validating", total, None)
    return total


def _load(stage: Stage, feed: Feed, scope: ImportScope, sink: ErrorSink,
          validator: SettlementValidator, progress: Progress) -> None:
    """Second pass, in the import's transaction: known rows, the ones among them whose
    facts differ (held as collisions, each told in the same words), the new stays, late
    matches of known ones, and every row's outcome."""
    stage.lock_settlements()
    known = stage.mark_known()
    progress("importing", 1, IMPORT_STEPS)
    conflicts = stage.mark_conflicts(COLLISION) if known else 0
    if conflicts:
        header = validator.header("settlement_id")
        sink.add(RowError(validator.file, row, header, COLLISION)
                 for row in stage.conflict_rows())
    progress("importing", 2, IMPORT_STEPS)
    now = timezone.now()
    stage.insert_new(feed, scope.prefix, now)
    progress("importing", 3, IMPORT_STEPS)
    if known:
        stage.rematch_known(feed, scope.prefix)
    stage.insert_feed_rows(feed, scope.prefix)
    if conflicts:
        stage.insert_conflicts(feed, now)
    progress("importing", 4, IMPORT_STEPS)


def _finish(feed: Feed, outcome: FeedOutcome, stage: Stage, sink: ErrorSink,
            scope: ImportScope) -> None:
    counts = stage.counts(feed)
    by_outcome: dict[str, int] = {}
    by_match: dict[str, int] = {}
    for (o, m), n in counts.items():
        by_outcome[o] = by_outcome.get(o, 0) + n
        by_match[m] = by_match.get(m, 0) + n
    outcome.invalid = by_outcome.get(FeedRow.Outcome.INVALID, 0)
    outcome.new = by_outcome.get(FeedRow.Outcome.NEW, 0)
    outcome.already_known = by_outcome.get(FeedRow.Outcome.KNOWN, 0)
    outcome.matched = by_match.get(FeedRow.Match.MATCHED, 0)
    outcome.unmatched_not_member = by_match.get(FeedRow.Match.NOT_MEMBER, 0)
    outcome.unmatched_outside_scope = by_match.get(FeedRow.Match.OUTSIDE_SCOPE, 0)
    outcome.collisions = by_outcome.get(FeedRow.Outcome.CONFLICT, 0)
    outcome.errors = sorted(sink.kept, key=lambda e: e.row)
    outcome.error_count = sink.count
    outcome.imported = True
    Feed.objects.filter(pk=feed.pk).update(
        status=Feed.Status.DONE, rows=outcome.rows, invalid=outcome.invalid, new=outcome.new,
        already_known=outcome.already_known, matched=outcome.matched,
        unmatched_not_member=outcome.unmatched_not_member,
        unmatched_outside_scope=outcome.unmatched_outside_scope,
        collisions=outcome.collisions, error_count=outcome.error_count,
        errors=[e.as_dict() for e in outcome.errors[:KEPT_ON_FEED]],
        message=outcome.summary()[:500], finished_at=timezone.now(), stored_path="")
    feed.refresh_from_db()
    if outcome.collisions:
        record(scope.actor, AuditEntry.Action.FEED_COLLISION, feed,
               union_path=getattr(feed.union, "path", "") or "",
               summary=f"医保结算数据 {outcome.file_name}：{outcome.collisions}行结算ID已有内容"
                       f"不同的结算记录，未导入，待{_node_name(feed)}管理员核对",
               changes={"file": outcome.file_name, "collisions": outcome.collisions})
    record(scope.actor, AuditEntry.Action.FEED_IMPORTED, feed,
           union_path=getattr(feed.union, "path", "") or "", summary=outcome.summary(),
           changes={"file": outcome.file_name, "source": feed.source, "rows": outcome.rows,
                    "invalid": outcome.invalid, "new": outcome.new,
                    "already_known": outcome.already_known, "matched": outcome.matched,
                    "unmatched_not_member": outcome.unmatched_not_member,
                    "unmatched_outside_scope": outcome.unmatched_outside_scope,
                    "collisions": outcome.collisions})


def _node_name(feed: Feed) -> str:
    return feed.union.name if feed.union is not None else "系统"


def row_outcomes(feed: Feed) -> Iterator[RowOutcome]:
    """Every data row's outcome, in row order, streamed from the database."""
    labels = dict(FeedRow.Match.choices)
    qs = FeedRow.objects.filter(feed=feed).order_by("row").values_list(
        "row", "settlement_id", "outcome", "member_id", "match", "message", "stay_id")
    for row, sid, outcome, member_id, match, message, stay_id in qs.iterator(chunk_size=20_000):
        if outcome in (FeedRow.Outcome.INVALID, FeedRow.Outcome.CONFLICT):
            reason = message
        else:
            reason = "" if match == FeedRow.Match.MATCHED else labels[match]
        yield RowOutcome(row, sid, outcome, member_id, match, reason, stay_id)
