from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from huzhu.api.routes import api

admin.site.site_header = "职工互助保障系统 · 管理后台"
admin.site.site_title = "互助保障管理后台"
admin.site.index_title = "数据维护"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", api.urls),
    path("imports/", include("huzhu.members.urls", namespace="imports")),
    path("", include("huzhu.web.urls")),
]
