"""The Chinese words for the engine's vocabulary: the values of its input columns
(statuses, occupations, genders, relations, injury outcomes), its fields, and the words
of a policy (benefit kinds, cap scopes and periods).

One place, read by the scheme page, ``huzhu policy check``, the intake form, the
registry's choices and the reports, so a relation reads 配偶 wherever it appears. The
values themselves are the contract of :mod:`huzhu.rules.columns`.
"""

from __future__ import annotations

from collections.abc import Iterable

STATUS = {"active": "在职", "retired": "退休", "left": "离会"}
GENDER = {"M": "男", "F": "女"}
OCCUPATION = {"medical": "医务人员", "cdc": "疾控人员", "other": "其他"}
RELATION = {"self": "本人", "parent": "父母", "spouse": "配偶", "child": "子女", "other": "其他"}
OUTCOME = {"death": "身故", "disability": "伤残", "fracture": "骨折", "none": "无"}
# On the intake form a clerk picks what happened, so the words say which case is which.
OUTCOME_CHOICES = {"death": "身故", "disability": "伤残", "fracture": "骨折（无伤残等级）",
                   "none": "其他"}
FRACTURE_SITE = {"major": "颅骨、脊椎、骨盆、股骨", "other": "其他部位"}

# The facts a benefit computes from (its base) and the other facts of an event.
BASE = {"out_of_pocket": "医保报销后个人现金支付", "total_cost": "医疗费总额",
        "loss_amount": "核定损失金额", "days": "住院天数", "disability_grade": "伤残等级"}
FIELDS = {**BASE, "event_date": "事件日期", "admit_date": "入院日期", "diagnosis": "诊断",
          "outcome": "伤害结果", "fracture_site": "骨折部位", "work_related": "是否工伤",
          "certificate_no": "火灾事故认定书编号", "on_duty": "是否因公", "relation": "亲属关系",
          "relative_id": "亲属", "co_resident": "是否共同生活"}

# The words of a policy.
KIND = {"illness": "疾病", "accident": "意外", "property": "财产", "relief": "救助"}
PER = {"event": "每次", "member": "每人", "family": "每个家庭", "relative": "每位亲属"}
PERIOD = {"year": "每个自然年", "period": "每个互助期", "lifetime": "终身"}


def words(mapping: dict[str, str], codes: Iterable[object]) -> str:
    """Codes as their words joined by 、 (an unknown code shows as itself, never a 500)."""
    return "、".join(mapping.get(str(c), str(c)) for c in codes)
