"""The engine's output: one row per input event, in (event_date, event_id) order.

Columns (``OUTPUT_COLUMNS``; the order is the order written by ``huzhu calc``):

``event_id``, ``member_id``, ``benefit``, ``event_date``
    Copied from the event.
``payable`` — decimal(18,2)
    The money to pay for this event, after eligibility and every cap. 0.00 when
    ineligible or capped to nothing.
``status`` — ``payable`` | ``capped`` | ``ineligible``
    ``capped`` when a cap reduced the amount (also when it reduced it to 0.00).
``reason`` — stable code (API; the reference evaluator compares it)
    Ineligible rows: the first failing check (``unknown_member``,
    ``status_not_eligible``, ``age_out_of_range``, ``gender_not_eligible``,
    ``occupation_not_eligible``, ``outside_window``, ``not_enrolled``, ``waiting_period``,
    ``relation_not_covered``, ``not_co_resident``, ``work_related``,
    ``not_work_related``, ``not_on_duty``,
    ``diagnosis_not_covered``, ``prerequisite_missing`` (no event of the benefit named by
    ``eligibility.requires`` for the member on or before the event date),
    ``not_in_force``, ``missing_field``, ``below_threshold``,
    ``below_deductible``, ``below_min_days``, ``no_covered_outcome``,
    ``grade_not_covered``; and, only in ``huzhu simulate`` where one policy lacks a
    benefit the other has, ``benefit_not_in_policy``). Capped rows: the cap's code
    (``cap_per_event``, ``cap_per_year``, ``cap_per_period``, ``cap_lifetime``,
    ``cap_per_family``, ``cap_per_relative``, ``once_per_person``, ``once_per_relative``,
    day caps ``days_per_year``, ``days_per_period``, ``days_lifetime``, … see
    :mod:`huzhu.rules.schema`). Payable rows in a waiting period's reduced phase:
    ``waiting_period_reduced``. A clean payable row: empty string.
``reason_message`` — the reason in Chinese, with the number that decides it (the
    threshold, the age range, the cap, the first day paid; :mod:`huzhu.rules.reasons`),
    never a code (empty for a clean row).
``base`` — decimal(18,2)
    The fact the money is computed from (out-of-pocket cost, loss, days), null for lump
    sums, grade tables and accident outcomes.
``band`` — text
    The band label ``(10000,20000]`` (rate bands: the band containing the amount, after
    any deductible), or ``death`` / ``disability`` / ``fracture:major`` /
    ``fracture:other`` for accident outcomes.
``rate`` — decimal(9,4): the band's rate (progressive: the marginal rate) or the
    percentage of a ``percent`` formula.
``grade`` — int: the disability grade used by a grade table.
``raw_amount`` — decimal(18,2): the formula's amount before caps (after a waiting
    period's reduction).
``cap`` — code of the cap that bit (null when none did): the first cap, in the order
    written in the policy, whose room is the smallest, when that room is below
    ``raw_amount`` (a used-up ``times`` cap has room 0). Rooms are what was left given
    the amounts actually paid (see :mod:`huzhu.rules.schema`, section 3).
``cap_room`` — decimal(18,2): for a capped row, the room left under that cap before
    this event given what was actually paid (0 for a times cap); for a payable row, the
    smallest room of any money cap of the benefit that applies (null when none, and
    always null for a benefit whose caps count days).
``days_paid`` — int: for a benefit with day caps (``days: N``), the days this event is
    paid for after those caps (``payable`` = days_paid × the daily amount in force at the
    event date, reduced in a waiting period's reduced phase); null for other benefits.
``days_left`` — int: for a benefit with day caps, the days left after this event under
    the tightest of them (0 once used up); null for other benefits.

``huzhu calc --columns minimal`` (and ``evaluate(..., columns="minimal")``) writes only
``MINIMAL_COLUMNS``: ``event_id, member_id, benefit, payable, status, reason`` — the
same values as the full output, in the same row order.

For ineligible rows ``payable`` is 0.00 and ``band``, ``rate``, ``grade``,
``raw_amount``, ``cap``, ``cap_room``, ``days_paid``, ``days_left`` are null; ``base``
still shows the event's base fact when the formula in force has a numeric base.
"""

