"""The bureau's push: ``POST /api/feeds`` with a data officer's token.

``Authorization: Bearer <token>`` (made on the 接口令牌 page, shown once). The body is a
feed file — a multipart upload in the field ``file``, or a raw ``text/csv`` body — or JSON:
``{"rows": [{"settlement_id": …, "id_number": …, …}], "file_name": "…"}`` with the English
field names (amounts as strings or JSON numbers, read as decimals, never as floats). The
same validation and idempotence as an uploaded file; rows are matched within the token's
node, or within the node named by ``?union=<code>`` below it; a feed with an invalid row
imports nothing (422) unless ``?valid_only=true``. A row whose settlement ID was stored
before with other facts is not imported and is held for review (``collisions``; the rest
of the feed imports), told in the same words whatever differs. A missing, wrong, revoked
or expired token, or one whose user has left the node it was issued for, is a 401 with
the reason in Chinese; a token whose user may not import feeds, or a ``union`` outside
its node, a 403; an empty push, or a body that is not JSON, CSV or a file, a 400 — and
nothing is written. Too many requests (:mod:`huzhu.feeds.limits`) are a 429 with
``Retry-After``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer

from huzhu.feeds import importing, jobs, limits, tokens
from huzhu.feeds.forms import ALLOWED_SUFFIXES
from huzhu.feeds.models import Feed
from huzhu.imports.errors import ImportFileError
from huzhu.lib.params import PathId
from huzhu.orgs.logins import client_ip
from huzhu.orgs.models import Union
from huzhu.orgs.scope import scoped_unions

SHOWN_ERRORS = 20


class Refusal:
    """What the token check decided against a request: the view answers it (ninja's own
    401 is in English and its errors carry no Retry-After)."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        self.status = status
        self.detail = detail
        self.retry_after = retry_after

    def response(self) -> HttpResponse:
        answer = JsonResponse({"detail": self.detail}, status=self.status,
                              json_dumps_params={"ensure_ascii": False})
        if self.retry_after is not None:
            answer["Retry-After"] = str(self.retry_after)
        if self.status == 401:
            answer["WWW-Authenticate"] = "Bearer"
        return answer


class FeedTokenAuth(HttpBearer):
    """The rate limits, then a live feed token of a user who may import feeds: the
    request gets its token and the user; anything else gets a :class:`Refusal`, which
    :func:`answered` turns into the answer."""

    def __call__(self, request: HttpRequest) -> Any:
        address = client_ip(request) or "unknown"
        limited = limits.check_address(address)
        if limited is not None:
            return Refusal(429, limited.message, limited.retry_after)
        header = request.headers.get(self.header, "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.openapi_scheme:
            raw = ""
        try:
            token = tokens.authenticate(raw.strip())
        except tokens.TokenRefused as refused:
            if refused.status == 401:
                limits.bad_token(address)
            return Refusal(refused.status, refused.message)
        limited = limits.check_token(token.pk)
        if limited is not None:
            return Refusal(429, limited.message, limited.retry_after)
        request.feed_token = token  # type: ignore[attr-defined]
        return token.user

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        raise NotImplementedError  # __call__ does it all


def answered(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer a :class:`Refusal` before the view runs."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if isinstance(request.auth, Refusal):  # type: ignore[attr-defined]
            return request.auth.response()  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


router = Router(tags=["医保结算数据"], auth=FeedTokenAuth())


class RowErrorOut(Schema):
    file: str
    row: int
    column: str
    message: str


class FeedOut(Schema):
    feed_id: int
    status: str
    imported: bool
    rows: int
    invalid: int
    new: int
    already_known: int
    matched: int
    unmatched_not_member: int
    unmatched_outside_scope: int
    collisions: int
    error_count: int
    errors: list[RowErrorOut]
    summary: str


class ProblemOut(Schema):
    detail: str


_BODY_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {
                "type": "object", "required": ["rows"],
                "properties": {
                    "file_name": {"type": "string"},
                    "rows": {"type": "array", "items": {"type": "object", "properties": {
                        f: {"type": "string"} for f in (
                            "settlement_id", "id_number", "name", "hospital", "admit_date",
                            "discharge_date", "total_cost", "fund_paid", "account_paid",
                            "out_of_pocket", "self_pay", "self_expense", "diagnosis",
                            "other_diagnosis")}}},
                }}},
            "multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
            }},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
}


_REFUSALS = {401: ProblemOut, 403: ProblemOut, 429: ProblemOut}


