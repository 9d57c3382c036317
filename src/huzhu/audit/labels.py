"""How the keys and values of an audit entry's changes read on the audit log page and in
its xlsx export.

Entries store stable English keys (they are data, and other tools read them); the page
shows them in Chinese, by the type of object the entry is about, so that a unit's
``name`` reads 单位名称 and a member's 姓名. A key no table names reads as its model
field's verbose name, else as 其他项目: a code never reaches the page.
"""

from __future__ import annotations

import re
from decimal import InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

from huzhu.rules.money import yuan

COMMON = {
    "file": "文件", "row": "行号", "rows": "行数", "created": "新增", "updated": "更新",
    "unchanged": "无变化", "errors": "错误数", "valid_only": "只导入无错误的行",
    "filter": "筛选条件", "full_numbers": "含完整号码", "purpose": "用途", "export": "导出编号",
    "members_moved": "随单位调整工会的会员数", "transfer": "转会申请编号", "to_unit": "调入单位",
    "kind": "查询方式", "what": "号码类型", "where": "位置", "limit": "限额", "allowed": "上限",
    "api": "通过接口", "fields": "修改的项目", "username": "用户名", "address": "地址",
    "family_head": "家庭关联会员", "id_number": "身份证号", "bank_account": "银行账号",
    # Claims, payouts and the fund.
    "state": "状态", "amount": "金额", "total": "合计金额", "count": "笔数",
    "claim": "理赔编号", "claims": "理赔件数", "payout": "给付编号", "paid_on": "付款日期",
    "reason": "原因", "note": "备注", "format": "文件格式",
    "without_account": "无银行账号未纳入的理赔",
    "follow_up": "回访记录", "material_removed": "删除的材料", "file_name": "文件名",
    "content_type": "文件格式", "size": "大小（字节）", "sha256": "文件指纹",
    # Coverage.
    "period": "互助期", "members": "人数", "premium": "应缴金额", "paid": "已缴费",
    "notice": "通知单号", "bank_reference": "银行流水号", "outstanding": "尚欠金额",
    "reference": "拨款文号", "scheme": "保障项目", "policy_hash": "政策内容指纹",
    "entry": "原分录编号", "reversing_entry": "冲正分录编号", "unit": "单位",
    # Settlement feeds, 免申即享 and what-if runs.
    "run": "免申即享测算", "feed": "医保结算数据", "source": "来源", "invalid": "有误的行数",
    "new": "新增结算记录", "already_known": "此前已导入", "matched": "匹配到会员",
    "unmatched_not_member": "未匹配（非会员）", "unmatched_outside_scope": "未匹配（不在本级范围）",
    "what_if": "改革测算", "reform": "改革方案", "content_hash": "测算规则指纹",
    "token": "令牌", "label": "用途说明", "days": "有效期（天）", "expires": "有效期至",
    "collisions": "结算ID冲突行数",
    # Review by exception (抽样复核) of a run's straight-through claims.
    "seed": "随机种子", "percent": "抽样比例（%）", "sample_size": "样本笔数",
    "drawn": "随机抽取笔数", "added": "另行加入笔数", "straight_through": "直通理赔笔数",
    "straight_amount": "直通理赔金额", "ceiling": "直通金额上限", "threshold": "驳回核减阈值（%）",
    "dropped": "转逐笔审核笔数", "flagged": "有审核提示笔数", "given": "样本已核准笔数",
    "share": "驳回或核减比例（%）", "rejected": "样本不予给付笔数", "lowered": "样本核减笔数",
    # Keys, the audit chain, backups.
    "field_key": "新字段密钥编号", "index_key": "新索引密钥编号", "lookups": "核对的查找次数",
    "entries": "审计记录条数", "head_hash": "链头哈希", "finding": "核验发现",
    "anchor": "锚点哈希", "files": "上传文件数", "forced": "覆盖已有数据",
    # 会员服务: the members' own sign-in and filing.
    "method": "登录方式", "throttled": "被暂停的操作", "materials": "材料份数",
    "bank_name": "开户行",
    # Appeals (复核).
    "due_on": "办结期限",
    # The audit log's own export, and a refused service.
    "refused": "被拒绝的操作", "actor": "操作人", "action": "操作", "date_from": "开始日期",
    "date_to": "结束日期", "object": "对象编号",
    "attempts": "已尝试次数", "last_error": "最近错误", "password": "密码",
}
BY_TYPE = {
    "member": {
        "name": "姓名", "phone": "手机号", "unit": "单位", "joined_on": "入会日期",
        "status": "状态", "occupation": "职业类别", "period": "互助期", "paid": "已缴费",
        "reason": "退保原因",
    },
    "unit": {
        "name": "单位名称", "uscc": "统一社会信用代码", "union": "所属基层工会",
        "union_id": "所属基层工会", "contact_name": "联系人", "contact_phone": "联系电话",
        "uscc_check_ok": "校验位通过", "members": "参保人数", "premium": "应缴金额",
        "amount": "缴费金额", "paid_on": "到账日期",
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
    "payoutbatch": {"count": "笔数", "total": "合计金额", "paid_on": "付款日期",
                    "amount": "退回金额", "reason": "银行退回原因（付款失败或退票）"},
    "batchrun": {"claims": "生成待审核理赔件数", "amount": "测算金额合计",
                 "rows": "结果行（起止）"},
    "feedtoken": {"token": "令牌前缀", "label": "用途说明"},
}
# Amounts: shown as 1,234.50 元 whatever text the entry holds.
MONEY_KEYS = frozenset({"amount", "total", "premium", "outstanding"})

OBJECT_TYPES = {"claimmaterial": "理赔材料", "claim": "理赔", "member": "会员", "unit": "单位",
                "union": "工会", "user": "工作人员",
                "importjob": "导入任务", "transferrequest": "转会申请", "memberexport": "会员导出",
                "outboxmessage": "短信", "ledgerreversal": "冲正申请",
                "payoutbatch": "给付批次", "payout": "给付", "batchrun": "免申即享测算",
                "whatifrun": "改革测算", "feed": "医保结算数据", "feedtoken": "数据接口令牌",
                "feedcollision": "结算ID冲突", "proactivesample": "抽样复核",
                "premiumnotice": "缴费通知", "period": "互助期", "scheme": "保障项目",
                "enrolment": "参保记录", "ledgerentry": "互助金账分录"}

VALUES = {
    "id_number": "完整身份证号", "id_last4": "身份证号后四位",
    "member.searched": "按证件号查询", "registry.duplicate_refused": "重复登记被拒",
}
# Values that are codes, by key: the file formats, a feed's source, and the services
# whose refusals huzhu.audit.log.refusals_audited records (changes {"refused": name}).
VALUES_BY_KEY = {
    "format": {"xlsx": "Excel 表格", "csv": "CSV 文件", "pdf": "PDF 文件"},
    "content_type": {"application/pdf": "PDF 文件", "image/jpeg": "JPEG 图片",
                     "image/png": "PNG 图片"},
    "source": {"file": "命令行导入", "upload": "网页上传", "api": "接口推送"},
    "refused": {
        "export_batch": "导出银行转账文件", "build_batch": "生成给付批次",
        "mark_paid": "确认已付款", "mark_failed": "登记付款失败",
        "enrol_unit": "单位参保登记", "enrol_units": "批量参保登记", "renew": "续期参保",
        "withdraw": "退保", "register_payment": "登记缴费", "fund_subsidy": "登记补贴拨款",
        "request_reversal": "申请冲正", "approve": "同意冲正", "reject": "驳回冲正",
        "reconcile": "核对银行回盘", "write_bank_file": "写出银行转账文件",
    },
}
OTHER = "其他项目"
_CODE = re.compile(r"[A-Za-z_]{2,}")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def label(key: str, object_type: str = "") -> str:
    """The Chinese words for ``key``: by the object's type, the common table, any type's
    table, the model field's verbose name; a key written in Chinese as it is; never a
    code."""
    if _CJK.search(key) and not _CODE.search(key):
        return key
    return BY_TYPE.get(object_type, {}).get(key) or COMMON.get(key) or \
        _any_type(key) or _field_name(key, object_type) or OTHER


def _any_type(key: str) -> str | None:
    # Job entries (an import) have no object type; their keys are the members' or units'.
    return next((labels[key] for labels in BY_TYPE.values() if key in labels), None)


def _field_name(key: str, object_type: str) -> str | None:
    model = model_for(object_type)
    if model is None:
        return None
    try:
        name = str(model._meta.get_field(key.removesuffix("_id")).verbose_name)
    except FieldDoesNotExist:
        return None
    return None if _CODE.search(name) else name


def model_for(object_type: str) -> Any:
    """The model whose lowercase class name is ``object_type`` (what log.record stores)."""
    if not object_type:
        return None
    return next((m for m in apps.get_models() if m._meta.model_name == object_type), None)


def value(raw: Any, object_type: str = "", key: str = "") -> str:
    """[old, new] as "old → new", booleans as 是/否, field lists as their labels, amounts
    as 1,234.50 元, codes by their key's table."""
    if key in MONEY_KEYS and not isinstance(raw, list | tuple | dict | bool):
        return _money(raw)
    if key in VALUES_BY_KEY and isinstance(raw, str):
        return VALUES_BY_KEY[key].get(raw, raw)
    if isinstance(raw, list | tuple | dict) and not raw:
        return "（无）"
    if isinstance(raw, list | tuple) and len(raw) == 2 and not _all_field_names(raw):
        old, new = (_one(v) for v in raw)
        return f"{old} → {new}"
    if isinstance(raw, list | tuple):
        return "、".join(label(str(v), object_type) for v in raw) if _all_field_names(raw) \
            else "、".join(_one(v) for v in raw)
    if isinstance(raw, dict):
        return "；".join(f"{label(str(k), object_type)}：{_one(v)}" for k, v in raw.items())
    return _one(raw)


def _money(raw: Any) -> str:
    if raw is None or raw == "":
        return "（空）"
    try:
        return f"{yuan(str(raw))} 元"
    except (TypeError, ValueError, InvalidOperation):
        return str(raw)


def _all_field_names(raw: list[Any] | tuple[Any, ...]) -> bool:
    return bool(raw) and all(isinstance(v, str) and (v in COMMON or _any_type(v) is not None)
                             for v in raw)


def _one(v: Any) -> str:
    if v is None or v == "":
        return "（空）"
    if v is True:
        return "是"
    if v is False:
        return "否"
    return VALUES.get(v, str(v)) if isinstance(v, str) else str(v)


def changes_text(changes: dict[str, Any], object_type: str = "") -> list[tuple[str, str]]:
    """(label, value) for each change, as the page and the export show them."""
    return [(label(str(k), object_type), value(v, object_type, str(k)))
            for k, v in (changes or {}).items()]
