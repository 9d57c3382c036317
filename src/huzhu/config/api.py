"""The REST API (django-ninja): each domain app contributes a router.

Session authentication with CSRF for now (the web app's own login); OpenAPI docs at
/api/docs for logged-in staff, with Swagger UI served from the ninja package (no CDN).
Full ID numbers are never returned here.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from ninja import NinjaAPI
from ninja.security import django_auth

from huzhu.feeds.api import router as feeds_router
from huzhu.members.api import router as members_router
from huzhu.orgs.api import router as orgs_router

api = NinjaAPI(
    title="职工互助保障 API",
    version="1",
    description="会员、工会与单位查询。所有结果都限于当前用户所属工会及其下级。",
    auth=django_auth,
    docs_decorator=login_required,
    urls_namespace="api",
)
api.add_router("/", orgs_router)
api.add_router("/", members_router)
api.add_router("/", feeds_router)  # its own token authentication (the bureau's push)
