"""The members API: search and one member, scoped and masked like the web pages."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from huzhu.audit import limits
from huzhu.lib.paging import MAX_PAGE_SIZE, PAGE_SIZE, keyset_page
from huzhu.lib.params import ApiId, PathId
from huzhu.members.access import get_member_for_user
from huzhu.members.models import Member
from huzhu.members.search import MemberQuery, search_members

router = Router(tags=["会员"])


class MemberOut(Schema):
    id: int
    name: str
    id_number_masked: str
    gender: str
    age: int  # by birth year; the birth date only for roles that see full numbers
    birth_date: dt.date | None
    phone: str
    unit_id: int
    unit_name: str
    union_id: int
    union_name: str
    status: str
    occupation: str
    joined_on: dt.date | None

    @staticmethod
    def resolve_age(obj: Member) -> int:
        return obj.age_this_year

    @staticmethod
    def resolve_birth_date(obj: Member, context) -> dt.date | None:
        # The masked ID hides exactly the birth date: roles without full-number rights
        # get the age instead.
        return obj.birth_date if context["request"].user.has_perm("members.see_full_id") else None

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

    @staticmethod
    def resolve_family_head_id(obj: Member, context) -> int | None:
        """Only a family head the caller may see: another union's member stays unnamed."""
        if obj.family_head_id is None:
            return None
        visible = Member.objects.visible_to(context["request"].user)
        return obj.family_head_id if visible.filter(pk=obj.family_head_id).exists() else None


class MemberPage(Schema):
    items: list[MemberOut]
    next_after: int | None
    prev_before: int | None


class MemberFilters(Schema):
    q: str = Field("", max_length=50,
                   description="姓名开头（证件号、手机号请用 POST /members/search）")
    status: str = ""
    occupation: str = ""
    union: ApiId | None = None
    unit: ApiId | None = None
    after: ApiId | None = None
    before: ApiId | None = None
    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class MemberSearch(MemberFilters):
    q: str = Field("", max_length=50,
                   description="完整身份证号、手机号、身份证号后四位或姓名开头")


@router.get("/members", response=MemberPage, summary="会员列表（分页、可按姓名搜索）")
def list_members(request: HttpRequest, filters: Query[MemberFilters]):
    """Keyset pages, newest first: pass ``next_after`` back as ``after`` for the next page.

    ``q`` here is a name prefix only: a number in a URL lands in access logs, so searches
    by ID number, mobile number or the last four ID characters go to ``POST /members/search``.
    """
    query = _query(filters)
    if query.kind not in ("", "name"):
        raise HttpError(400, "按证件号或手机号查询请使用 POST /api/members/search，"
                             "把查询内容放在请求正文中，不要放在网址里")
    return _page(request, query, filters)


@router.post("/members/search", response=MemberPage, summary="搜索会员（证件号、手机号、姓名）")
def search(request: HttpRequest, body: MemberSearch):
    """The web search box's rules; searches by ID number count toward the daily limit."""
    query = _query(body)
    if query.by_number:
        try:
            limits.check(request.user, limits.SEARCH)
        except limits.LookupLimitReached as exc:
            raise HttpError(429, str(exc)) from None
    page = _page(request, query, body)
    if query.by_number:
        limits.spend(request.user, limits.SEARCH,
                      f"{query.describe()}（接口），结果 {len(page['items'])} 条",
                      {"kind": query.kind, "api": True})
    return page


def _query(filters: MemberFilters) -> MemberQuery:
    params = {k: "" if v is None else str(v) for k, v in filters.dict().items()}
    return MemberQuery.from_params(params)


def _page(request: HttpRequest, query: MemberQuery, filters: MemberFilters) -> dict:
    page = keyset_page(search_members(request.user, query).prefetch_related("unit", "union"),
                       after=filters.after, before=filters.before, size=filters.limit)
    return {"items": page.items, "next_after": page.next_after,
            "prev_before": page.prev_before}


@router.get("/members/{member_id}", response=MemberDetailOut, summary="会员详情")
def member_detail(request: HttpRequest, member_id: PathId):
    return get_member_for_user(request.user, member_id)