from __future__ import annotations

OUTPUT_COLUMNS: list[str] = [
    "event_id",
    "member_id",
    "benefit",
    "event_date",
    "payable",
    "status",
    "reason",
    "reason_message",
    "base",
    "band",
    "rate",
    "grade",
    "raw_amount",
    "cap",
    "cap_room",
    "days_paid",
    "days_left",
]

MINIMAL_COLUMNS: list[str] = ["event_id", "member_id", "benefit", "payable", "status", "reason"]
COLUMN_SETS: dict[str, list[str]] = {"full": OUTPUT_COLUMNS, "minimal": MINIMAL_COLUMNS}

OUTPUT_TYPES: dict[str, str] = {
    "event_id": "string",
    "member_id": "string",
    "benefit": "string",
    "event_date": "date",
    "payable": "decimal(18,2)",
    "status": "string",
    "reason": "string",
    "reason_message": "string",
    "base": "decimal(18,2)",
    "band": "string",
    "rate": "decimal(9,4)",
    "grade": "int32",
    "raw_amount": "decimal(18,2)",
    "cap": "string",
    "cap_room": "decimal(18,2)",
    "days_paid": "int32",
    "days_left": "int32",
}

STATUSES = ("payable", "capped", "ineligible")

REASON_MESSAGES: dict[str, str] = {
    "unknown_member": "会员不存在",
    "status_not_eligible": "会员状态不符合条件",
    "age_out_of_range": "年龄不在保障范围内",
    "gender_not_eligible": "性别不符合条件",
    "occupation_not_eligible": "职业不符合条件",
    "outside_window": "事件日期不在保障期内",
    "not_enrolled": "事件日期不在参保互助期内",
    "waiting_period": "处于等待期内",
    "relation_not_covered": "亲属关系不在保障范围内",
    "not_co_resident": "亲属未与会员共同生活",
    "work_related": "属于工伤，不予补贴",
    "not_work_related": "非工伤，本项目只给付工伤",
    "not_on_duty": "非因公发生",
    "diagnosis_not_covered": "诊断不在保障病种范围内",
    "prerequisite_missing": "尚无前置项目的事件",
    "not_in_force": "事件日期时本项目尚未生效",
    "missing_field": "缺少必需的信息",
    "below_threshold": "未达到起付标准",
    "below_deductible": "未超过免赔额",
    "below_min_days": "住院天数未达到给付起始天数",
    "no_covered_outcome": "伤害结果不在给付范围内",
    "grade_not_covered": "伤残等级不在给付表内",
    "waiting_period_reduced": "处于等待期减额给付阶段",
    "benefit_not_in_policy": "本方案没有该保障项目",
}

# Stable order of the reason codes of ineligible rows (the engine carries them as small
# integers through its windows and turns them into text only at the end).
INELIGIBLE_REASONS: list[str] = [
    code for code in REASON_MESSAGES if code != "waiting_period_reduced"
]

FIELD_LABELS: dict[str, str] = {
    "out_of_pocket": "医保报销后个人现金支付金额",
    "total_cost": "医疗总费用",
    "loss_amount": "损失金额",
    "days": "住院天数",
    "diagnosis": "诊断编码",
    "outcome": "伤害结果",
    "disability_grade": "伤残等级",
    "fracture_site": "骨折部位",
    "certificate_no": "火灾事故认定书编号",
    "relation": "亲属关系",
    "relative_id": "亲属编号",
    "admit_date": "入院日期",
    "work_related": "是否工伤",
    "on_duty": "是否因公",
    "co_resident": "是否共同生活",
}
