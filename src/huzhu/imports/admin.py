"""Import jobs in the Django admin: read-only, for following what was imported when."""

from __future__ import annotations

from django.contrib import admin

from huzhu.imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "file_name", "user", "status", "total_rows",
                    "created_count", "updated_count", "error_count")
    list_filter = ("kind", "status")
    list_select_related = ("user",)
    exclude = ("errors",)
    readonly_fields = [f.name for f in ImportJob._meta.fields if f.name != "errors"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
