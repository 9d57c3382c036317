"""A medical-insurance settlement feed for the demo city, as the bureau would export it.

About one hospital stay for every 12 demo members in each half year, discharged from
January 2025 to the demo's day, at Changchun's hospitals, with costs that add up (fund +
personal account + cash = total) and ICD-10 codes of the national insurance edition:
mostly ordinary stays, some critical illnesses (lung cancer C34, myocardial infarction
I21, cerebral infarction I63), female special diseases for women (breast cancer C50,
cervical cancer C53) and fractures.
The stays are of members anywhere in the city (the free scheme's subtree), retired and
departed members among them (members outside the scheme's population, whom the batch
finds ineligible), and about one row in fifty is a person who is not a union member. The
file is GBK-encoded CSV with Chinese headers, like a bureau's Excel export, and valid, so
a newcomer can import it at once (``huzhu feed import``; the batch's ``huzhu feed run``).

A second, small file has the same kind of rows and five deliberately wrong ones (one
each: a bad ID check digit, discharge before admission, amounts that do not add up, a
negative amount, a repeated settlement ID), so the error report has something to show;
being all or nothing, its import imports nothing.

The stays up to May 2026 are the demo's history (:mod:`huzhu.demo.history` imports them
month by month, as the bureau sent them). The demo step (:data:`STEPS`) writes the stays
of 2026 (January to June) and the sample under ``HUZHU_DEMO_DIR`` (``var/demo``) and
imports neither: importing the file finds the stays up to May already known and adds
June's, for a newcomer's own 免申即享 run.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from huzhu.demo.base import DemoContext, Step
from huzhu.feeds.columns import CHINESE_HEADERS
from huzhu.lib import crypto
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member

MEMBERS_PER_STAY = 12  # in half a year: about the inpatient rate of a Chinese city
YEAR_START = dt.date(2026, 1, 1)  # the file's first discharge day
HISTORY_START = dt.date(2025, 1, 1)  # the city's stays begin here (huzhu.demo.history)
DELIBERATE_INVALID = 5
FEN = Decimal("0.01")
LOOKUP_CHUNK = 900
# ASCII names: typed in a shell by a newcomer (a bureau's own would be Chinese).
FEED_FILE = "settlement-feed-2026h1.csv"
ERRORS_FILE = "settlement-feed-with-errors.csv"
ERROR_SAMPLE_GOOD_ROWS = 15

# (hospital, weight): the provincial and city hospitals take most inpatients.
HOSPITALS = [
    ("吉林大学第一医院", 14), ("吉林大学第二医院", 9), ("吉林大学中日联谊医院", 9),
    ("吉林省人民医院", 8), ("长春市中心医院", 6), ("吉林省肿瘤医院", 4),
    ("长春中医药大学附属医院", 5), ("长春市人民医院", 4), ("长春市中医院", 3),
    ("吉林省前卫医院", 2), ("长春市第二医院", 2), ("吉林省妇幼保健院", 2),
    ("长春市朝阳区人民医院", 2), ("长春市南关区人民医院", 2), ("长春市二道区人民医院", 2),
    ("长春市宽城区人民医院", 1), ("长春市绿园区人民医院", 1), ("九台区人民医院", 1),
    ("农安县人民医院", 1), ("榆树市人民医院", 1), ("德惠市人民医院", 1),
]
ONCOLOGY = "吉林省肿瘤医院"
# (code, name, days range, total cost range in yuan)
ORDINARY = [
    ("J18.900", "肺炎", (5, 12), (5_000, 16_000)),
    ("I10.x00", "原发性高血压", (4, 10), (3_000, 9_000)),
    ("K80.101", "胆囊结石伴慢性胆囊炎", (5, 10), (12_000, 30_000)),
    ("M51.202", "腰椎间盘突出", (7, 15), (10_000, 45_000)),
    ("I25.103", "冠状动脉粥样硬化性心脏病", (5, 12), (15_000, 70_000)),
    ("E11.900", "2型糖尿病", (6, 12), (5_000, 12_000)),
    ("K35.800", "急性阑尾炎", (4, 8), (8_000, 18_000)),
    ("J44.100", "慢性阻塞性肺病急性加重", (7, 14), (9_000, 25_000)),
    ("N20.000", "肾结石", (3, 7), (8_000, 22_000)),
    ("M17.900", "膝关节病", (8, 16), (30_000, 80_000)),
]
FRACTURES = [
    ("S72.001", "股骨颈骨折", (10, 25), (35_000, 90_000)),
    ("S82.201", "胫骨骨干骨折", (8, 20), (25_000, 60_000)),
    ("S52.501", "桡骨远端骨折", (4, 10), (12_000, 30_000)),
]
CRITICAL = [
    ("C34.900", "支气管和肺恶性肿瘤", (12, 35), (60_000, 280_000)),
    ("I21.900", "急性心肌梗死", (7, 18), (45_000, 160_000)),
    ("I63.900", "脑梗死", (10, 30), (25_000, 120_000)),
]
FEMALE = [
    ("C50.900", "乳房恶性肿瘤", (10, 25), (50_000, 180_000)),
    ("C53.900", "子宫颈恶性肿瘤", (10, 25), (45_000, 160_000)),
]
COMORBID = ["I10.x00", "E11.900", "K76.000", "E78.500", "J44.900"]


def demo_dir() -> Path:
    return Path(getattr(settings, "HUZHU_DEMO_DIR", Path(settings.VAR_DIR) / "demo"))


def write_feeds(ctx: DemoContext) -> int:
    """The demo step: the valid feed and the small one with errors; returns the rows of
    the valid one. Their paths go to ``ctx.extra["feed_files"]``."""
    ctx.progress.start("医保结算数据文件", 2)
    directory = demo_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    feed, errors = directory / FEED_FILE, directory / ERRORS_FILE
    rng = ctx.rng("feeds")
    rows = file_rows(ctx.extra.get("feed_rows") or demo_rows(ctx, rng))
    _write(rows, feed)
    ctx.progress.advance()
    _write(_error_sample(rng, rows), errors)
    ctx.progress.advance()
    ctx.extra["feed_files"] = {"feed": feed, "errors": errors, "rows": len(rows)}
    return len(rows)


def write_demo_feed(ctx: DemoContext, path: Path) -> int:
    """Write the demo city's (valid) feed to ``path``; returns the number of data rows."""
    rows = file_rows(ctx.extra.get("feed_rows") or demo_rows(ctx, ctx.rng("feeds")))
    _write(rows, path)
    return len(rows)


