"""Django admin for superusers: the union tree, units and staff accounts."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from huzhu.audit import log
from huzhu.audit.admin_mixins import AuditedAdmin
from huzhu.audit.models import AuditEntry
from huzhu.orgs.models import Union, Unit, User


@admin.register(Union)
class UnionAdmin(AuditedAdmin):
    list_display = ("name", "code", "level", "parent", "path")
    list_filter = ("level",)
    search_fields = ("name", "code")
    raw_id_fields = ("parent",)
    readonly_fields = ("path",)


@admin.register(Unit)
class UnitAdmin(AuditedAdmin):
    list_display = ("name", "uscc", "uscc_check_ok", "union", "contact_name", "contact_phone")
    list_filter = ("uscc_check_ok",)
    search_fields = ("name", "uscc")
    raw_id_fields = ("union",)
    list_select_related = ("union",)
    show_full_result_count = False  # no COUNT(*) over a large table on every page

    def save_model(self, request, obj: Unit, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "union" in form.changed_data:
            obj.move_to(obj.union)  # the members follow their unit


@admin.register(User)
class StaffUserAdmin(AuditedAdmin, UserAdmin):
    list_display = ("username", "display_name", "role", "union", "is_active", "is_superuser")
    list_filter = ("role", "is_active", "is_superuser")
    search_fields = ("username", "display_name")
    raw_id_fields = ("union",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("互助保障", {"fields": ("display_name", "role", "union")}),
    )
    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            log.record(request.user, AuditEntry.Action.ADMIN_CHANGED, user,
                       summary=f"管理后台修改工作人员“{user}”的密码",
                       changes={"password": "已修改"})
        return response

    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("互助保障", {"fields": ("display_name", "role", "union")}),
    )
