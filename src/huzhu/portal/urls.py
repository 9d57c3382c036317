from django.urls import URLPattern, URLResolver, include, path

from huzhu.portal import views

app_name = "portal"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("login/code/", views.login_code, name="login-code"),
    path("logout/", views.logout, name="logout"),
    path("claims/", views.claim_list, name="claims"),
    path("claims/new/", views.claim_new, name="claim-new"),
    path("claims/<id:claim_id>/", views.claim_detail, name="claim"),
    path("bank/", views.bank, name="bank"),
    path("bank/confirm/", views.bank_confirm, name="bank-confirm"),
    path("", include("huzhu.portal.appeal_urls")),
]
