"""The columns of a settlement feed: the field names of the national settlement list
(医疗保障基金结算清单), the codes of the national medical-insurance platform's
interfaces (``setl_id``, ``certno``, ``medfee_sumamt`` …) and English names.

Two pairs need care, because a bureau's export may carry both columns of a pair:
结算ID and 就诊ID (the settlement, and the visit it settles: the settlement wins), and
基金支付 and 统筹基金支付 (all funds, and the pooled fund alone: all funds win, since
fund + account + cash = total holds for them). Main and other diagnoses are two columns
that join into one ``diagnosis`` value, main first.
"""

from __future__ import annotations

from huzhu.imports.columns import Column, ColumnSet

FEED_COLUMNS = ColumnSet((
    Column("settlement_id", "结算ID", ("结算ID", "结算编号", "结算流水号", "setl_id",
                                       "settlement_id")),
    Column("visit_id", "就诊ID", ("就诊ID", "就诊编号", "就诊流水号", "mdtrt_id", "visit_id")),
    Column("id_number", "证件号码", ("证件号码", "身份证号", "身份证号码", "公民身份号码",
                                     "certno", "id_number"), required=True),
    Column("name", "姓名", ("姓名", "人员姓名", "患者姓名", "psn_name", "name"), required=True),
    Column("hospital", "定点医药机构名称", ("定点医药机构名称", "定点医疗机构名称",
                                            "医疗机构名称", "医院名称", "fixmedins_name",
                                            "hospital"), required=True),
    Column("admit_date", "入院日期", ("入院日期", "入院时间", "admit_date"), required=True),
    Column("discharge_date", "出院日期", ("出院日期", "出院时间", "discharge_date"),
           required=True),
    Column("total_cost", "医疗费总额", ("医疗费总额", "医疗总费用", "总费用", "medfee_sumamt",
                                        "total_cost"), required=True),
    Column("fund_paid", "基金支付", ("基金支付", "基金支付总额", "医保基金支付",
                                     "fund_pay_sumamt", "fund_paid")),
    Column("pooled_fund_paid", "统筹基金支付", ("统筹基金支付", "统筹基金支出", "hifp_pay",
                                                "pooled_fund_paid")),
    Column("account_paid", "个人账户支付", ("个人账户支付", "个人账户支出", "acct_pay",
                                            "account_paid")),
    Column("out_of_pocket", "个人现金支付", ("个人现金支付", "个人现金支出", "psn_cash_pay",
                                             "out_of_pocket"), required=True),
    Column("self_pay", "个人自付", ("个人自付", "self_pay")),
    Column("self_expense", "个人自费", ("个人自费", "全自费金额", "fulamt_ownpay_amt",
                                        "self_expense")),
    Column("diagnosis", "主要诊断编码", ("主要诊断编码", "主要诊断代码", "主诊断编码",
                                         "diagnosis", "main_diagnosis"), required=True),
    Column("other_diagnosis", "其他诊断编码", ("其他诊断编码", "其他诊断代码",
                                               "other_diagnosis")),
), one_of=(("settlement_id", "visit_id"), ("fund_paid", "pooled_fund_paid")))

# The API's JSON rows and the English CSV header, in the order the README lists them.
ENGLISH_FIELDS = ("settlement_id", "id_number", "name", "hospital", "admit_date",
                  "discharge_date", "total_cost", "fund_paid", "account_paid",
                  "out_of_pocket", "self_pay", "self_expense", "diagnosis")
# The header a bureau's export carries (the demo and the sample file write these).
CHINESE_HEADERS = ("结算ID", "证件号码", "姓名", "定点医药机构名称", "入院日期", "出院日期",
                   "医疗费总额", "基金支付", "个人账户支付", "个人现金支付", "个人自付",
                   "个人自费", "主要诊断编码", "其他诊断编码")
