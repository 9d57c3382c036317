from django.urls import path

from huzhu.members import export_views, transfer_views, views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("new/", views.member_create, name="create"),
    path("export/", export_views.export_request, name="export"),
    path("exports/", export_views.export_list, name="exports"),
    path("exports/<id:export_id>/", export_views.export_detail, name="export-detail"),
    path("exports/<id:export_id>/download/", export_views.export_download,
         name="export-download"),
    path("transfers/", transfer_views.transfer_list, name="transfers"),
    path("transfers/<id:transfer_id>/decide/", transfer_views.transfer_decide,
         name="transfer-decide"),
    path("<id:member_id>/", views.member_detail, name="detail"),
    path("<id:member_id>/edit/", views.member_edit, name="edit"),
    path("<id:member_id>/reveal/<str:field>/", views.reveal, name="reveal"),
]
