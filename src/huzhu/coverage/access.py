"""Access to one scheme, period, notice or enrolment: the subtree first (404), then the
role (403). Lists start from the models' ``visible_to(user)``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from huzhu.coverage.models import Enrolment, Period, PremiumNotice, Scheme
from huzhu.orgs import roles
from huzhu.orgs.models import Unit, User
from huzhu.orgs.scope import union_path


def get_scheme_for_user(user: User, code: str, *, manage: bool = False) -> Scheme:
    scheme = get_object_or_404(Scheme.objects.visible_to(user).select_related("union"),
                               code=code)
    if manage and not (user.has_perm("coverage.manage_schemes") and
                       _within(user, scheme.union.path)):
        raise PermissionDenied("只有主办工会的管理员可以修改保障项目和互助期")
    return scheme


def _within(user: User, path: str) -> bool:
    prefix = union_path(user)
    return prefix is None or path.startswith(prefix)


def get_period_for_user(user: User, period_id: int, *, manage: bool = False) -> Period:
    period = get_object_or_404(Period.objects.select_related("scheme__union")
                               .filter(scheme__in=Scheme.objects.visible_to(user)), pk=period_id)
    if manage:
        get_scheme_for_user(user, period.scheme.code, manage=True)
    return period


def get_notice_for_user(user: User, notice_id: int, *, pay: bool = False) -> PremiumNotice:
    notice = get_object_or_404(
        PremiumNotice.objects.select_related("period__scheme__union", "unit__union")
        .filter(unit__in=Unit.objects.visible_to(user)), pk=notice_id)
    if pay:
        roles.require(user, "coverage.register_payments")
    return notice


def get_enrolment_for_user(user: User, enrolment_id: int) -> Enrolment:
    return get_object_or_404(
        Enrolment.objects.visible_to(user).select_related("member", "unit", "period__scheme"),
        pk=enrolment_id)
