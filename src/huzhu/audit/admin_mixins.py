"""Django admin changes go to the audit log like every other change."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from huzhu.audit import log
from huzhu.audit.models import AuditEntry

# Never written to the log, even as old → new: only that they changed.
SECRET_FIELDS = frozenset({"password", "id_number_sealed", "bank_account_sealed"})


class AuditedAdmin(admin.ModelAdmin):
    """Record every add, change and delete made in the admin, with old → new values."""

    def save_model(self, request, obj, form, change: bool) -> None:
        before = _values(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else {}
        super().save_model(request, obj, form, change)
        after = _values(obj)
        changes = {name: ("已修改" if name in SECRET_FIELDS else [before.get(name), value])
                   for name, value in after.items() if before.get(name) != value}
        if changes or not change:
            verb = "修改" if change else "新增"
            log.record(request.user, AuditEntry.Action.ADMIN_CHANGED, obj,
                       summary=f"管理后台{verb}{obj._meta.verbose_name}“{obj}”",
                       changes=changes)

    def delete_model(self, request, obj) -> None:
        self._record_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self._record_delete(request, obj)
        super().delete_queryset(request, queryset)

    def _record_delete(self, request, obj) -> None:
        log.record(request.user, AuditEntry.Action.ADMIN_DELETED, obj,
                   summary=f"管理后台删除{obj._meta.verbose_name}“{obj}”",
                   changes=_values(obj, secrets=False))


def _values(obj, *, secrets: bool = True) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            if secrets:  # compared only: the log says "已修改", never the value
                raw = getattr(obj, field.attname)
                values[field.name] = bytes(raw) if isinstance(raw, memoryview) else raw
            continue
        if field.name.endswith("_hash") or field.name in {"updated_at", "last_login", "path"}:
            continue
        raw = getattr(obj, field.attname)
        if field.is_relation and raw is not None:
            related = getattr(obj, field.name)
            raw = str(related)
        values[field.name] = raw if isinstance(raw, str | int | bool | type(None)) else str(raw)
    return values
