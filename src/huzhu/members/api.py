"""The members API: search and one member, scoped and masked like the web pages."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema

from huzhu.members.access import get_member_for_user
from huzhu.members.models import Member
from huzhu.members.search import MemberQuery, search_members
from huzhu.web.paging import MAX_PAGE_SIZE, PAGE_SIZE, keyset_page

router = Router(tags=["会员"])


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


class MemberFilters(Schema):
    q: str = ""
    status: str = ""
    occupation: str = ""
    union: int | None = None
    unit: int | None = None
    after: int | None = None
    before: int | None = None
    limit: int = PAGE_SIZE


@router.get("/members", response=MemberPage, summary="会员列表（分页、可搜索）")
def list_members(request: HttpRequest, filters: Query[MemberFilters]):
    """Keyset pages, newest first: pass ``next_after`` back as ``after`` for the next page.

    ``q`` is read as a full ID number, a mobile number, the last four ID characters or a
    name prefix, as in the web search box.
    """
    params = {k: "" if v is None else str(v) for k, v in filters.dict().items()}
    query = MemberQuery.from_params(params)
    page = keyset_page(search_members(request.user, query).prefetch_related("unit", "union"),
                       after=filters.after, before=filters.before,
                       size=min(filters.limit, MAX_PAGE_SIZE))
    return {"items": page.items, "next_after": page.next_after,
            "prev_before": page.prev_before}


@router.get("/members/{member_id}", response=MemberDetailOut, summary="会员详情")
def member_detail(request: HttpRequest, member_id: int):
    return get_member_for_user(request.user, member_id)
