"""The member pages' forms: large inputs for a phone's screen."""

from __future__ import annotations

import re

from django import forms

from huzhu.members.phone import PhoneError, parse_mobile

_BIG = {"class": "form-control form-control-lg"}


class PhoneForm(forms.Form):
    phone = forms.CharField(label="手机号", max_length=20, widget=forms.TextInput(attrs={
        **_BIG, "inputmode": "numeric", "autocomplete": "tel", "id": "id_phone"}))

    def clean_phone(self) -> str:
        try:
            return parse_mobile(self.cleaned_data["phone"])
        except PhoneError as exc:
            raise forms.ValidationError(str(exc)) from None


class CodeForm(forms.Form):
    code = forms.CharField(label="短信验证码", max_length=6, min_length=6, widget=forms.TextInput(
        attrs={**_BIG, "inputmode": "numeric", "autocomplete": "one-time-code",
               "id": "id_code"}),
        error_messages={"min_length": "验证码为6位数字", "required": "请填写短信验证码"})
    id_tail = forms.CharField(
        label="身份证号后六位", max_length=6, min_length=6, required=False,
        help_text="在这台手机上第一次登录时需要填写",
        widget=forms.TextInput(attrs={**_BIG, "autocomplete": "off", "id": "id_id_tail"}),
        error_messages={"min_length": "请填写身份证号的后六位"})

    def __init__(self, *args: object, ask_id: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if ask_id:
            self.fields["id_tail"].required = True
            self.fields["id_tail"].error_messages["required"] = "请填写身份证号的后六位"
        else:
            del self.fields["id_tail"]

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError("验证码为6位数字")
        return code


class BankForm(forms.Form):
    account = forms.CharField(label="新的银行账号", max_length=40, widget=forms.TextInput(
        attrs={**_BIG, "inputmode": "numeric", "autocomplete": "off", "id": "id_account"}))
    bank_name = forms.CharField(label="开户行", max_length=60,
                                help_text="例如：中国工商银行长春分行",
                                widget=forms.TextInput(attrs={**_BIG, "id": "id_bank_name"}))


class BankCodeForm(forms.Form):
    code = forms.CharField(label="短信验证码", max_length=6, min_length=6, widget=forms.TextInput(
        attrs={**_BIG, "inputmode": "numeric", "autocomplete": "one-time-code",
               "id": "id_code"}),
        error_messages={"min_length": "验证码为6位数字", "required": "请填写短信验证码"})
