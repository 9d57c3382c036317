"""The outbox in the Django admin: read-only (messages change only by being sent, or by
an admin's 重发 on the outbox page, which is audited)."""

from __future__ import annotations

from django.contrib import admin

from huzhu.notify.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "kind", "to", "state", "attempts", "sent_at", "union")
    list_filter = ("state", "kind", "channel")
    list_select_related = ("union",)
    search_fields = ("=to", "=dedupe_key")
    raw_id_fields = ("member", "union")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
