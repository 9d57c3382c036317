"""The one demo generator: a list of steps, run in order in one transaction.

Later features extend the demo by appending their steps to :data:`STEPS` (enrolments
after the registry, claims after enrolments, feeds …); each finds what the steps before
it made on the :class:`~huzhu.demo.base.DemoContext`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.management import call_command
from django.db import connection, transaction

from huzhu.demo import (
    claims,
    coverage,
    feeds,
    history,
    member_logins,
    names,
    registry,
    statistics,
)
from huzhu.demo.base import DemoContext, NullProgress, Progress, Step
from huzhu.members.models import Member
from huzhu.orgs.models import Union, Unit, User

# History before the claims of 2026: those are computed, as in life, against what the
# past months paid; the statistics last, over everything.
# Then the members who sign in to the members' pages (one of them given a rejection to
# appeal), before the statistics count it.
STEPS: list[Step] = [*registry.STEPS, *coverage.STEPS, *history.STEPS, *claims.STEPS,
                     *feeds.STEPS, *member_logins.STEPS, *statistics.STEPS]
DEMO_PASSWORD = registry.DEMO_PASSWORD


def demo_exists() -> bool:
    """Generation is one transaction: the city union and the superuser exist together."""
    return (Union.objects.filter(code=names.CITY_CODE, name=names.CITY_UNION_NAME).exists()
            and User.objects.filter(username="superuser").exists())


def database_is_empty() -> bool:
    return not (Union.objects.exists() or Unit.objects.exists() or Member.objects.exists())


def generate(members: int = 20000, seed: int = 1,
             progress: Progress | None = None) -> DemoContext:
    """Run every step; all or nothing, so an interrupted run leaves no half a city."""
    ctx = DemoContext(seed=seed, members=members, progress=progress or NullProgress())
    _roomy_sqlite_cache()
    with transaction.atomic():
        for step in STEPS:
            step.run(ctx)
    return ctx


def reset() -> None:
    """Empty every table (the append-only audit log too: the demo starts over)."""
    _roomy_sqlite_cache()
    call_command("flush", interactive=False, verbosity=0)


def _roomy_sqlite_cache() -> None:
    """Inserting (or deleting) a million members in one transaction touches random pages
    of the blind-index indexes; with SQLite's 2 MB default cache each one is spilled to
    the WAL and read back. 400 MB (negative = KiB) keeps them in memory."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -400000")


@dataclass(frozen=True)
class Login:
    username: str
    role: str
    union: str
    scope_members: int


def logins() -> list[Login]:
    """The demo logins as they are in the database, with how many members each sees."""
    usernames = [*registry.STAFF, "superuser"]
    found = {u.username: u for u in User.objects.filter(username__in=usernames)
             .select_related("union")}
    rows = []
    for username in usernames:
        user = found.get(username)
        if user is None:
            continue
        if user.union is None:
            union, members = "全部（Django 管理后台）", Member.objects.count()
        else:
            union = user.union.name
            members = Member.objects.filter(union__path__startswith=user.union.path).count()
        rows.append(Login(username, user.get_role_display(), union, members))
    return rows
