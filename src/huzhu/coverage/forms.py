"""Forms of the coverage pages; the rules themselves live in the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from huzhu.coverage.models import Period, Scheme
from huzhu.coverage.policies import MAX_POLICY_BYTES, policy_from_text
from huzhu.lib.forms import BootstrapFormMixin
from huzhu.orgs.models import Union, User
from huzhu.rules.errors import PolicyError
from huzhu.rules.loader import shipped_policy_names

STRAIGHT_THROUGH_UPTO = Scheme._meta.get_field("straight_through_upto").get_default()
SAMPLE_THRESHOLD = Scheme._meta.get_field("sample_threshold").get_default()
APPEAL_WORKING_DAYS = Scheme._meta.get_field("appeal_working_days").get_default()
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SchemeForm(BootstrapFormMixin, forms.Form):
    policy_name = forms.ChoiceField(label="政策", required=False,
                                    help_text="选择内置政策，或上传政策文件（YAML）")
    policy_file = forms.FileField(label="上传政策文件", required=False)
    code = forms.SlugField(label="项目编码", max_length=64, required=False,
                           help_text="留空则使用政策编码")
    name = forms.CharField(label="项目名称", max_length=100, required=False,
                           help_text="留空则使用政策名称")
    union = forms.ModelChoiceField(label="主办工会", queryset=Union.objects.none(),
                                   help_text="保障范围为该工会及其全部下级")
    coverage_start = forms.ChoiceField(label="保障生效", choices=Scheme.CoverageStart.choices)
    mid_period = forms.ChoiceField(label="期中加入", choices=Scheme.MidPeriod.choices)
    min_share = forms.DecimalField(label="单位最低参保比例（%）", required=False, min_value=1,
                                   max_value=100, decimal_places=1,
                                   help_text="例如填 50 表示单位在职职工至少 50% 参保；留空不限")
    share_of = forms.ChoiceField(label="比例计算对象", choices=Scheme.ShareOf.choices)
    allow_retired = forms.BooleanField(label="退休会员可参保", required=False)
    payee_name = forms.CharField(label="收款户名", max_length=100, required=False,
                                 help_text="互助金收款账户的户名，印在缴费通知单上")
    payee_bank = forms.CharField(label="开户银行", max_length=100, required=False,
                                 help_text="例如：中国工商银行长春南关支行")
    payee_account = forms.CharField(label="收款账号", max_length=40, required=False,
                                    help_text="只填数字，可用空格分组")

    # Review by exception (免申即享抽样复核); left empty, the defaults (10,000.00 and 2%).
    straight_through_upto = forms.DecimalField(
        label="免申即享直通金额上限（元）", min_value=0, max_digits=14, decimal_places=2,
        required=False, help_text="不超过此金额、无审核提示的免申即享理赔可抽样复核后批量"
                                  "核准；留空为 10,000.00 元")
    sample_threshold = forms.DecimalField(
        label="抽样驳回或核减比例阈值（%）", min_value=0, max_value=100, decimal_places=2,
        required=False, help_text="样本中不予给付或核减的比例超过此值时，该次测算全部转为"
                                  "逐笔审核；留空为 2%")

    appeal_working_days = forms.IntegerField(
        label="复核办结时限（工作日）", min_value=1, max_value=60, required=False,
        help_text="会员申请复核后须在此数量的工作日内作出决定；留空为 5 个工作日")

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policy_name"].choices = [("", "（上传文件）"),
                                              *((n, n) for n in shipped_policy_names())]
        self.fields["union"].queryset = Union.objects.visible_to(user).exclude(
            level=Union.Level.GRASSROOTS).order_by("path")
        self.style_widgets()

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("policy_file")
        if not data.get("policy_name") and upload is None:
            raise forms.ValidationError("请选择内置政策或上传政策文件")
        if upload is not None:
            if upload.size > MAX_POLICY_BYTES:
                self.add_error("policy_file", "政策文件过大（上限 512 KB）")
                return data
            try:
                text = upload.read().decode("utf-8")
                policy_from_text(text, upload.name)
            except UnicodeDecodeError:
                self.add_error("policy_file", "政策文件应为 UTF-8 编码的 YAML 文本")
                return data
            except PolicyError as exc:
                self.add_error("policy_file", "；".join(_policy_errors(exc)))
                return data
            data["policy_text"] = text
        if data.get("min_share") is not None:
            data["min_share"] = (data["min_share"] / 100).quantize(Decimal("0.001"))
        _check_account(self)
        for name, default in (("straight_through_upto", STRAIGHT_THROUGH_UPTO),
                              ("sample_threshold", SAMPLE_THRESHOLD),
                              ("appeal_working_days", APPEAL_WORKING_DAYS)):
            if self.cleaned_data.get(name) is None:
                self.cleaned_data[name] = default
        return data

    def clean_payee_account(self) -> str:
        return _clean_account(self.cleaned_data.get("payee_account"))


def _clean_account(value: object) -> str:
    account = " ".join(str(value or "").split())
    digits = account.replace(" ", "")
    if account and not (digits.isdigit() and 8 <= len(digits) <= 30):
        raise forms.ValidationError("收款账号应为 8 至 30 位数字（可用空格分组）")
    return account


def _check_account(form: forms.Form) -> None:
    """An account number is printed with its holder and bank, or not at all."""
    data = form.cleaned_data
    if data.get("payee_account") and not (data.get("payee_name") and data.get("payee_bank")):
        form.add_error("payee_name", "填写收款账号时，请同时填写收款户名和开户银行")


class PayeeForm(BootstrapFormMixin, forms.Form):
    """An existing scheme's collection account (收款账户), as the notices print it."""

    payee_name = forms.CharField(label="收款户名", max_length=100, required=False)
    payee_bank = forms.CharField(label="开户银行", max_length=100, required=False,
                                 help_text="例如：中国工商银行长春南关支行")
    payee_account = forms.CharField(label="收款账号", max_length=40, required=False,
                                    help_text="只填数字，可用空格分组；三项都留空则通知单上留空白")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def clean_payee_account(self) -> str:
        return _clean_account(self.cleaned_data.get("payee_account"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_account(self)
        return data


class StraightThroughForm(BootstrapFormMixin, forms.Form):
    """An existing scheme's review by exception (免申即享抽样复核) settings."""

    straight_through_upto = forms.DecimalField(
        label="免申即享直通金额上限（元）", min_value=0, max_digits=14, decimal_places=2,
        help_text="不超过此金额、没有审核提示、事实全部来自医保结算数据的免申即享理赔可以直通")
    sample_threshold = forms.DecimalField(
        label="抽样驳回或核减比例阈值（%）", min_value=0, max_value=100, decimal_places=2,
        help_text="样本中不予给付或核减的比例超过此值时，该次测算全部转为逐笔审核（如 2 或 0.5）")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()


def _policy_errors(exc: PolicyError) -> list[str]:
    return [f"{path or '文件'}：{message}" for _, path, message in exc.errors][:10]


class PeriodForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Period
        fields = ["name", "start", "end", "premium", "enrol_from", "enrol_until"]
        widgets = {f: DATE for f in ("start", "end", "enrol_from", "enrol_until")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()


class PaymentForm(BootstrapFormMixin, forms.Form):
    amount = forms.DecimalField(label="到账金额（元）", max_digits=14, decimal_places=2,
                                min_value=Decimal("0.01"))
    paid_on = forms.DateField(label="到账日期", widget=DATE)
    bank_reference = forms.CharField(label="银行流水号", max_length=64)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"paid_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.style_widgets()


class SubsidyForm(BootstrapFormMixin, forms.Form):
    period = forms.ModelChoiceField(label="互助期", queryset=Period.objects.none())
    amount = forms.DecimalField(label="拨款金额（元）", max_digits=14, decimal_places=2,
                                min_value=Decimal("0.01"))
    booked_on = forms.DateField(label="到账日期", widget=DATE)
    reference = forms.CharField(label="拨款文号或流水号", max_length=50)

    def __init__(self, *args, scheme: Scheme, **kwargs) -> None:
        kwargs.setdefault("initial", {"booked_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = scheme.periods.order_by("-start")
        self.style_widgets()


class WithdrawForm(BootstrapFormMixin, forms.Form):
    on = forms.DateField(label="退保日期", widget=DATE, initial=dt.date.today)
    reason = forms.CharField(label="原因", max_length=100, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()


class ReversalRequestForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label="冲正原因", max_length=200,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="写明原分录错在哪里，审批人据此核对")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()


class ReversalDecisionForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label="审批意见", max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_widgets()
