"""Member create/edit form: the same checks as the importer, one member at a time."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from huzhu import crypto
from huzhu.members.idcard import IdNumberError, parse_id_number
from huzhu.members.models import Member
from huzhu.members.phone import PhoneError, parse_mobile
from huzhu.members.search import scoped_units
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.scope import scoped_by_ids, scoped_unions
from huzhu.orgs.uscc import UsccError, parse_uscc

_BANK_ACCOUNT = re.compile(r"\d{12,30}")

# Fields whose values go into the audit log as they are; the ID number and bank
# account are recorded only as "changed", never in plaintext.
AUDITED_FIELDS = ("name", "phone", "unit", "joined_on", "status", "occupation", "family_head")
SENSITIVE_FIELDS = ("id_number", "bank_account")


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name}（{obj.union.name}）"


class BootstrapFormMixin:
    """Bootstrap classes and stable ids on every widget; ``is-invalid`` on fields in error."""

    def style_widgets(self) -> None:
        for name, field in self.fields.items():
            if isinstance(field, forms.BooleanField):
                field.widget.attrs.setdefault("class", "form-check-input")
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("id", f"id_{name}")

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


class MemberForm(BootstrapFormMixin, forms.ModelForm):
    id_number = forms.CharField(label="身份证号", max_length=30)
    phone = forms.CharField(label="手机号", max_length=20, required=False)
    bank_account = forms.CharField(label="银行账号", max_length=40, required=False)
    family_head_id_number = forms.CharField(
        label="家庭关联会员身份证号", max_length=30, required=False,
        help_text="亲属随该会员参加保障时填写（须为已登记会员）",
    )

    class Meta:
        model = Member
        fields = ["name", "phone", "unit", "joined_on", "status", "occupation"]
        widgets = {"joined_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["unit"] = UnitChoiceField(
            label="单位",
            queryset=scoped_units(user).select_related("union").order_by("name", "id"),
            empty_label="请选择单位",
        )
        # The ID number identifies the member: ask for it right after the name.
        self.order_fields(["name", "id_number", "phone", "unit", "joined_on", "status",
                           "occupation", "bank_account", "family_head_id_number"])
        editing = self.instance.pk is not None
        if editing:
            # The full number is never put in the page; leaving it blank keeps it.
            self.fields["id_number"].required = False
            self.fields["id_number"].help_text = (
                f"当前：{self.instance.id_number_masked}；留空表示不修改"
            )
            if self.instance.bank_account_sealed:
                self.fields["bank_account"].help_text = (
                    f"当前：{self.instance.bank_account_masked}；留空表示不修改"
                )
            if self.instance.family_head_id:
                self.fields["family_head_id_number"].help_text = (
                    f"当前：{self.instance.family_head.name}；留空表示不修改，填“无”表示解除"
                )
        self.style_widgets()

    def clean_name(self) -> str:
        name = re.sub(r"\s+", "", self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("姓名不能为空")
        return name

    def clean_id_number(self) -> str:
        raw = self.cleaned_data.get("id_number", "")
        if not raw and self.instance.pk is not None:
            return ""
        try:
            parsed = parse_id_number(raw)
        except IdNumberError as exc:
            raise forms.ValidationError(str(exc)) from None
        existing = Member.find_by_id_number(parsed.value)
        if existing is not None and existing.pk != self.instance.pk:
            # Say it exists without revealing where, if that member is out of scope.
            raise forms.ValidationError("该身份证号已登记为会员，不能重复登记")
        self._parsed_id = parsed
        return parsed.value

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        if not raw:
            return ""
        try:
            return parse_mobile(raw)
        except PhoneError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_bank_account(self) -> str:
        value = re.sub(r"[\s-]", "", self.cleaned_data.get("bank_account", ""))
        if not value:
            return ""
        if not _BANK_ACCOUNT.fullmatch(value):
            raise forms.ValidationError("银行账号应为12至30位数字")
        existing = Member.objects.filter(
            bank_account_hash=_bank_hash(value)
        ).exclude(pk=self.instance.pk).exists()
        if existing:
            raise forms.ValidationError("该银行账号已被其他会员使用")
        return value

    def clean_family_head_id_number(self) -> Member | str | None:
        raw = self.cleaned_data.get("family_head_id_number", "").strip()
        if not raw:
            return ""  # unchanged
        if raw == "无":
            return None
        try:
            parsed = parse_id_number(raw)
        except IdNumberError as exc:
            raise forms.ValidationError(str(exc)) from None
        head = scoped_by_ids(self.user, Member.objects.all()).filter(
            id_number_hash=crypto.blind_index(parsed.value)
        ).first()
        if head is None:
            raise forms.ValidationError("未在您可见的范围内找到该身份证号的会员")
        if head.pk == self.instance.pk and head.pk is not None:
            raise forms.ValidationError("不能关联会员本人")
        return head

    def save(self, commit: bool = True) -> Member:
        member: Member = super().save(commit=False)
        member.union = member.unit.union
        parsed = getattr(self, "_parsed_id", None)
        if parsed is not None:
            member.set_id_number(parsed.value)
            member.birth_date = parsed.birth_date
            member.gender = parsed.gender
        bank = self.cleaned_data.get("bank_account")
        if bank:
            member.set_bank_account(bank)
        head = self.cleaned_data.get("family_head_id_number")
        if head != "":
            member.family_head = head
        if commit:
            member.save()
        return member

    def audit_changes(self, before: dict[str, Any] | None) -> dict[str, Any]:
        """Changed fields as {field: [old, new]}; sensitive ones only as changed."""
        after = snapshot(self.instance)
        changes: dict[str, Any] = {}
        for key in AUDITED_FIELDS:
            old = None if before is None else before.get(key)
            if before is None or old != after[key]:
                changes[key] = [old, after[key]]
        if self.cleaned_data.get("id_number"):
            if before is None or before.get("id_hash") != self.instance.id_number_hash:
                changes["id_number"] = "已修改" if before else "已登记"
        if self.cleaned_data.get("bank_account"):
            if before is None or before.get("bank_hash") != self.instance.bank_account_hash:
                changes["bank_account"] = "已修改" if before else "已登记"
        return changes


def snapshot(member: Member) -> dict[str, Any]:
    """The audited fields of a member, as JSON-friendly values."""
    return {
        "name": member.name,
        "phone": member.phone,
        "unit": member.unit.name if member.unit_id else None,
        "joined_on": member.joined_on.isoformat() if member.joined_on else None,
        "status": member.get_status_display(),
        "occupation": member.get_occupation_display(),
        "family_head": member.family_head.name if member.family_head_id else None,
        "id_hash": member.id_number_hash,
        "bank_hash": member.bank_account_hash,
    }



def _bank_hash(value: str) -> str:
    # Must match Member.set_bank_account.
    return crypto.blind_index("bank:" + value)


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
        grassroots = scoped_unions(user).filter(level=Union.Level.GRASSROOTS)
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
        if Unit.objects.filter(uscc=parsed.value).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("该统一社会信用代码已登记，不能重复登记")
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
