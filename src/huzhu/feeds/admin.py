"""Feeds in the Django admin: read-only, masked, for following what came in when."""

from __future__ import annotations

from django.contrib import admin

from huzhu.feeds.models import Feed, FeedCollision, FeedToken, Settlement
from huzhu.feeds.models.proactive import BatchRun, StayOutcome


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # what came from the bureau, and what a run decided, stays


@admin.register(Feed)
class FeedAdmin(ReadOnly):
    list_display = ("created_at", "file_name", "source", "union", "user", "status", "rows",
                    "new", "already_known", "matched", "invalid")
    list_filter = ("status", "source")
    list_select_related = ("union", "user")
    exclude = ("errors",)


@admin.register(Settlement)
class SettlementAdmin(ReadOnly):
    list_display = ("settlement_id", "name", "id_number_masked", "hospital", "admit_date",
                    "discharge_date", "out_of_pocket", "member", "feed")
    search_fields = ("=settlement_id",)
    list_select_related = ("member", "feed")
    exclude = ("id_number_sealed", "id_number_hash")
    show_full_result_count = False

    @admin.display(description="证件号码")
    def id_number_masked(self, obj: Settlement) -> str:
        return obj.id_number_masked


@admin.register(FeedToken)
class FeedTokenAdmin(ReadOnly):
    list_display = ("prefix", "label", "user", "union", "created_at", "expires_at",
                    "last_used_at", "revoked_at")
    list_select_related = ("user", "union")
    exclude = ("token_hash",)


@admin.register(FeedCollision)
class FeedCollisionAdmin(ReadOnly):
    list_display = ("settlement_id", "feed", "row", "status", "created_at", "resolved_by",
                    "resolved_at")
    list_filter = ("status",)
    list_select_related = ("feed", "resolved_by")
    exclude = ("id_number_sealed", "id_number_hash")


@admin.register(BatchRun)
class BatchRunAdmin(ReadOnly):
    list_display = ("created_at", "feed", "scheme", "user", "engine", "status", "phase",
                    "done", "total", "proposed_amount")
    list_filter = ("status", "engine")
    list_select_related = ("feed", "scheme", "user")


@admin.register(StayOutcome)
class StayOutcomeAdmin(ReadOnly):
    list_display = ("run", "row", "settlement_code", "benefit", "outcome", "amount", "reason")
    list_filter = ("outcome", "discovered")
    search_fields = ("=settlement_code",)
    show_full_result_count = False
