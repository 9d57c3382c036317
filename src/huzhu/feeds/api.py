"""The bureau's push: ``POST /api/feeds`` with a data officer's token.

``Authorization: Bearer <token>`` (made on the 接口令牌 page, shown once). The body is a
feed file — a multipart upload in the field ``file``, or a raw ``text/csv`` body — or JSON:
``{"rows": [{"settlement_id": …, "id_number": …, …}], "file_name": "…"}`` with the English
field names (amounts as strings or JSON numbers, read as decimals, never as floats). The
same validation and idempotence as an uploaded file; rows are matched within the token
user's subtree, or within the node named by ``?union=<code>`` below it; a feed with an
invalid row imports nothing (422) unless ``?valid_only=true``. A missing, wrong
or revoked token is a 401; a token whose user may not import feeds, or a ``union``
outside its subtree, a 403 — and nothing is written.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.http import HttpRequest
from django.http.request import RawPostDataException
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer

from huzhu.feeds import importing, jobs, tokens
from huzhu.feeds.forms import ALLOWED_SUFFIXES
from huzhu.feeds.models import Feed
from huzhu.imports.errors import ImportFileError
from huzhu.lib.params import PathId
from huzhu.orgs import roles
from huzhu.orgs.models import Union
from huzhu.orgs.scope import scoped_unions

SHOWN_ERRORS = 20


class FeedTokenAuth(HttpBearer):
    """A live feed token of a user who may import feeds; the request gets its token."""

    def authenticate(self, request: HttpRequest, token: str):
        found = tokens.authenticate(token)
        if found is None:
            return None  # ninja answers 401
        if not found.user.has_perm("feeds.import"):
            raise HttpError(403, roles.refusal("feeds.import"))
        request.feed_token = found
        return found.user


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


@router.post("/feeds", response={200: FeedOut, 400: ProblemOut, 403: ProblemOut,
                                 415: ProblemOut, 422: FeedOut},
             summary="推送医保结算数据", openapi_extra=_BODY_DOC)
def push_feed(request: HttpRequest, union: str = "", valid_only: bool = False):
    """Import a feed now and answer with its counts and first errors (422 when the feed
    as a whole was refused: nothing of it was imported)."""
    user = request.auth
    target = _target_union(user, union)
    kind = (request.content_type or "").lower()
    if kind == "application/json":
        records, name = _json_rows(request)
        try:
            outcome = importing.import_records(records, user=user, file_name=name,
                                               union=target, valid_only=valid_only)
        except ImportFileError as exc:
            raise HttpError(400, exc.error.message) from None
    elif kind == "multipart/form-data":
        outcome = _import_upload(request, user, target, valid_only)
    elif kind in ("text/csv", "application/octet-stream"):
        path = jobs.store_upload(_body(request), ".csv" if kind == "text/csv" else "")
        outcome = importing.import_feed(path, user=user, file_name="接口推送.csv",
                                        source=Feed.Source.API, union=target,
                                        valid_only=valid_only)
    else:
        raise HttpError(415, "请求正文应为 JSON（rows）、CSV 或 multipart 文件上传（file）")
    return Status(200 if outcome.imported else 422, _out(outcome.feed, outcome.errors))


@router.get("/feeds/{feed_id}", response=FeedOut, summary="查询一次推送的结果")
def feed_status(request: HttpRequest, feed_id: PathId):
    feed = Feed.objects.visible_to(request.auth).filter(pk=feed_id).first()
    if feed is None:
        raise HttpError(404, "没有这条记录")
    return _out(feed, jobs.feed_errors(feed))


def _target_union(user, code: str) -> Union | None:
    """The node the feed is for: the user's own, or one below it named by code."""
    if not code:
        return None
    found = scoped_unions(user).filter(code=code[:32]).first()
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
        "error_count": feed.error_count,
        "errors": [e.as_dict() for e in errors[:SHOWN_ERRORS]], "summary": feed.message,
    }
