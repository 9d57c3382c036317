"""The audit log's filter: operation, operator, object number and a date range.

The same filter selects the page and the xlsx export, so the export is exactly the
list on the screen. Dates are calendar days in the office's time zone (Asia/Shanghai),
both ends included.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from huzhu.audit.models import AuditEntry
from huzhu.lib.forms import BootstrapFormMixin
from huzhu.orgs.models import User
from huzhu.orgs.scope import union_path

SYSTEM = "system"  # the operator choice for entries written by the system (no actor)
DATE_FORMAT_ERROR = "请按“2026-06-30”的格式填写日期"


def operator_label(user: User | None) -> str:
    """"张三（审核员 · 甲区总工会）": who acted, in which role and where."""
    if user is None:
        return "系统"
    where = [user.get_role_display()]
    if user.union is not None:
        where.append(user.union.name)
    return f"{user.display_name or user.username}（{' · '.join(where)}）"


def operators(user: User) -> QuerySet[User]:
    """The staff whose entries the reader may see: their own subtree's."""
    qs = User.objects.select_related("union").order_by("union__path", "display_name",
                                                        "username")
    prefix = union_path(user)
    return qs if prefix is None else qs.filter(union__path__startswith=prefix)


class AuditFilterForm(BootstrapFormMixin, forms.Form):
    action = forms.ChoiceField(label="操作", required=False)
    actor = forms.ChoiceField(label="操作人", required=False)
    object = forms.CharField(label="对象编号", required=False, max_length=64)
    date_from = forms.DateField(label="开始日期", required=False, input_formats=["%Y-%m-%d"],
                                error_messages={"invalid": DATE_FORMAT_ERROR})
    date_to = forms.DateField(label="结束日期", required=False, input_formats=["%Y-%m-%d"],
                              error_messages={"invalid": DATE_FORMAT_ERROR})

    def __init__(self, data: Any, *, reader: User) -> None:
        super().__init__(data)
        action = cast(forms.ChoiceField, self.fields["action"])
        action.choices = [("", "全部操作"), *AuditEntry.Action.choices]
        action.error_messages["invalid_choice"] = "没有这种操作，请从列表中选择"
        actor = cast(forms.ChoiceField, self.fields["actor"])
        self.operator_names = {SYSTEM: "系统", **{str(u.pk): operator_label(u)
                                                 for u in operators(reader)}}
        actor.choices = [("", "全部操作人"), *self.operator_names.items()]
        actor.error_messages["invalid_choice"] = "没有这位操作人，或其不在您的管辖范围内"
        for name in ("date_from", "date_to"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"})
        self.style_widgets()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "结束日期不能早于开始日期")
        today = timezone.localdate()
        if start and start > today:
            self.add_error("date_from", "开始日期不能晚于今天")
        return data

    def filter(self, qs: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """``qs`` narrowed to the valid filter (call after ``is_valid()``)."""
        data = self.cleaned_data
        if data.get("action"):
            qs = qs.filter(action=data["action"])
        actor = data.get("actor")
        if actor == SYSTEM:
            qs = qs.filter(actor__isnull=True)
        elif actor:
            qs = qs.filter(actor_id=int(actor))
        if data.get("object"):
            qs = qs.filter(object_id=data["object"].strip())
        if data.get("date_from"):
            qs = qs.filter(at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            qs = qs.filter(at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        return qs

    def described(self) -> str:
        """The filter in words, for the export's audit entry and its file."""
        data = self.cleaned_data
        parts = []
        if data.get("action"):
            parts.append(f"操作：{AuditEntry.Action(data['action']).label}")
        if data.get("actor"):
            parts.append(f"操作人：{self.operator_names[data['actor']]}")
        if data.get("object"):
            parts.append(f"对象编号：{data['object']}")
        if data.get("date_from") or data.get("date_to"):
            start = f"{data['date_from']:%Y-%m-%d}" if data.get("date_from") else "最早"
            end = f"{data['date_to']:%Y-%m-%d}" if data.get("date_to") else "今天"
            parts.append(f"日期：{start} 至 {end}")
        return "；".join(parts) or "全部记录"


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min),
                               timezone.get_current_timezone())
