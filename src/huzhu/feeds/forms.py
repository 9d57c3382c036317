"""The feeds app's forms: a feed upload, an API token's label, and a batch run's start
(which feed, under which scheme, on which engine)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django import forms
from django.conf import settings
from django.utils import timezone

from huzhu.coverage.models import Scheme
from huzhu.feeds.models import Feed
from huzhu.lib.forms import BootstrapFormMixin
from huzhu.orgs.models import User

ALLOWED_SUFFIXES = (".csv", ".xlsx", ".xls", ".parquet")


def size_text(size: int) -> str:
    """A file size as people write it: "200 MB", "1.5 MB", "800 字节" (Django's
    filesizeformat writes "200.0 MB")."""
    if size < 1024:
        return f"{size} 字节"
    value, unit = Decimal(size) / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    shown = value.quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{shown.to_integral_value() if shown == shown.to_integral_value() else shown} {unit}"


class FeedUploadForm(forms.Form):
    file = forms.FileField(label="结算数据文件",
                           help_text="CSV（UTF-8 或 GBK 编码）、Excel（.xlsx）或 Parquet")

    valid_only = forms.BooleanField(
        label="只导入无错误的行", required=False,
        help_text="默认有任何错误则全部不导入；勾选后跳过有错误的行，其余照常导入")

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if Path(uploaded.name).suffix.lower() not in ALLOWED_SUFFIXES:
            raise forms.ValidationError("只能上传 .csv、.xlsx、.xls 或 .parquet 文件")
        limit = settings.HUZHU_IMPORT_MAX_BYTES
        if uploaded.size > limit:
            raise forms.ValidationError(
                f"文件太大（{size_text(uploaded.size)}），上限为 {size_text(limit)}")
        if uploaded.size == 0:
            raise forms.ValidationError("文件是空的")
        return uploaded


class TokenForm(forms.Form):
    label = forms.CharField(label="用途说明", max_length=100, required=False,
                            help_text="例如：市医保局结算数据推送")
    days = forms.IntegerField(label="有效期（天）", min_value=1, max_value=366, initial=90,
                              required=False,
                              help_text="默认 90 天，最长 366 天；到期后需创建新令牌",
                              error_messages={
                                  "invalid": "有效期应为整数天数",
                                  "min_value": "有效期至少 1 天",
                                  "max_value": "有效期最长 366 天",
                              })

    def clean_days(self) -> int:
        return self.cleaned_data.get("days") or 90  # left empty: the default term


CHOOSE = "请选择保留原记录或替换为新记录"


class CollisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("keep", "保留原记录"), ("replace", "替换为新记录")],
                                 error_messages={"required": CHOOSE, "invalid_choice": CHOOSE})


class RunForm(BootstrapFormMixin, forms.Form):
    """A batch run (免申即享测算) of one of the user's imported feeds under one of the
    schemes they see."""

    feed = forms.ModelChoiceField(label="医保结算数据", queryset=Feed.objects.none())
    scheme = forms.ModelChoiceField(label="保障项目", queryset=Scheme.objects.none(),
                                    to_field_name="code")
    engine = forms.ChoiceField(label="计算引擎", choices=[("duckdb", "单机计算（本机，默认）"),
                                                      ("pyspark", "分布式计算（大批量）")])

    def __init__(self, user: User, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["feed"].queryset = Feed.objects.visible_to(user).filter(
            status=Feed.Status.DONE)
        self.fields["feed"].label_from_instance = (
            lambda f: f"#{f.pk} {f.file_name}（{f.rows}行，"
                      f"{timezone.localtime(f.created_at):%Y-%m-%d %H:%M}）")
        self.fields["scheme"].queryset = Scheme.objects.visible_to(user).order_by("code")
        self.style_widgets()
