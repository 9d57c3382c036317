"""Unit (单位) create/edit form and the snapshot its audit entries compare."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from huzhu.audit import limits
from huzhu.lib.forms import BootstrapFormMixin
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.uscc import UsccError, parse_uscc

USCC_ELSEWHERE = ("该统一社会信用代码无法登记：已有该单位的登记记录。"
                  "如该单位需调整所属工会，请联系上级工会办理")


class UnitForm(BootstrapFormMixin, forms.ModelForm):
    """A unit (单位): a USCC whose check character fails needs an explicit confirmation,
    because some genuine codes issued before 2016 fail it."""

    confirm_check = forms.BooleanField(
        label="确认代码无误", required=False,
        help_text="部分2016年前发放的代码校验位不符，核对营业执照后勾选即可登记",
    )

    class Meta:
        model = Unit
        fields = ["name", "uscc", "union", "contact_name", "contact_phone", "address"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        grassroots = Union.objects.visible_to(user).filter(level=Union.Level.GRASSROOTS)
        self.user = user
        self.fields["union"].queryset = grassroots.order_by("code", "id")
        self.fields["union"].empty_label = "请选择基层工会"
        self.fields["uscc"].max_length = 30
        self.fields["uscc"].widget.attrs["maxlength"] = 30
        self.style_widgets()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("单位名称不能为空")
        return name

    def clean_uscc(self) -> str:
        try:
            parsed = parse_uscc(self.cleaned_data.get("uscc", ""))
        except UsccError as exc:
            raise forms.ValidationError(str(exc)) from None
        holder = Unit.objects.filter(uscc=parsed.value).exclude(pk=self.instance.pk).first()
        if holder is not None:
            if Unit.objects.visible_to(self.user).filter(pk=holder.pk).exists():
                raise forms.ValidationError(f"该统一社会信用代码已登记为单位“{holder.name}”")
            raise forms.ValidationError(limits.refuse_elsewhere(
                self.user, "统一社会信用代码", "单位表单", USCC_ELSEWHERE))
        self._uscc = parsed
        return parsed.value

    def clean_contact_phone(self) -> str:
        value = self.cleaned_data.get("contact_phone", "").strip()
        if value and not re.fullmatch(r"[\d\-+ ()]{7,20}", value):
            raise forms.ValidationError("联系电话只能包含数字、空格和“-”，7至20位")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        parsed = getattr(self, "_uscc", None)
        if parsed is not None and not parsed.check_ok and not data.get("confirm_check"):
            self.add_error("uscc", f"校验位不符：按规则最后一位应为 {parsed.expected_check}。"
                                   "如核对营业执照确认无误，请勾选“确认代码无误”后保存")
        return data

    def save(self, commit: bool = True) -> Unit:
        unit: Unit = super().save(commit=False)
        unit.uscc_check_ok = self._uscc.check_ok
        if commit:
            unit.save()
        return unit


def unit_snapshot(unit: Unit) -> dict[str, Any]:
    return {
        "name": unit.name, "uscc": unit.uscc,
        "union": unit.union.name if unit.union_id else None,
        "contact_name": unit.contact_name, "contact_phone": unit.contact_phone,
        "address": unit.address,
    }


def unit_changes(before: dict[str, Any] | None, unit: Unit) -> dict[str, Any]:
    after = unit_snapshot(unit)
    return {key: [None if before is None else before[key], value]
            for key, value in after.items() if before is None or before[key] != value}
