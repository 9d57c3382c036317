from django.urls import path, re_path

from huzhu.web.views import audit, home, members, unions, units

urlpatterns = [
    path("", home.home, name="home"),
    path("unions/", unions.tree, name="union-tree"),
    path("unions/<int:union_id>/children/", unions.children, name="union-children"),
    path("units/", units.unit_list, name="unit-list"),
    path("units/new/", units.unit_create, name="unit-create"),
    path("units/<int:unit_id>/", units.unit_detail, name="unit-detail"),
    path("units/<int:unit_id>/edit/", units.unit_edit, name="unit-edit"),
    path("members/", members.member_list, name="member-list"),
    path("members/new/", members.member_create, name="member-create"),
    path("members/export.xlsx", members.member_export, name="member-export"),
    path("members/<int:member_id>/", members.member_detail, name="member-detail"),
    path("members/<int:member_id>/edit/", members.member_edit, name="member-edit"),
    re_path(r"^members/(?P<member_id>[0-9]+)/reveal/(?P<field>id_number|bank_account)/$",
            members.reveal, name="member-reveal"),
    path("audit/", audit.audit_log, name="audit-log"),
]
