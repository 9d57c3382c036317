from django.urls import path

from huzhu.orgs import views

app_name = "orgs"

urlpatterns = [
    path("unions/", views.union_tree, name="union-tree"),
    path("unions/<id:union_id>/children/", views.union_children, name="union-children"),
    path("units/", views.unit_list, name="unit-list"),
    path("units/new/", views.unit_create, name="unit-create"),
    path("units/<id:unit_id>/", views.unit_detail, name="unit-detail"),
    path("units/<id:unit_id>/edit/", views.unit_edit, name="unit-edit"),
]
