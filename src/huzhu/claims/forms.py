"""The claim page's step forms, parsed as one Django form: what a reviewer types as 核定金额
(amount), the missing materials, the reject code, the note. A bad amount is refused here,
in words, before the workflow is asked (decimal.InvalidOperation was a 500)."""

from __future__ import annotations

from django import forms

from huzhu.claims.models import Claim
from huzhu.rules.money import DECIMAL_PLACES, MAX_DIGITS
from huzhu.rules.schema import MATERIALS

NOT_A_NUMBER = "核定金额应为数字，如 1200 或 1200.50（不写逗号和单位）"
TOO_LARGE = f"核定金额过大（最多 {MAX_DIGITS - DECIMAL_PLACES} 位整数）"


class ClaimStepForm(forms.Form):
    """Every input any step of the claim page sends; each step reads the ones it needs
    (``Transition.needs``), the workflow's effects check what a step requires."""

    amount = forms.DecimalField(
        label="核定金额", required=False, max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES, min_value=0,
        error_messages={"invalid": NOT_A_NUMBER, "max_digits": TOO_LARGE,
                        "max_whole_digits": TOO_LARGE, "min_value": "核定金额不能小于零",
                        "max_decimal_places": "核定金额最多两位小数"})
    note = forms.CharField(label="说明", required=False, strip=False)
    missing = forms.MultipleChoiceField(
        label="需补充的材料", required=False, choices=list(MATERIALS.items()),
        error_messages={"invalid_choice": "所选材料类型不存在"})
    reject_code = forms.ChoiceField(
        label="不予给付原因", required=False, choices=[("", "选择原因"), *Claim.RejectCode.choices],
        error_messages={"invalid_choice": "请选择不予给付的原因"})

    def step_data(self) -> dict[str, object]:
        """The cleaned inputs, as ``workflow.apply`` takes them."""
        return {"amount": self.cleaned_data["amount"], "note": self.cleaned_data["note"],
                "missing": self.cleaned_data["missing"],
                "reject_code": self.cleaned_data["reject_code"]}

    def error_text(self) -> str:
        """Every error in one line, for the page's message area."""
        return "；".join(str(message) for errors in self.errors.values() for message in errors)
