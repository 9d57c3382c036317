from django.urls import path

from huzhu.coverage import fund_views, unit_views, views

app_name = "coverage"

urlpatterns = [
    path("", views.scheme_list, name="schemes"),
    path("new/", views.scheme_create, name="scheme-create"),
    path("notices/", unit_views.notice_list, name="notices"),
    path("notices/<id:notice_id>/pay/", unit_views.register_payment, name="pay"),
    path("notices/<id:notice_id>/pdf/", unit_views.notice_pdf, name="notice-pdf"),
    path("notices/<id:notice_id>/receipt/", unit_views.receipt_pdf, name="receipt-pdf"),
    path("enrolments/<id:enrolment_id>/withdraw/", unit_views.withdraw, name="withdraw"),
    path("enrolments/<id:enrolment_id>/certificate/", unit_views.certificate_pdf,
         name="certificate"),
    path("periods/<id:period_id>/", views.period_detail, name="period"),
    path("periods/<id:period_id>/edit/", views.period_edit, name="period-edit"),
    path("periods/<id:period_id>/advance/", views.period_advance, name="period-advance"),
    path("periods/<id:period_id>/renew/", views.period_renew, name="period-renew"),
    path("periods/<id:period_id>/upload/", views.period_upload, name="period-upload"),
    path("periods/<id:period_id>/remind/", views.period_remind, name="period-remind"),
    path("periods/<id:period_id>/units/<id:unit_id>/", unit_views.unit_period, name="unit"),
    path("periods/<id:period_id>/units/<id:unit_id>/enrol/", unit_views.enrol, name="enrol"),
    path("funds/", fund_views.fund_overview, name="funds"),
    path("ledger/<id:entry_id>/reverse/", fund_views.request_reversal, name="reverse-entry"),
    path("reversals/<id:reversal_id>/approve/", fund_views.approve_reversal,
         name="reversal-approve"),
    path("reversals/<id:reversal_id>/reject/", fund_views.reject_reversal,
         name="reversal-reject"),
    path("<slug:code>/", views.scheme_detail, name="scheme"),
    path("<slug:code>/periods/new/", views.period_create, name="period-create"),
    path("<slug:code>/payee/", views.scheme_payee, name="scheme-payee"),
    path("<slug:code>/straight-through/", views.scheme_straight_through,
         name="scheme-straight-through"),
    path("<slug:code>/subsidy/", fund_views.subsidy, name="subsidy"),
    path("<slug:code>/funds/", fund_views.scheme_funds, name="scheme-funds"),
]
