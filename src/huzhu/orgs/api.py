"""The unions and units API, scoped like the web pages."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from huzhu.lib.paging import PAGE_SIZE, keyset_page
from huzhu.lib.params import ApiId, PageSize, PathId
from huzhu.orgs.access import get_union_for_user, get_unit_for_user
from huzhu.orgs.models import Union, Unit
from huzhu.orgs.search import search_units

router = Router()


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


class UnitPage(Schema):
    items: list[UnitOut]
    next_after: int | None


@router.get("/unions", response=list[UnionOut], tags=["工会"], summary="工会（某节点的下级）")
def list_unions(request: HttpRequest, parent: ApiId | None = None):
    """Without ``parent``: the user's own node (or the roots); with it: its children."""
    qs = Union.objects.visible_to(request.user)
    if parent is not None:
        return list(qs.filter(parent_id=parent).order_by("code", "id"))
    if request.user.union_id:
        return list(qs.filter(pk=request.user.union_id))
    return list(qs.filter(parent=None).order_by("code", "id"))


@router.get("/unions/{union_id}", response=UnionOut, tags=["工会"], summary="工会详情")
def union_detail(request: HttpRequest, union_id: PathId):
    return get_union_for_user(request.user, union_id)


@router.get("/units", response=UnitPage, tags=["单位"], summary="单位列表")
def list_units(request: HttpRequest, q: str = "", union: ApiId | None = None,
               after: ApiId | None = None, limit: PageSize = PAGE_SIZE):
    page = keyset_page(search_units(request.user, q, union).select_related("union"),
                       after=after, size=limit)
    return {"items": page.items, "next_after": page.next_after}


@router.get("/units/{unit_id}", response=UnitOut, tags=["单位"], summary="单位详情")
def unit_detail(request: HttpRequest, unit_id: PathId):
    return get_unit_for_user(request.user, unit_id)