@router.post("/feeds", response={200: FeedOut, 400: ProblemOut, 415: ProblemOut,
                                 422: FeedOut, **_REFUSALS},
             summary="推送医保结算数据", openapi_extra=_BODY_DOC)
@answered
def push_feed(request: HttpRequest, union: str = "", valid_only: bool = False):
    """Import a feed now and answer with its counts and first errors (422 when the feed
    as a whole was refused: nothing of it was imported)."""
    user = request.auth
    target = _target_union(request, union)
    kind = (request.content_type or "").lower()
    if kind != "multipart/form-data" and not _body(request).strip():
        raise HttpError(400, "没有结算记录：请求正文为空")
    try:
        if kind == "application/json":
            records, name = _json_rows(request)
            outcome = importing.import_records(records, user=user, file_name=name,
                                               union=target, valid_only=valid_only)
        elif kind == "multipart/form-data":
            outcome = _import_upload(request, user, target, valid_only)
        elif kind in ("text/csv", "application/octet-stream"):
            path = jobs.store_upload(_body(request), ".csv" if kind == "text/csv" else "")
            outcome = importing.import_feed(path, user=user, file_name="接口推送.csv",
                                            source=Feed.Source.API, union=target,
                                            valid_only=valid_only)
        else:
            raise HttpError(415, "请求正文应为 JSON（rows）、CSV 或 multipart 文件上传（file）")
    except ImportFileError as exc:  # refused before a feed record was made
        raise HttpError(400, exc.error.message) from None
    return Status(200 if outcome.imported else 422, _out(outcome.feed, outcome.errors))


@router.get("/feeds/{feed_id}", response={200: FeedOut, 404: ProblemOut, **_REFUSALS},
            summary="查询一次推送的结果")
@answered
def feed_status(request: HttpRequest, feed_id: PathId):
    feed = Feed.objects.visible_to(request.auth).filter(pk=feed_id).first()
    if feed is None:
        raise HttpError(404, "没有这条记录")
    return _out(feed, jobs.feed_errors(feed))


def _target_union(request: HttpRequest, code: str) -> Union | None:
    """The node the feed is for: the token's own, or one below it named by code (the
    token's user is at the token's node: :func:`huzhu.feeds.tokens.authenticate`)."""
    token = request.feed_token  # type: ignore[attr-defined]
    if not code:
        return token.union
    found = scoped_unions(token.user).filter(code=code[:32]).first()
    if found is None:  # unknown and outside the subtree read the same
        raise HttpError(403, "该令牌无权为此工会推送数据")
    return found


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RawPostDataException:
        raise HttpError(400, "无法读取请求正文") from None


def _json_rows(request: HttpRequest) -> tuple[list[dict], str]:
    try:
        data = json.loads(_body(request), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(400, "请求正文不是有效的 JSON") from None
    except RecursionError:  # the decoder recursed once per nesting level
        raise HttpError(400, "请求正文的 JSON 嵌套层数过多") from None
    if isinstance(data, list):
        data = {"rows": data}
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise HttpError(400, "JSON 应为 {\"rows\": [...]}，rows 为结算记录的数组")
    name = data.get("file_name")
    name = str(name)[:255] if name else "接口推送"
    return data["rows"], name


def _import_upload(request: HttpRequest, user, target: Union | None, valid_only: bool):
    uploaded = request.FILES.get("file")
    if uploaded is None:
        raise HttpError(400, "请在字段 file 中上传文件")
    if Path(uploaded.name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise HttpError(400, "只能上传 .csv、.xlsx、.xls 或 .parquet 文件")
    path = jobs.store_upload(uploaded, Path(uploaded.name).suffix.lower())
    return importing.import_feed(path, user=user, file_name=Path(uploaded.name).name,
                                 source=Feed.Source.API, union=target, valid_only=valid_only)


def _out(feed: Feed, errors) -> dict:
    return {
        "feed_id": feed.pk, "status": feed.status, "imported": feed.status == Feed.Status.DONE,
        "rows": feed.rows, "invalid": feed.invalid, "new": feed.new,
        "already_known": feed.already_known, "matched": feed.matched,
        "unmatched_not_member": feed.unmatched_not_member,
        "unmatched_outside_scope": feed.unmatched_outside_scope,
        "collisions": feed.collisions, "error_count": feed.error_count,
        "errors": [e.as_dict() for e in errors[:SHOWN_ERRORS]], "summary": feed.message,
    }
