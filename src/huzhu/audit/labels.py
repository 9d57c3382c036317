"""How the keys and values of an audit entry's changes read on the audit log page.

Entries store stable English keys (they are data, and other tools read them); the page
shows them in Chinese, by the type of object the entry is about, so that a unit's
``name`` reads 单位名称 and a member's 姓名.
"""

from __future__ import annotations

from typing import Any

COMMON = {
    "file": "文件", "row": "行号", "rows": "行数", "created": "新增", "updated": "更新",
    "unchanged": "无变化", "errors": "错误数", "valid_only": "只导入无错误的行",
    "filter": "筛选条件", "full_numbers": "含完整号码", "purpose": "用途", "export": "导出编号",
    "members_moved": "随单位调整工会的会员数", "transfer": "转会申请编号", "to_unit": "调入单位",
    "kind": "查询方式", "what": "号码类型", "where": "位置", "limit": "限额", "allowed": "上限",
    "api": "通过接口", "fields": "修改的项目", "username": "用户名", "address": "地址",
    "family_head": "家庭关联会员", "id_number": "身份证号", "bank_account": "银行账号",
}
BY_TYPE = {
    "member": {
        "name": "姓名", "phone": "手机号", "unit": "单位", "joined_on": "入会日期",
        "status": "状态", "occupation": "职业类别",
    },
    "unit": {
        "name": "单位名称", "uscc": "统一社会信用代码", "union": "所属基层工会",
        "union_id": "所属基层工会", "contact_name": "联系人", "contact_phone": "联系电话",
        "uscc_check_ok": "校验位通过",
    },
    "union": {"name": "名称", "code": "编码", "level": "层级", "parent": "上级工会"},
    "outboxmessage": {"kind": "通知类型", "attempts": "已尝试次数", "last_error": "最近错误"},
    "claimmaterial": {"kind": "材料类型", "file_name": "文件名", "size": "大小（字节）",
                      "claim": "理赔编号", "content_type": "文件格式", "sha256": "文件指纹"},
    # Neutral words: an entry without an object type reads its keys from any type here.
    "ledgerreversal": {"entry": "原分录编号", "reversing_entry": "冲正分录编号",
                       "amount": "金额", "reason": "原因", "note": "审批意见",
                       "kind": "分录类型"},
    "user": {"username": "用户名", "display_name": "姓名", "role": "角色", "union": "所属工会",
             "is_active": "可登录", "is_superuser": "超级用户", "password": "密码"},
}
OBJECT_TYPES = {"claimmaterial": "理赔材料", "claim": "理赔", "member": "会员", "unit": "单位",
                "union": "工会", "user": "工作人员",
                "importjob": "导入任务", "transferrequest": "转会申请", "memberexport": "导出",
                "outboxmessage": "短信", "ledgerreversal": "冲正申请"}

VALUES = {
    "id_number": "完整身份证号", "id_last4": "身份证号后四位",
    "member.searched": "按证件号查询", "registry.duplicate_refused": "重复登记被拒",
}


def label(key: str, object_type: str = "") -> str:
    return BY_TYPE.get(object_type, {}).get(key) or COMMON.get(key) or \
        _any_type(key) or key


def _any_type(key: str) -> str | None:
    # Job entries (an import) have no object type; their keys are the members' or units'.
    return next((labels[key] for labels in BY_TYPE.values() if key in labels), None)


def value(raw: Any, object_type: str = "") -> str:
    """[old, new] as "old → new", booleans as 是/否, field lists as their labels."""
    if isinstance(raw, list | tuple) and len(raw) == 2 and not _all_field_names(raw):
        old, new = (_one(v) for v in raw)
        return f"{old} → {new}"
    if isinstance(raw, list | tuple):
        return "、".join(label(str(v), object_type) for v in raw)
    return _one(raw)


def _all_field_names(raw) -> bool:
    return all(isinstance(v, str) and v != label(v) for v in raw)


def _one(v: Any) -> str:
    if v is None or v == "":
        return "（空）"
    if v is True:
        return "是"
    if v is False:
        return "否"
    return VALUES.get(v, str(v)) if isinstance(v, str) else str(v)
