from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from huzhu.lib.params import IdConverter

register_converter(IdConverter, "id")

from huzhu.config.api import api  # noqa: E402  (its routes use the converter)

admin.site.site_header = "职工互助保障系统 · 管理后台"
admin.site.site_title = "互助保障管理后台"
admin.site.index_title = "数据维护"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", api.urls),
    path("imports/", include("huzhu.imports.urls")),
    path("members/", include("huzhu.members.urls")),
    path("audit/", include("huzhu.audit.urls")),
    path("coverage/", include("huzhu.coverage.urls")),
    path("claims/", include("huzhu.claims.urls")),
    path("feeds/", include("huzhu.feeds.urls")),
    path("reports/", include("huzhu.reports.urls")),
    path("notify/", include("huzhu.notify.urls")),
    path("payouts/", include("huzhu.claims.payouts.urls")),
    path("documents/", include("huzhu.claims.documents.urls")),
    path("member/", include("huzhu.portal.urls")),
    path("", include("huzhu.orgs.urls")),
    path("", include("huzhu.web.urls")),
]
