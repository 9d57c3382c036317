"""The audit log in the Django admin: read-only, like everywhere else."""

from __future__ import annotations

from django.contrib import admin

from huzhu.audit import objects
from huzhu.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_text", "summary")
    list_filter = ("action",)
    search_fields = ("summary", "=object_id")
    date_hierarchy = "at"
    list_select_related = ("actor",)
    show_full_result_count = False

    @admin.display(description="对象")
    def object_text(self, entry: AuditEntry) -> str:
        """The object's kind in Chinese and its number, as on the audit log page."""
        if not entry.object_type:
            return ""
        return f"{objects.kind_of(entry.object_type)} 第 {entry.object_id} 号"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
