"""How an audit entry's changes read on the audit log page."""

from __future__ import annotations

from django import template

register = template.Library()


CHANGE_LABELS = {
    "name": "姓名", "phone": "手机号", "unit": "单位", "joined_on": "入会日期",
    "status": "状态", "occupation": "职业类别", "family_head": "家庭关联会员",
    "id_number": "身份证号", "bank_account": "银行账号", "rows": "行数",
    "full_numbers": "含完整号码", "filter": "筛选条件", "uscc": "统一社会信用代码",
    "union": "所属工会", "contact_name": "联系人", "contact_phone": "联系电话",
    "address": "地址", "members_moved": "随单位调整工会的会员数",
}


@register.filter
def change_label(key: str) -> str:
    return CHANGE_LABELS.get(key, key)


@register.filter
def change_value(value) -> str:
    """An audit change entry: [old, new] pairs as "old → new"."""
    if isinstance(value, list | tuple) and len(value) == 2:
        old, new = (v if v not in (None, "") else "（空）" for v in value)
        return f"{old} → {new}"
    return str(value)
