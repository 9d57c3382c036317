"""Which feed, token or run a user may open: any staff user follows the feeds and runs
made at or below their node (404 outside it); only those who may import feeds
(``feeds.import`` in :mod:`huzhu.orgs.roles`: data officers, admins for now) upload
feeds, start runs and manage API tokens (403 for other roles)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from huzhu.feeds.models import BatchRun, Feed, FeedToken
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
