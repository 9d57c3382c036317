"""The REST API (django-ninja): members, unions and units, scoped like the web pages.

Session authentication with CSRF for now (the web app's own login); OpenAPI docs at
/api/docs for logged-in staff. Full ID numbers are never returned here.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from ninja import NinjaAPI, Query, Schema
from ninja.security import django_auth

from huzhu.members.models import Member
from huzhu.members.search import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    MemberQuery,
    page_members,
    search_members,
    search_units,
)
from huzhu.orgs.models import Union, Unit
from huzhu.orgs.scope import get_scoped_or_404, scoped_unions

api = NinjaAPI(
    title="职工互助保障 API",
    version="1",
    description="会员、工会与单位查询。所有结果都限于当前用户所属工会及其下级。",
    auth=django_auth,
    docs_decorator=login_required,
    urls_namespace="api",
)


class UnionOut(Schema):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


class UnitOut(Schema):
    id: int
    name: str
    uscc: str
    uscc_check_ok: bool
    union_id: int
    union_name: str
    contact_name: str
    contact_phone: str
    address: str

    @staticmethod
    def resolve_union_name(obj: Unit) -> str:
        return obj.union.name


class MemberOut(Schema):
    id: int
    name: str
    id_number_masked: str
    gender: str
    birth_date: dt.date
    phone: str
    unit_id: int
    unit_name: str
    union_id: int
    union_name: str
    status: str
    occupation: str
    joined_on: dt.date | None

    @staticmethod
    def resolve_unit_name(obj: Member) -> str:
        return obj.unit.name

    @staticmethod
    def resolve_union_name(obj: Member) -> str:
        return obj.union.name


class MemberDetailOut(MemberOut):
    bank_account_masked: str
    family_head_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MemberPage(Schema):
    items: list[MemberOut]
    next_after: int | None
    prev_before: int | None


class UnitPage(Schema):
    items: list[UnitOut]
    next_after: int | None


class MemberFilters(Schema):
    q: str = ""
    status: str = ""
    occupation: str = ""
    union: int | None = None
    unit: int | None = None
    after: int | None = None
    before: int | None = None
    limit: int = PAGE_SIZE


@api.get("/members", response=MemberPage, tags=["会员"], summary="会员列表（分页、可搜索）")
def list_members(request: HttpRequest, filters: Query[MemberFilters]):
    """Keyset pages, newest first: pass ``next_after`` back as ``after`` for the next page.

    ``q`` is read as a full ID number, a mobile number, the last four ID characters or a
    name prefix, as in the web search box.
    """
    params = {k: "" if v is None else str(v) for k, v in filters.dict().items()}
    query = MemberQuery.from_params(params)
    page = page_members(search_members(request.user, query), after=filters.after,
                        before=filters.before, size=min(filters.limit, MAX_PAGE_SIZE))
    return {"items": page.items, "next_after": page.next_after,
            "prev_before": page.prev_before}


@api.get("/members/{member_id}", response=MemberDetailOut, tags=["会员"], summary="会员详情")
def member_detail(request: HttpRequest, member_id: int):
    return get_scoped_or_404(request.user, Member.objects.select_related("unit", "union"),
                             union_field="union", pk=member_id)


@api.get("/unions", response=list[UnionOut], tags=["工会"], summary="工会（某节点的下级）")
def list_unions(request: HttpRequest, parent: int | None = None):
    """Without ``parent``: the user's own node (or the roots); with it: its children."""
    qs = scoped_unions(request.user)
    if parent is not None:
        return list(qs.filter(parent_id=parent).order_by("code", "id"))
    if request.user.union_id:
        return list(qs.filter(pk=request.user.union_id))
    return list(qs.filter(parent=None).order_by("code", "id"))


@api.get("/unions/{union_id}", response=UnionOut, tags=["工会"], summary="工会详情")
def union_detail(request: HttpRequest, union_id: int):
    return get_scoped_or_404(request.user, Union.objects.all(), union_field="", pk=union_id)


@api.get("/units", response=UnitPage, tags=["单位"], summary="单位列表")
def list_units(request: HttpRequest, q: str = "", union: int | None = None,
               after: int | None = None, limit: int = PAGE_SIZE):
    size = max(1, min(limit, MAX_PAGE_SIZE))
    qs = search_units(request.user, q, union).select_related("union")
    if after:
        qs = qs.filter(id__gt=after)
    rows = list(qs[: size + 1])
    return {"items": rows[:size], "next_after": rows[size - 1].id if len(rows) > size else None}


@api.get("/units/{unit_id}", response=UnitOut, tags=["单位"], summary="单位详情")
def unit_detail(request: HttpRequest, unit_id: int):
    return get_scoped_or_404(request.user, Unit.objects.select_related("union"),
                             union_field="union", pk=unit_id)
