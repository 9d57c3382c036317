"""Who may do what with feeds: any staff user follows the feeds made at or below their
node (404 outside it); only data officers (admins, for now) upload feeds and manage API
tokens (403 for other roles)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from huzhu.feeds.models import Feed, FeedToken
from huzhu.feeds.tokens import DATA_OFFICER_MESSAGE, may_import_feeds


def data_officer_required(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_import_feeds(request.user):
            raise PermissionDenied(DATA_OFFICER_MESSAGE)
        return view(request, *args, **kwargs)

    return wrapper


def get_feed_for_user(user, feed_id: int) -> Feed:
    return get_object_or_404(Feed.objects.visible_to(user).select_related("user", "union"),
                             pk=feed_id)


def get_token_for_user(user, token_id: int) -> FeedToken:
    """A token of a user in the data officer's subtree (they may revoke it)."""
    if not may_import_feeds(user):
        raise PermissionDenied(DATA_OFFICER_MESSAGE)
    return get_object_or_404(FeedToken.objects.visible_to(user).select_related("user__union"),
                             pk=token_id)
