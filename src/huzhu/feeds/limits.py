"""Rate limits on ``/api/feeds``: per client address, per token, and hardest on bad tokens.

A guessed token costs an attacker nothing but a request, so an address that sends
:data:`BAD_TOKENS_PER_MINUTE` requests with a missing, unknown, revoked or expired token in
one minute is answered 429 for the rest of that minute, whatever it sends; an address may
send :data:`REQUESTS_PER_MINUTE` requests a minute in all, and a token may push
:data:`PUSHES_PER_MINUTE` times a minute (a bureau sends a file a day, not a stream).

The counters are fixed one-minute windows in Django's default cache (``CACHES``): per
process with the local-memory cache, shared by every worker when the cache is shared. The
limits are settings (``HUZHU_FEED_API_BAD_TOKENS_PER_MINUTE`` …) with these defaults.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

BAD_TOKENS_PER_MINUTE = 10
REQUESTS_PER_MINUTE = 120
PUSHES_PER_MINUTE = 30
WINDOW = 60  # seconds
_PREFIX = "huzhu:feeds:api"


@dataclass(frozen=True)
class Limited:
    """Over a limit: the Chinese answer and how many seconds until the window ends."""

    message: str
    retry_after: int


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _window() -> tuple[int, int]:
    """The current window's number and the seconds left in it (at least one)."""
    now = time.time()
    number = int(now // WINDOW)
    return number, max(1, int((number + 1) * WINDOW - now + 0.999))


def _count(kind: str, who: str, add: int = 1) -> int:
    """Add ``add`` to this window's counter of ``kind`` for ``who``; the new total."""
    number, _ = _window()
    key = f"{_PREFIX}:{kind}:{who}:{number}"
    if add == 0:
        return int(cache.get(key, 0))
    cache.add(key, 0, WINDOW * 2)
    try:
        return int(cache.incr(key, add))
    except ValueError:  # evicted between add and incr: start again
        cache.set(key, add, WINDOW * 2)
        return add


def check_address(address: str) -> Limited | None:
    """Count one request from ``address``; refuse it when the address sent too many bad
    tokens this minute, or too many requests."""
    _, left = _window()
    bad = _limit("HUZHU_FEED_API_BAD_TOKENS_PER_MINUTE", BAD_TOKENS_PER_MINUTE)
    if _count("bad", address, 0) >= bad:
        return Limited(f"令牌错误的请求过多（每分钟最多 {bad} 次），请 {left} 秒后再试", left)
    allowed = _limit("HUZHU_FEED_API_REQUESTS_PER_MINUTE", REQUESTS_PER_MINUTE)
    if _count("address", address) > allowed:
        return Limited(f"请求过于频繁（每个地址每分钟最多 {allowed} 次），请 {left} 秒后再试",
                       left)
    return None


def bad_token(address: str) -> None:
    """Count a request from ``address`` whose token was refused."""
    _count("bad", address)


def check_token(token_id: int) -> Limited | None:
    """Count one request with this token; refuse it past the token's limit."""
    _, left = _window()
    allowed = _limit("HUZHU_FEED_API_PUSHES_PER_MINUTE", PUSHES_PER_MINUTE)
    if _count("token", str(token_id)) > allowed:
        return Limited(f"该令牌的请求过于频繁（每分钟最多 {allowed} 次），请 {left} 秒后再试",
                       left)
    return None
