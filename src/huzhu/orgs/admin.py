"""Django admin for superusers: the union tree, units and staff accounts."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from huzhu.orgs.models import Union, Unit, User


@admin.register(Union)
class UnionAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "level", "parent", "path")
    list_filter = ("level",)
    search_fields = ("name", "code")
    raw_id_fields = ("parent",)
    readonly_fields = ("path",)


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "uscc_check_ok", "union", "contact_name", "contact_phone")
    list_filter = ("uscc_check_ok",)
    search_fields = ("name", "uscc")
    raw_id_fields = ("union",)
    list_select_related = ("union",)
    show_full_result_count = False  # no COUNT(*) over a large table on every page


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "role", "union", "is_active", "is_superuser")
    list_filter = ("role", "is_active", "is_superuser")
    search_fields = ("username", "display_name")
    raw_id_fields = ("union",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("互助保障", {"fields": ("display_name", "role", "union")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("互助保障", {"fields": ("display_name", "role", "union")}),
    )