def demo_rows(ctx: DemoContext, rng: random.Random) -> list[dict[str, Any]]:
    """Every stay of the city from 2025 to the demo's day (Chinese headers), in discharge
    order, all valid: the history imports them month by month up to May 2026, and the
    file holds those of 2026 (the same rows, the same settlement IDs)."""
    people = _stay_members(ctx, rng)
    rows = [_stay(rng, person, ctx.as_of) for person in people]
    rows += _readmissions(rng, people, ctx.as_of)
    rows += [_stay(rng, person, ctx.as_of) for person in _non_members(rng, len(people))]
    rows.sort(key=lambda r: (r["出院日期"], r["证件号码"]))
    _number(rows)
    return rows


def file_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the demo's file: the stays discharged in 2026 (first half)."""
    start = YEAR_START.isoformat()
    return [r for r in rows if r["出院日期"] >= start]


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    """``rows`` as the bureau's GBK CSV at ``path``, owner-only."""
    _write(rows, path)


def _write(rows: list[dict[str, Any]], path: Path) -> None:
    """GBK CSV, owner-only: the rows hold (synthetic) plaintext ID numbers."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w", encoding="gbk", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CHINESE_HEADERS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def _stay_members(ctx: DemoContext, rng: random.Random) -> list[dict[str, Any]]:
    """About one member in 12 for each half year from 2025 to the demo's day, with the
    name, ID number and gender the registry has."""
    ids = list(ctx.member_ids) or list(Member.objects.order_by("pk").values_list("pk", flat=True))
    halves = _half_years(ctx.as_of)
    chosen = sorted(rng.sample(ids, k=min(len(ids),
                                          max(1, len(ids) * halves // MEMBERS_PER_STAY))))
    people = []
    unseal = crypto.unsealer(column=crypto.MEMBER_ID_NUMBER)
    for i in range(0, len(chosen), LOOKUP_CHUNK):
        for name, sealed, gender in Member.objects.filter(
                pk__in=chosen[i:i + LOOKUP_CHUNK]).order_by("pk").values_list(
                "name", "id_number_sealed", "gender"):
            people.append({"name": name, "id_number": unseal(sealed),
                           "female": gender == Member.Gender.FEMALE})
    return people


def _half_years(as_of: dt.date) -> int:
    """Half years from HISTORY_START to ``as_of`` (three for the demo's 2026-06-30)."""
    return max(1, round((as_of - HISTORY_START).days / 182.6))


def _non_members(rng: random.Random, stays: int) -> list[dict[str, Any]]:
    """People the registry does not have: born in the 1950s (demo members are 18–65)."""
    people = []
    for n in range(max(2, stays // 50)):
        birth = dt.date(1950 + n % 9, 1 + n % 12, 1 + rng.randrange(28))
        number = make_id_number("220104", birth, rng.randrange(1, 999))
        if Member.find_by_id_number(number) is None:
            people.append({"name": "王" + "秀兰桂芝淑珍玉华凤英"[n % 10], "id_number": number,
                           "female": int(number[16]) % 2 == 0})
    return people


def _readmissions(rng: random.Random, people: list[dict[str, Any]],
                  as_of: dt.date) -> list[dict[str, Any]]:
    """Some members are in hospital twice."""
    return [_stay(rng, person, as_of) for person in people if rng.random() < 0.08]


def _diagnosis(rng: random.Random, female: bool) -> tuple[tuple[Any, ...], str]:
    roll = rng.random()
    if female and roll < 0.05:
        return rng.choice(FEMALE), ONCOLOGY if rng.random() < 0.5 else ""
    if roll < 0.13:
        return rng.choice(CRITICAL), ""
    if roll < 0.18:
        return rng.choice(FRACTURES), ""
    return rng.choice(ORDINARY), ""


def _stay(rng: random.Random, person: dict[str, Any], as_of: dt.date) -> dict[str, Any]:
    (code, _name, (low_days, high_days), (low, high)), hospital = _diagnosis(
        rng, person["female"])
    days = rng.randint(low_days, high_days)
    discharge = HISTORY_START + dt.timedelta(
        days=rng.randrange((as_of - HISTORY_START).days + 1))
    admit = discharge - dt.timedelta(days=days)
    total = _yuan(rng.triangular(low, high, low + (high - low) * 0.3))
    fund = _yuan(total * Decimal(str(rng.uniform(0.52, 0.78))))
    burden = total - fund
    account = _yuan(min(burden * Decimal("0.3"), Decimal(rng.randrange(0, 2500)))
                    if rng.random() < 0.5 else 0)
    self_expense = _yuan(burden * Decimal(str(rng.uniform(0.12, 0.35))))
    others = rng.sample(COMORBID, k=rng.choice((0, 0, 1, 1, 2)))
    return {
        "结算ID": "", "证件号码": person["id_number"], "姓名": person["name"],
        "定点医药机构名称": hospital or _hospital(rng), "入院日期": admit.isoformat(),
        "出院日期": discharge.isoformat(), "医疗费总额": f"{total:.2f}",
        "基金支付": f"{fund:.2f}", "个人账户支付": f"{account:.2f}",
        "个人现金支付": f"{burden - account:.2f}", "个人自付": f"{burden - self_expense:.2f}",
        "个人自费": f"{self_expense:.2f}", "主要诊断编码": code,
        "其他诊断编码": ";".join(c for c in others if c != code),
    }


def _hospital(rng: random.Random) -> str:
    names, weights = zip(*HOSPITALS, strict=True)
    return str(rng.choices(names, weights=weights)[0])


def _yuan(value: object) -> Decimal:
    return Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def _number(rows: list[dict[str, Any]]) -> None:
    """Settlement IDs as the bureau numbers them: the discharge day and a sequence."""
    for seq, row in enumerate(rows, 1):
        row["结算ID"] = f"JS{row['出院日期'].replace('-', '')}{seq:06d}"


def _error_sample(rng: random.Random, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A few rows of the feed and five deliberately wrong ones among them."""
    sample = [dict(r) for r in rng.sample(rows, k=min(len(rows), ERROR_SAMPLE_GOOD_ROWS))]
    sample.sort(key=lambda r: r["结算ID"])
    return _with_invalid(rng, sample)


def _with_invalid(rng: random.Random, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Five deliberately wrong rows, spread through the file."""
    members = [r for r in rows if r["证件号码"]]
    bad = [dict(rng.choice(members)) for _ in range(DELIBERATE_INVALID - 1)]
    number = bad[0]["证件号码"]
    bad[0]["证件号码"] = number[:17] + ("0" if number[17] != "0" else "1")  # check digit
    bad[1]["入院日期"], bad[1]["出院日期"] = bad[1]["出院日期"], bad[1]["入院日期"]
    bad[2]["医疗费总额"] = f"{Decimal(bad[2]['医疗费总额']) + 100:.2f}"  # 100 yuan short
    bad[3]["个人账户支付"] = "-50.00"
    for i, row in enumerate(bad):
        row["结算ID"] = f"JS{row['出院日期'].replace('-', '')}9{i:05d}"
    duplicate = dict(rng.choice(rows))  # a row sent twice: the second is the error
    out = list(rows)
    for row in [*bad, duplicate]:
        out.insert(rng.randrange(len(out) // 2, len(out) + 1), row)
    return out


STEPS = [Step("feeds", "医保结算数据文件", write_feeds)]
