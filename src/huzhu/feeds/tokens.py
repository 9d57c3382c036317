"""API tokens for pushing feeds: one per data officer (or several, one per system), each
scoped to its user's union node.

Only a keyed hash of a token is stored (HMAC under ``HUZHU_INDEX_KEY``, like the blind
indexes), so a copy of the database cannot be used to push; the token is shown once, when
it is made. A revoked token, or one whose user may no longer import feeds
(``feeds.import`` in :mod:`huzhu.orgs.roles`), is refused.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from huzhu.audit.log import record
from huzhu.audit.models import AuditEntry
from huzhu.feeds.models import FeedToken
from huzhu.lib import crypto
from huzhu.orgs import roles
from huzhu.orgs.models import User

TOKEN_PREFIX = "hzf_"
SHOWN_PREFIX = 10  # "hzf_" and six characters: enough to tell tokens apart on the page


def hash_token(raw: str) -> str:
    return crypto.blind_index("feed-token:" + raw.strip())


def create_token(user: User, *, label: str = "") -> tuple[FeedToken, str]:
    """A new token for ``user`` (who must be a data officer); the plaintext is returned
    once and never stored."""
    roles.require(user, "feeds.import")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = FeedToken.objects.create(user=user, label=label[:100], created_by=user,
                                         token_hash=hash_token(raw), prefix=raw[:SHOWN_PREFIX])
        record(user, AuditEntry.Action.FEED_TOKEN_CREATED, token,
               union_path=getattr(user.union, "path", "") or "",
               summary=f"创建数据接口令牌 {token.prefix}…（{label or '未说明用途'}）",
               changes={"token": token.prefix, "label": label})
    return token, raw


def revoke_token(token: FeedToken, *, by: User) -> bool:
    """Revoke ``token``; False if it was revoked already."""
    with transaction.atomic():
        changed = FeedToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if changed:
            record(by, AuditEntry.Action.FEED_TOKEN_REVOKED, token,
                   union_path=getattr(token.user.union, "path", "") or "",
                   summary=f"吊销数据接口令牌 {token.prefix}…（{token.user}）",
                   changes={"token": token.prefix})
    token.refresh_from_db()
    return bool(changed)


def authenticate(raw: str) -> FeedToken | None:
    """The live token ``raw`` is, or None (unknown, malformed or revoked)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (FeedToken.objects.select_related("user__union")
             .filter(token_hash=hash_token(raw), revoked_at__isnull=True).first())
    if token is None:
        return None
    FeedToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token
