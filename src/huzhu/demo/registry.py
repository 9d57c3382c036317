"""Demo steps for the registry: the union tree, units, members, family links and staff."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from django.contrib.auth.hashers import make_password

from huzhu.demo import names
from huzhu.demo.base import DemoContext, Step
from huzhu.members.idcard import make_id_number
from huzhu.members.models import Member
from huzhu.orgs.models import Union, Unit, User
from huzhu.orgs.uscc import ALPHABET, make_uscc

DEMO_PASSWORD = "huzhu-demo-2026"
MEMBER_BATCH = 5000

# Relative head-count of a unit by kind; hospitals and enterprise head offices are large.
_KIND_WEIGHT = {"hospital": 9.0, "cdc": 2.0, "school": 3.0, "enterprise": 5.0,
                "branch": 2.0, "small": 1.0}

_SURNAME_WEIGHTS = [1 / (i + 6) for i in range(len(names.SURNAMES))]


# ---------------------------------------------------------------- unions and units

def make_unions(ctx: DemoContext) -> int:
    """City → 10 districts → about 20 grassroots unions each (≈200)."""
    rng = ctx.rng("unions")
    ctx.progress.start("工会", 1 + len(names.DISTRICTS) * 21)
    ctx.city = Union.objects.create(code=names.CITY_CODE, name=names.CITY_UNION_NAME,
                                    level=Union.Level.CITY)
    ctx.progress.advance()
    made = 1
    taken: set[str] = ctx.extra.setdefault("company_names", set())
    for code, district_name, streets in names.DISTRICTS:
        district = Union.objects.create(code=code, name=f"{district_name}总工会",
                                        level=Union.Level.DISTRICT, parent=ctx.city)
        ctx.districts.append(district)
        made += 1
        for i, (name, kind) in enumerate(
                _grassroots_plan(rng, district_name, streets, taken), 1):
            union = Union.objects.create(code=f"{code}{i:03d}", name=name,
                                         level=Union.Level.GRASSROOTS, parent=district)
            ctx.grassroots.append(union)
            ctx.extra.setdefault("grassroots_kind", []).append(kind)
            made += 1
        ctx.progress.advance(21)
    return made


def _grassroots_plan(rng: random.Random, district: str, streets: list[str],
                     taken: set[str]) -> list[tuple[str, str]]:
    """About 20 grassroots unions: joint unions of streets, a hospital, the CDC, schools,
    and enterprise unions."""
    plan = [(f"{district}{street}联合工会", "joint") for street in streets[:6]]
    plan.append((f"{_official(district)}人民医院工会", "hospital"))
    plan.append((f"{_official(district)}中医院工会", "hospital"))
    plan.append((f"{_official(district)}疾病预防控制中心工会", "cdc"))
    plan.append((f"{district}教育系统联合工会", "school"))
    while len(plan) < 20:
        company = _company_name(rng)
        if company not in taken:
            taken.add(company)
            plan.append((f"{company}工会", "enterprise"))
    return plan


def _official(district: str) -> str:
    """How a public body of the district is named: 长春市朝阳区…, but 德惠市… (county level)."""
    return f"{names.CITY_NAME}{district}" if district.endswith("区") else district


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


def _company_name(rng: random.Random) -> str:
    return (names.CITY_NAME[:2] + rng.choice(names.BRANDS) + rng.choice(names.INDUSTRIES)
            + rng.choice(names.COMPANY_FORMS))


def make_units(ctx: DemoContext) -> int:
    """About ten units per grassroots union (≈2,000), each with a valid USCC."""
    rng = ctx.rng("units")
    ctx.progress.start("单位", len(ctx.grassroots))
    district_of = {d.pk: (code, dname, streets)
                   for d, (code, dname, streets) in zip(ctx.districts, names.DISTRICTS,
                                                        strict=True)}
    usccs: set[str] = set()
    unit_names: set[str] = ctx.extra["company_names"]
    pending: list[tuple[Unit, str]] = []
    for union, kind in zip(ctx.grassroots, ctx.extra["grassroots_kind"], strict=True):
        code, dname, streets = district_of[union.parent_id]
        for name, unit_kind in _units_of(rng, union, kind, dname, unit_names):
            unit = Unit(
                name=name, uscc=_uscc(rng, code, unit_kind, usccs), union=union,
                contact_name=_person_name(rng, rng.random() < 0.5),
                contact_phone=_mobile(rng),
                address=(f"{names.CITY_NAME}{dname}{rng.choice(streets)}"
                         f"{rng.choice(names.ROADS)}{rng.randint(1, 3999)}号"),
            )
            pending.append((unit, unit_kind))
        ctx.progress.advance()
    Unit.objects.bulk_create([u for u, _ in pending], batch_size=500)
    ctx.units = [u for u, _ in pending]
    ctx.unit_kinds = [k for _, k in pending]
    return len(pending)


def _units_of(rng: random.Random, union: Union, kind: str, district: str,
              taken: set[str]) -> list[tuple[str, str]]:
    base = union.name.removesuffix("工会")
    if kind == "hospital":
        return [(base, "hospital")] + [
            (f"{base}{n}", "hospital") for n in rng.sample(["南院区", "社区卫生服务中心"], 1)]
    if kind == "cdc":
        return [(base, "cdc")]
    if kind == "school":
        place = _official(district)
        numbers = sorted(rng.sample(range(1, 40), 5))
        schools = [f"{place}第{_chinese_number(n)}中学" for n in numbers]
        schools += [f"{place}实验小学", f"{place}第一幼儿园"]
        return [(s, "school") for s in schools]
    if kind == "enterprise":
        branches = rng.sample(names.BRANCH_SUFFIXES, rng.randint(1, 5))
        return [(base, "enterprise")] + [(f"{base}{suffix}", "branch") for suffix in branches]
    # A joint union of a street gathers many small employers.
    made: list[tuple[str, str]] = []
    target = rng.randint(23, 34)
    while len(made) < target:
        name = _company_name(rng)
        if name not in taken:
            taken.add(name)
            made.append((name, "small"))
    return made


def _uscc(rng: random.Random, area: str, kind: str, taken: set[str]) -> str:
    """Registration authority and type (91 enterprise, 12 public institution), area,
    organisation code with its GB 11714 check, then the GB 32100 check character."""
    prefix = "12" if kind in {"hospital", "cdc", "school"} else "91"
    while True:
        if prefix == "91" and rng.random() < 0.7:
            body = "MA" + "".join(rng.choice(ALPHABET[:26]) for _ in range(6))
        else:
            body = "".join(rng.choice("0123456789") for _ in range(8))
        uscc = make_uscc(prefix + area + body + _org_code_check(body))
        if uscc not in taken:
            taken.add(uscc)
            return uscc


def _org_code_check(body: str) -> str:
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w
                for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


# ---------------------------------------------------------------- members

def make_members(ctx: DemoContext) -> int:
    """``ctx.members`` members spread over the units, with valid, unique ID numbers."""
    rng = ctx.rng("members")
    weights = [_KIND_WEIGHT[k] * min(rng.paretovariate(1.3), 12.0) for k in ctx.unit_kinds]
    picks = Counter(rng.choices(range(len(ctx.units)), weights=weights, k=ctx.members))
    ctx.unit_member_counts = [picks.get(i, 0) for i in range(len(ctx.units))]
    ctx.progress.start("会员", ctx.members)
    maker = _MemberMaker(rng, ctx.as_of)
    batch: list[Member] = []
    for unit, kind, count in zip(ctx.units, ctx.unit_kinds, ctx.unit_member_counts,
                                 strict=True):
        district = unit.uscc[2:8]
        for _ in range(count):
            batch.append(maker.make(unit, kind, district))
            if len(batch) >= MEMBER_BATCH:
                _save_members(ctx, batch)
                batch = []
    if batch:
        _save_members(ctx, batch)
    return ctx.members


def _save_members(ctx: DemoContext, batch: list[Member]) -> None:
    Member.objects.bulk_create(batch, batch_size=1000)
    for m in batch:
        ctx.member_ids.append(m.pk)
        ctx.member_male.append(m.gender == "M")
        ctx.member_birth_years.append(m.birth_date.year)
    ctx.progress.advance(len(batch))


class _MemberMaker:
    def __init__(self, rng: random.Random, as_of: dt.date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.ids: set[str] = set()
        self.accounts: set[str] = set()
        self.ages = list(range(18, 66))
        self.age_weights = [_age_weight(a) for a in self.ages]
        self.district_codes = [code for code, _, _ in names.DISTRICTS]

    def make(self, unit: Unit, kind: str, district: str) -> Member:
        rng = self.rng
        female_share = 0.7 if kind in {"hospital", "school"} else 0.45
        male = rng.random() >= female_share
        age = rng.choices(self.ages, weights=self.age_weights)[0]
        birth = self.as_of - dt.timedelta(days=rng.randrange(age * 365 + age // 4 + 1,
                                                             (age + 1) * 365 + age // 4))
        member = Member(
            name=_person_name(rng, male), unit_id=unit.pk, union_id=unit.union_id,
            birth_date=birth, gender="M" if male else "F",
            phone=_mobile(rng) if rng.random() < 0.95 else "",
            joined_on=self._joined_on(birth),
            status=_status(rng, age, male),
            occupation=_occupation(rng, kind),
        )
        member.set_id_number(self._id_number(district, birth, male))
        if rng.random() < 0.65:
            member.set_bank_account(self._bank_account())
        return member

    def _id_number(self, district: str, birth: dt.date, male: bool) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.70:
            area = district
        elif roll < 0.80:
            area = rng.choice(self.district_codes)
        elif roll < 0.92:
            area = rng.choice(names.OTHER_JILIN_CODES)
        else:
            area = rng.choice(names.OTHER_PROVINCE_CODES)
        if area == "220113" and birth.year < 2014:
            area = "220181"  # born while 九台 was a county-level city: the old code stays
        while True:
            number = make_id_number(area, birth, rng.randrange(500) * 2 + (1 if male else 0))
            if number not in self.ids:
                self.ids.add(number)
                return number

    def _bank_account(self) -> str:
        rng = self.rng
        while True:
            body = rng.choice(names.BANK_BINS) + f"{rng.randrange(10**12):012d}"
            account = body + _luhn_check(body)
            if account not in self.accounts:
                self.accounts.add(account)
                return account

    def _joined_on(self, birth: dt.date) -> dt.date:
        earliest = max(_add_years(birth, 18), dt.date(1998, 1, 1))
        span = (self.as_of - earliest).days
        return earliest + dt.timedelta(days=self.rng.randrange(max(span, 1)))


def _age_weight(age: int) -> float:
    if age < 23:
        return 0.25 + 0.15 * (age - 18)
    if age <= 50:
        return 1.0
    if age <= 55:
        return 0.8
    if age <= 60:
        return 0.45
    return 0.12


def _status(rng: random.Random, age: int, male: bool) -> str:
    if rng.random() < 0.02:
        return Member.Status.LEFT
    retirement_age = 60 if male else 55
    if age >= retirement_age and rng.random() < 0.8:
        return Member.Status.RETIRED
    if not male and age >= 50 and rng.random() < 0.15:
        return Member.Status.RETIRED  # women workers may retire at 50
    return Member.Status.ACTIVE


def _occupation(rng: random.Random, kind: str) -> str:
    roll = rng.random()
    if kind == "hospital":
        return Member.Occupation.MEDICAL if roll < 0.85 else Member.Occupation.OTHER
    if kind == "cdc":
        if roll < 0.8:
            return Member.Occupation.CDC
        return Member.Occupation.MEDICAL if roll < 0.85 else Member.Occupation.OTHER
    return Member.Occupation.MEDICAL if roll < 0.005 else Member.Occupation.OTHER


def _person_name(rng: random.Random, male: bool) -> str:
    surname = rng.choices(names.SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    chars = names.MALE_CHARS if male else names.FEMALE_CHARS
    given = rng.choice(chars)
    if rng.random() < 0.75:
        given += rng.choice(chars)
    return surname + given


def _mobile(rng: random.Random) -> str:
    return rng.choice(names.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _luhn_check(body: str) -> str:
    total = 0
    for i, digit in enumerate(reversed(body)):
        d = int(digit)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# ---------------------------------------------------------------- families

def link_families(ctx: DemoContext) -> int:
    """About 2% of members point to a spouse who is also a member (家庭关联会员)."""
    rng = ctx.rng("families")
    n = len(ctx.member_ids)
    wanted = n // 50
    ctx.progress.start("家庭关联", max(wanted, 1))
    used: set[int] = set()
    links: list[Member] = []
    for _ in range(wanted * 20):
        if len(links) >= wanted or n < 2:
            break
        head, other = rng.randrange(n), rng.randrange(n)
        if head in used or other in used or head == other:
            continue
        if ctx.member_male[head] == ctx.member_male[other]:
            continue
        if abs(ctx.member_birth_years[head] - ctx.member_birth_years[other]) > 8:
            continue
        used.update((head, other))
        links.append(Member(pk=ctx.member_ids[other], family_head_id=ctx.member_ids[head]))
        ctx.progress.advance()
    Member.objects.bulk_update(links, ["family_head"], batch_size=500)
    return len(links)


# ---------------------------------------------------------------- staff

# username → (role, the level of the node the login belongs to)
STAFF = {
    "clerk": (User.Role.CLERK, "grassroots"),
    "reviewer": (User.Role.REVIEWER, "district"),
    "finance": (User.Role.FINANCE, "city"),
    "admin": (User.Role.ADMIN, "city"),
    "auditor": (User.Role.AUDITOR, "city"),
}


def make_staff(ctx: DemoContext) -> int:
    """One login per role; the clerk and reviewer sit in 朝阳区, the rest at the city.

    A superuser (no union node: sees everything) is for Django's admin site only.
    """
    ctx.progress.start("工作人员账号", len(STAFF) + 1)
    district = next(d for d in ctx.districts if d.name.startswith("朝阳区"))
    grassroots = _busiest_grassroots(ctx, district)
    place = {"city": ctx.city, "district": district, "grassroots": grassroots}
    # One hash for all demo logins: hashing is deliberately slow, and they share a password.
    password = make_password(DEMO_PASSWORD)
    for username, (role, where) in STAFF.items():
        ctx.staff[username] = User.objects.create(
            username=username, password=password, role=role, union=place[where],
            display_name=names.STAFF_NAMES[username],
        )
        ctx.progress.advance()
    ctx.staff["superuser"] = User.objects.create(
        username="superuser", password=password, role=User.Role.ADMIN, union=None,
        display_name=names.STAFF_NAMES["superuser"], is_staff=True, is_superuser=True,
    )
    ctx.progress.advance()
    return len(ctx.staff)


def _busiest_grassroots(ctx: DemoContext, district: Union) -> Union:
    counts: Counter[int] = Counter()
    for unit, count in zip(ctx.units, ctx.unit_member_counts, strict=True):
        counts[unit.union_id] += count
    candidates = [u for u in ctx.grassroots if u.parent_id == district.pk]
    return max(candidates, key=lambda u: (counts[u.pk], -u.pk))


STEPS = [
    Step("unions", "工会组织", make_unions),
    Step("units", "单位", make_units),
    Step("members", "会员", make_members),
    Step("families", "家庭关联", link_families),
    Step("staff", "工作人员账号", make_staff),
]
