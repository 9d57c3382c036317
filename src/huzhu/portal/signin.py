"""Signing a member in with their phone and a six-digit code sent by SMS.

Enumeration-safe: asking for a code answers the same, writes a code row the same and
takes the same steps whether or not the phone belongs to a member (only a member's
phone is sent the SMS). The first sign-in on a device also asks the last six
characters of the ID number; the device is then trusted (a signed cookie naming the
members who signed in on it), and a phone another member's device does not vouch for is
asked again — whether or not it is registered, since the cookie is the device's, not the
phone's. A code lives 5 minutes and allows 5 wrong answers (a wrong ID number counts as
one). Asking for codes is throttled per phone and per client address, and so are the
answers per address; every sign-in, failed or not, and every throttle is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from huzhu.audit import log
from huzhu.audit.models import AuditEntry
from huzhu.lib import crypto
from huzhu.members.models import Member
from huzhu.notify import outbox
from huzhu.notify.models import mask_phone
from huzhu.orgs.logins import client_ip
from huzhu.portal.models import MAX_TRIES, OneTimeCode

# Throttles: (how many, within how many seconds).
CODES_PER_PHONE = (5, 3600)
CODES_PER_ADDRESS = (20, 3600)
ANSWERS_PER_ADDRESS = (30, 3600)
DEVICE_COOKIE = "huzhu_member_device"
DEVICE_DAYS = 180
_DEVICE_SALT = "huzhu.portal.device"

SENT = "如该手机号已登记为会员，验证码已通过短信发送，5 分钟内有效。"
WRONG = "验证码或身份证号后六位不正确，请核对后重新输入。"
SPENT = "验证码已失效（超过 5 分钟或错误次数过多），请重新获取。"
THROTTLED = "操作过于频繁，请稍后再试。"


class Throttled(Exception):
    """Too many codes asked or answers given; the message is for the member."""


def phone_index(phone: str) -> str:
    return crypto.blind_index("portal-phone:" + phone)


def members_with_phone(phone: str) -> list[Member]:
    """The members who may sign in with ``phone`` (not those who left the union)."""
    return list(Member.objects.filter(phone=phone).exclude(status=Member.Status.LEFT)
                .select_related("union").order_by("pk"))


def _count(key: str, limit: tuple[int, int]) -> bool:
    """Counts one more; False once the limit is passed within the window."""
    most, seconds = limit
    cache.add(key, 0, seconds)
    try:
        n = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds)
        n = 1
    return n <= most


def _throttle_alert(request: HttpRequest, what: str, phone: str = "") -> None:
    ip = client_ip(request) or ""
    log.record(None, AuditEntry.Action.SECURITY_ALERT,
               summary=f"会员服务{what}过于频繁，已暂停"
                       + (f"（手机号 {mask_phone(phone)}）" if phone else "")
                       + (f"，来源地址 {ip}" if ip else ""),
               changes={"throttled": f"会员服务{what}", "address": ip})


def request_code(request: HttpRequest, phone: str) -> OneTimeCode:
    """Write a sign-in code for ``phone`` and, if a member has that phone, send it.
    Raises :class:`Throttled` (audited) past the limits."""
    ip = client_ip(request) or "unknown"
    index = phone_index(phone)
    if not _count(f"portal:codes:address:{ip}", CODES_PER_ADDRESS):
        _throttle_alert(request, "获取验证码")
        raise Throttled(THROTTLED)
    if not _count(f"portal:codes:phone:{index}", CODES_PER_PHONE):
        _throttle_alert(request, "获取验证码", phone)
        raise Throttled(THROTTLED)
    members = members_with_phone(phone)
    with transaction.atomic():
        row, code = OneTimeCode.issue(OneTimeCode.Purpose.SIGN_IN, index)
        if members:
            outbox.enqueue(kind="portal.sign_in_code", to=phone,
                           text=f"您的会员服务登录验证码为 {code}，5 分钟内有效。"
                                "请勿告诉他人，工会工作人员不会向您索要验证码。",
                           dedupe_key=f"portal.sign_in_code:{row.pk}", member=members[0],
                           params={"code": code})
    return row


@dataclass
class Answer:
    member: Member | None = None
    error: str = ""


def trusted_ids(request: HttpRequest) -> set[int]:
    """The members who signed in on this device before (its signed cookie)."""
    try:
        value = signing.get_cookie_signer(salt=_DEVICE_SALT).unsign(
            request.COOKIES.get(DEVICE_COOKIE, ""), max_age=DEVICE_DAYS * 86400)
    except signing.BadSignature:
        return set()
    return {int(p) for p in value.split(".") if p.isdigit()}


def trust_device(response: HttpResponse, request: HttpRequest, member: Member) -> None:
    ids = sorted(trusted_ids(request) | {member.pk})[-10:]
    value = signing.get_cookie_signer(salt=_DEVICE_SALT).sign(".".join(map(str, ids)))
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=request.is_secure(), path="/member/")


def needs_id(request: HttpRequest, phone: str) -> bool:
    """Whether the answer must carry the ID number's last six: unless this device
    vouches for a member with this phone. An unregistered phone is never vouched for,
    exactly like a registered one on a new device."""
    trusted = trusted_ids(request)
    if not trusted:
        return True
    return not Member.objects.filter(pk__in=trusted, phone=phone).exists()


def _id_tail_matches(member: Member, tail: str) -> bool:
    return member.id_number[-6:].upper() == tail.strip().upper()


def check_code(request: HttpRequest, code_id: int, phone: str, code: str,
               id_tail: str) -> Answer:
    """The member ``code`` signs in, or why not; each answer is audited."""
    ip = client_ip(request) or "unknown"
    if not _count(f"portal:answers:address:{ip}", ANSWERS_PER_ADDRESS):
        _throttle_alert(request, "输入验证码", phone)
        return Answer(error=THROTTLED)
    members = members_with_phone(phone)
    with transaction.atomic():
        row = (OneTimeCode.objects.select_for_update()
               .filter(pk=code_id, purpose=OneTimeCode.Purpose.SIGN_IN,
                       phone_index=phone_index(phone)).first())
        if row is None or not row.live:
            _failed(request, members, phone, "验证码已失效")
            return Answer(error=SPENT)
        ask_id = needs_id(request, phone)
        chosen: Member | None = None
        if row.matches(code):
            if ask_id:
                chosen = next((m for m in members if _id_tail_matches(m, id_tail)), None)
            else:
                trusted = trusted_ids(request)
                chosen = next((m for m in members if m.pk in trusted), None)
        if chosen is None:
            row.tries += 1
            row.save(update_fields=["tries"])
            _failed(request, members, phone, f"验证码或身份证号不正确（第 {row.tries} 次）")
            return Answer(error=SPENT if row.tries >= MAX_TRIES else WRONG)
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        log.record(None, AuditEntry.Action.LOGGED_IN, chosen,
                   summary=f"会员“{chosen.name}”通过手机号 {mask_phone(phone)} 登录会员服务",
                   changes={"method": "短信验证码" + ("及身份证号后六位" if ask_id else ""),
                            "address": client_ip(request) or ""})
    return Answer(member=chosen)


def _failed(request: HttpRequest, members: list[Member], phone: str, why: str) -> None:
    ip = client_ip(request) or ""
    summary = f"会员服务登录失败：{why}（手机号 {mask_phone(phone)}）"
    if not members:
        log.record(None, AuditEntry.Action.LOGIN_FAILED,
                   summary=summary + "，该号码未登记为会员", changes={"address": ip})
    for member in members:
        log.record(None, AuditEntry.Action.LOGIN_FAILED, member, summary=summary,
                   changes={"address": ip})
