"""Which feed, token, run or collision a user may open, and which of a feed's stays they
may read: any staff user follows the feeds and runs made at or below their node (404
outside it); only those who may import feeds (``feeds.import`` in :mod:`huzhu.orgs.roles`:
data officers, admins for now) upload feeds, start runs, manage API tokens and resolve
collisions (403 for other roles).

A feed's page lists every row, but a row's stay (name, masked ID number, hospital,
dates, amounts) only to someone who may know it: the stay of a member in the viewer's
scope; the stay of a person who is no member, to a data officer at or above the feed's
node (who received it and follows it up). Everyone else — a reviewer or clerk of the
feed's node, a data officer about a member of another union — sees the row's settlement
ID and why it matched no one, and the feed's counts.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.shortcuts import get_object_or_404

from huzhu.feeds.models import BatchRun, Feed, FeedCollision, FeedRow, FeedToken, Settlement
from huzhu.members.models import Member
from huzhu.orgs import roles
from huzhu.orgs.models import User


def get_feed_for_user(user: User, feed_id: int) -> Feed:
    return get_object_or_404(Feed.objects.visible_to(user).select_related("user", "union"),
                             pk=feed_id)


def get_token_for_user(user: User, token_id: int) -> FeedToken:
    """A token of a user in the data officer's subtree (they may revoke it)."""
    roles.require(user, "feeds.import")
    return get_object_or_404(FeedToken.objects.visible_to(user).select_related("user__union"),
                             pk=token_id)


def get_run_for_user(user: User, run_id: int) -> BatchRun:
    """A batch run started at or below the user's node."""
    return get_object_or_404(BatchRun.objects.visible_to(user).select_related(
        "feed", "scheme", "user", "union"), pk=run_id)


def get_collision_for_user(user: User, collision_id: int) -> FeedCollision:
    """A collision of a feed made at or below the data officer's node."""
    roles.require(user, "feeds.import")
    found: FeedCollision = get_object_or_404(FeedCollision.objects.visible_to(user).select_related(
        "feed__union", "stay__feed__union", "resolved_by"), pk=collision_id)
    return found


def _people(user: User, hashes: Iterable[str]) -> tuple[set[str], set[str]]:
    """Of these ID-number blind indexes: the members' in the user's scope, and — for a
    data officer only — those of no member anywhere."""
    wanted = {h for h in hashes if h}
    if not wanted:
        return set(), set()
    members = Member.objects.filter(id_number_hash__in=wanted)
    mine = set(members.visible_to(user).values_list("id_number_hash", flat=True))
    strangers: set[str] = set()
    if user.has_perm("feeds.import"):
        strangers = wanted - set(members.values_list("id_number_hash", flat=True))
    return mine, strangers


def readable_people(user: User, hashes: Iterable[str]) -> set[str]:
    """Of these ID-number blind indexes (of rows of feeds the user sees), the ones whose
    facts ``user`` may read: a member in the user's scope, or — for a data officer (their
    feeds are at or below their node) — no member anywhere."""
    mine, strangers = _people(user, hashes)
    return mine | strangers


def shown_stays(user: User, rows: list[FeedRow]) -> list[FeedRow]:
    """The rows with ``shown``: the row's stay when the user may read it, else None (the
    page then shows the settlement ID and the reason only). A non-member's stay also
    needs the feed that brought it to be the user's: a row may point at a stay another
    union's feed brought first, or one a collision's decision replaced."""
    stays = [r.stay for r in rows if r.stay is not None]
    mine, strangers = _people(user, (s.id_number_hash for s in stays))
    theirs = {s.feed_id for s in stays if s.id_number_hash in strangers}
    ours = set(Feed.objects.visible_to(user).filter(pk__in=theirs).values_list(
        "pk", flat=True)) if theirs else set()
    for r in rows:
        stay = r.stay
        readable = stay is not None and (stay.id_number_hash in mine or (
            stay.id_number_hash in strangers and stay.feed_id in ours))
        # An attribute for the template only: the row itself is left as it is.
        setattr(r, "shown", stay if readable else None)  # noqa: B010
    return rows


def stay_readable(user: User, stay: Settlement) -> bool:
    """Whether ``user`` may read a stored stay whatever feed brought it: a member's in
    their scope, or no member's and brought by a feed made at or below the data officer's
    node."""
    members = Member.objects.filter(id_number_hash=stay.id_number_hash)
    if members.visible_to(user).exists():
        return True
    if members.exists() or not user.has_perm("feeds.import"):
        return False
    return Feed.objects.visible_to(user).filter(pk=stay.feed_id).exists()
