from django.urls import path

from huzhu.reports import views, whatif_views

app_name = "reports"

urlpatterns = [
    path("", views.statistics_page, name="statistics"),
    path("export.xlsx", views.statistics_xlsx, name="xlsx"),
    path("annual.pdf", views.annual_pdf, name="annual-pdf"),
    path("what-if/", whatif_views.what_if_list, name="what-if-list"),
    path("what-if/new/", whatif_views.what_if_new, name="what-if-new"),
    path("what-if/<id:run_id>/", whatif_views.what_if_detail, name="what-if"),
    path("what-if/<id:run_id>/download/", whatif_views.what_if_download,
         name="what-if-download"),
]
