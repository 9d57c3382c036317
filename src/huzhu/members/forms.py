"""Member create/edit form: the same checks as the importer, one member at a time."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone

from huzhu.audit import limits
from huzhu.lib import crypto
from huzhu.lib.forms import BootstrapFormMixin
from huzhu.members import transfers
from huzhu.members.idcard import IdNumberError, parse_id_number
from huzhu.members.models import Member
from huzhu.members.phone import PhoneError, parse_mobile
from huzhu.members.registration import registration_problems
from huzhu.orgs.models import Unit, User

_BANK_ACCOUNT = re.compile(r"\d{12,30}")

# Fields whose values go into the audit log as they are; the ID number and bank
# account are recorded only as "changed", never in plaintext.
AUDITED_FIELDS = ("name", "phone", "unit", "joined_on", "status", "occupation", "family_head",
                  "bank_name")


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name}（{obj.union.name}）"


class MemberForm(BootstrapFormMixin, forms.ModelForm):
    id_number = forms.CharField(label="身份证号", max_length=30)
    phone = forms.CharField(label="手机号", max_length=20, required=False)
    bank_account = forms.CharField(label="银行账号", max_length=40, required=False)
    family_head_id_number = forms.CharField(
        label="家庭关联会员身份证号", max_length=30, required=False,
        help_text="亲属随该会员参加保障时填写（须为已登记会员）",
    )
    request_transfer = forms.BooleanField(
        label="申请转会", required=False,
        help_text="该职工已在其他工会登记时勾选：向其原所属工会发出转会申请，对方同意后转入所选单位",
    )

    class Meta:
        model = Member
        fields = ["name", "phone", "unit", "joined_on", "status", "occupation", "bank_name"]
        widgets = {"joined_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["unit"] = UnitChoiceField(
            label="单位",
            queryset=Unit.objects.visible_to(user).select_related("union").order_by("name", "id"),
            empty_label="请选择单位",
        )
        # The ID number identifies the member: ask for it right after the name.
        self.order_fields(["name", "id_number", "phone", "unit", "joined_on", "status",
                           "occupation", "bank_account", "bank_name",
                           "family_head_id_number"])
        self.fields["bank_name"].help_text = "银行转账文件的开户行列，例如：中国工商银行长春分行"
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
                    f"当前：{self._family_head_shown()}；留空表示不修改，填“无”表示解除"
                )
            del self.fields["request_transfer"]
        self.transfer_target: Member | None = None
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
            if Member.objects.visible_to(self.user).filter(pk=existing.pk).exists():
                raise forms.ValidationError(
                    f"该身份证号已登记为会员“{existing.name}”，请在会员列表中找到后修改")
            if self.instance.pk is None and self.data.get("request_transfer"):
                self.transfer_target = existing  # the view files the request instead
            else:
                raise forms.ValidationError(self._refuse("id_number"))
        self._parsed_id = parsed
        return parsed.value

    def _refuse(self, field: str) -> str:
        what, message = {"id_number": ("身份证号", transfers.ID_ELSEWHERE),
                         "bank_account": ("银行账号", transfers.BANK_ELSEWHERE)}[field]
        return limits.refuse_elsewhere(self.user, what, "会员表单", message)

    def _family_head_shown(self) -> str:
        head = self.instance.family_head
        visible = Member.objects.visible_to(self.user).filter(pk=head.pk).exists()
        return head.name if visible else "其他工会的会员"

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
        holder = Member.objects.filter(
            bank_account_hash__in=crypto.blind_indexes("bank:" + value)
        ).exclude(pk=self.instance.pk).first()
        if holder is not None:
            if Member.objects.visible_to(self.user).filter(pk=holder.pk).exists():
                raise forms.ValidationError(f"该银行账号已登记在会员“{holder.name}”名下")
            raise forms.ValidationError(self._refuse("bank_account"))
        return value

    def clean_bank_name(self) -> str:
        return " ".join(self.cleaned_data.get("bank_name", "").split())

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
        head = Member.objects.visible_to(self.user).filter(
            id_number_hash__in=crypto.blind_indexes(parsed.value)
        ).first()
        if head is None:
            raise forms.ValidationError("未在您可见的范围内找到该身份证号的会员")
        if head.pk == self.instance.pk and head.pk is not None:
            raise forms.ValidationError("不能关联会员本人")
        return head

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        parsed = getattr(self, "_parsed_id", None)
        birth = parsed.birth_date if parsed is not None else self.instance.birth_date
        for field, message in registration_problems(
                birth=birth if self.instance.pk or parsed else None,
                status=data.get("status"), joined_on=data.get("joined_on"),
                today=timezone.localdate()):
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)
        return data

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
        "bank_name": member.bank_name or None,
        "id_hash": member.id_number_hash,
        "bank_hash": member.bank_account_hash,
    }
