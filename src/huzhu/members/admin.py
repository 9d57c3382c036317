"""Django admin for members: masked numbers only; sensitive values are set in the app."""

from __future__ import annotations

from django.contrib import admin

from huzhu.audit.admin_mixins import AuditedAdmin
from huzhu.members.models import Member


@admin.register(Member)
class MemberAdmin(AuditedAdmin):
    list_display = ("name", "id_number_masked", "gender", "birth_date", "phone", "unit",
                    "union", "status", "occupation")
    list_filter = ("status", "occupation", "gender")
    search_fields = ("name", "=phone")
    raw_id_fields = ("unit", "family_head")
    list_select_related = ("unit", "union")
    readonly_fields = ("id_number_masked", "bank_account_masked", "birth_date", "gender",
                       "union", "created_at", "updated_at")
    fields = ("name", "id_number_masked", "birth_date", "gender", "phone", "unit", "union",
              "joined_on", "status", "occupation", "family_head", "bank_account_masked",
              "created_at", "updated_at")
    show_full_result_count = False

    @admin.display(description="身份证号")
    def id_number_masked(self, obj: Member) -> str:
        return obj.id_number_masked

    @admin.display(description="银行账号")
    def bank_account_masked(self, obj: Member) -> str:
        return obj.bank_account_masked or "—"

    def has_add_permission(self, request) -> bool:
        # New members need a validated ID number: use the app's form or the importer.
        return False

    def save_model(self, request, obj: Member, form, change: bool) -> None:
        obj.union = obj.unit.union  # the scope column follows the unit
        super().save_model(request, obj, form, change)
