"""API tokens for pushing feeds: one per data officer (or several, one per system), each
bound to the union node it was issued for (its user's node then).

Only a keyed hash of a token is stored (HMAC under ``HUZHU_INDEX_KEY``, like the blind
indexes), so a copy of the database cannot be used to push; the token is shown once, when
it is made. A token lives 90 days unless another term is chosen when it is made (at most
a year). A revoked or expired token, or one whose user has since moved to another node, is
refused (401); one whose user may no longer import feeds (``feeds.import`` in
:mod:`huzhu.orgs.roles`) is a 403. Each accepted use is recorded as ``last_used_at``.
"""

from __future__ import annotations

import datetime as dt
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
DEFAULT_DAYS = 90
MAX_DAYS = 366

UNKNOWN = "令牌无效：请检查 Authorization 请求头（Bearer 令牌）是否完整"
MISSING = "缺少令牌：请在 Authorization 请求头中提供 Bearer 令牌"
REVOKED = "令牌已吊销，请向工会数据管理员申请新令牌"
MOVED = "令牌已失效：令牌所属人员已不在签发令牌的工会，请由现所在工会重新申请令牌"


class TokenRefused(Exception):
    """A token that may not push: ``message`` says why (Chinese), ``status`` is the
    answer's code (401: not a usable token; 403: its user may not import)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def hash_token(raw: str) -> str:
    return crypto.blind_index("feed-token:" + raw.strip())


def create_token(user: User, *, label: str = "",
                 days: int = DEFAULT_DAYS) -> tuple[FeedToken, str]:
    """A new token for ``user`` (who must be a data officer), bound to their node and
    valid for ``days`` days; the plaintext is returned once and never stored."""
    roles.require(user, "feeds.import")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"有效期应为 1 至 {MAX_DAYS} 天")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = timezone.now() + dt.timedelta(days=days)
    with transaction.atomic():
        token = FeedToken.objects.create(user=user, label=label[:100], created_by=user,
                                         union=user.union, expires_at=expires,
                                         token_hash=hash_token(raw), prefix=raw[:SHOWN_PREFIX])
        shown = f"{timezone.localtime(expires):%Y-%m-%d}"
        record(user, AuditEntry.Action.FEED_TOKEN_CREATED, token,
               union_path=getattr(user.union, "path", "") or "",
               summary=f"创建数据接口令牌 {token.prefix}…（{label or '未说明用途'}），"
                       f"有效期 {days} 天，至 {shown}",
               changes={"token": token.prefix, "label": label, "days": days,
                        "expires": shown})
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


def authenticate(raw: str) -> FeedToken:
    """The live token ``raw`` is, its use recorded; else :class:`TokenRefused` says why
    (unknown or malformed, revoked, expired, its user moved away from its node, or its
    user no longer a data officer)."""
    if not raw:
        raise TokenRefused(MISSING)
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        raise TokenRefused(UNKNOWN)
    token = (FeedToken.objects.select_related("user__union", "union")
             .filter(token_hash=hash_token(raw)).first())
    if token is None:
        raise TokenRefused(UNKNOWN)
    if token.revoked:
        raise TokenRefused(REVOKED)
    if token.expired:
        when = f"{timezone.localtime(token.expires_at):%Y-%m-%d}" if token.expires_at else ""
        raise TokenRefused(f"令牌已于 {when} 过期，请向工会数据管理员申请新令牌" if when
                           else "令牌已过期，请向工会数据管理员申请新令牌")
    if token.union_id is None or token.user.union_id != token.union_id:
        raise TokenRefused(MOVED)
    if not token.user.has_perm("feeds.import"):
        raise TokenRefused(roles.refusal("feeds.import"), status=403)
    FeedToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token
