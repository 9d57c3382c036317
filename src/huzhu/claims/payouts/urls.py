from django.urls import path

from huzhu.claims.payouts import views

app_name = "payouts"

urlpatterns = [
    path("", views.batch_list, name="list"),
    path("new/<slug:code>/", views.batch_build, name="build"),
    path("<id:batch_id>/", views.batch_detail, name="detail"),
    path("<id:batch_id>/export/", views.batch_export, name="export"),
    path("<id:batch_id>/pay/", views.batch_pay, name="pay"),
    path("<id:batch_id>/reconcile/", views.batch_reconcile_preview, name="reconcile"),
    path("<id:batch_id>/reconcile/confirm/", views.batch_reconcile_confirm,
         name="reconcile-confirm"),
    path("payout/<id:payout_id>/fail/", views.payout_fail, name="fail"),
]
