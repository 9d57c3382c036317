"""A searchable list of ICD-10 diagnosis categories for the intake form's picker.

Not the whole classification (tens of thousands of codes, and its Chinese edition is not
redistributable): the categories that the shipped policies name and the common causes
of hospital stays, so a clerk finds most codes by name. Any well-formed code may still
be typed; the policy's lists decide what pays.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "A09": "感染性腹泻和胃肠炎", "A15": "呼吸道结核", "B18": "慢性病毒性肝炎",
    "C16": "胃恶性肿瘤", "C18": "结肠恶性肿瘤", "C20": "直肠恶性肿瘤", "C22": "肝恶性肿瘤",
    "C25": "胰腺恶性肿瘤", "C34": "支气管和肺恶性肿瘤", "C50": "乳房恶性肿瘤",
    "C51": "外阴恶性肿瘤", "C52": "阴道恶性肿瘤", "C53": "子宫颈恶性肿瘤",
    "C54": "子宫体恶性肿瘤", "C55": "子宫恶性肿瘤", "C56": "卵巢恶性肿瘤",
    "C57": "其他女性生殖器官恶性肿瘤", "C58": "胎盘恶性肿瘤", "C61": "前列腺恶性肿瘤",
    "C67": "膀胱恶性肿瘤", "C71": "脑恶性肿瘤", "C73": "甲状腺恶性肿瘤", "C90": "多发性骨髓瘤",
    "C91": "淋巴样白血病", "C92": "髓样白血病", "D06": "子宫颈原位癌", "D25": "子宫平滑肌瘤",
    "D45": "真性红细胞增多症", "E11": "2型糖尿病", "E14": "糖尿病", "F20": "精神分裂症",
    "G12.2": "运动神经元病", "G35": "多发性硬化", "G40": "癫痫", "G45": "短暂性脑缺血发作",
    "I10": "原发性高血压", "I20": "心绞痛", "I21": "急性心肌梗死", "I22": "再发性心肌梗死",
    "I25": "慢性缺血性心脏病", "I48": "心房颤动和扑动", "I50": "心力衰竭",
    "I60": "蛛网膜下腔出血", "I61": "脑内出血", "I63": "脑梗死", "I71": "主动脉夹层和动脉瘤",
    "J18": "肺炎", "J44": "慢性阻塞性肺病", "J45": "哮喘", "K25": "胃溃疡", "K35": "急性阑尾炎",
    "K74": "肝纤维化和肝硬化", "K80": "胆石症", "K85": "急性胰腺炎", "M17": "膝关节病",
    "M51": "椎间盘疾患", "N18": "慢性肾病", "N18.5": "慢性肾病5期（尿毒症）", "N20": "肾结石",
    "O80": "单胎顺产", "O82": "剖宫产", "S06": "颅内损伤", "S12": "颈椎骨折",
    "S22": "肋骨和胸椎骨折",
    "S32": "腰椎和骨盆骨折", "S42": "肩和上臂骨折", "S52": "前臂骨折", "S72": "股骨骨折",
    "S82": "小腿骨折", "T20": "头颈部烧伤", "T30": "烧伤", "U07.1": "新型冠状病毒感染（已确诊）",
    "Z94": "器官移植状态",
}


def options() -> list[tuple[str, str]]:
    return sorted(CATEGORIES.items())
