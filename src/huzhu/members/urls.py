from django.urls import path

from huzhu.members import views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="list"),
    path("new/", views.member_create, name="create"),
    path("export.xlsx", views.member_export, name="export"),
    path("<id:member_id>/", views.member_detail, name="detail"),
    path("<id:member_id>/edit/", views.member_edit, name="edit"),
    path("<id:member_id>/reveal/<str:field>/", views.reveal, name="reveal"),
]
