"""One-time codes sent by SMS: to sign in, and to confirm a change of bank account.

Only a keyed hash of the code is kept (:func:`code_hash`), with the phone's blind index
rather than the number: a copy of the table gives no one a way in. A code lives
:data:`CODE_LIFETIME` and allows :data:`MAX_TRIES` wrong answers; then it is spent.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from huzhu.members.models import Member

CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
_SALT = "huzhu.portal.one_time_code"


def new_code() -> str:
    """Six digits from the system's random source (leading zeros kept)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(nonce: str, code: str) -> str:
    return salted_hmac(_SALT, f"{nonce}:{code}", algorithm="sha256").hexdigest()


class OneTimeCode(models.Model):
    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", "登录"
        BANK = "bank", "修改银行账号"

    purpose = models.CharField("用途", max_length=10, choices=Purpose.choices)
    phone_index = models.CharField("手机号索引", max_length=64)
    # The member a bank-change code is for; a sign-in code names none (the phone may
    # belong to no member, and the row must look the same either way).
    member = models.ForeignKey(Member, verbose_name="会员", null=True, blank=True,
                               on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=32, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    tries = models.PositiveSmallIntegerField("错误次数", default=0)
    created_at = models.DateTimeField("发送时间", default=timezone.now)
    expires_at = models.DateTimeField("失效时间")
    used_at = models.DateTimeField("使用时间", null=True, blank=True)
    # A bank change waiting for its code: the new account, sealed like the member's own
    # (huzhu.lib.crypto), the bank's name and the phone the code went to.
    pending_sealed = models.BinaryField(null=True, editable=False)
    pending_bank_name = models.CharField("开户行", max_length=60, blank=True)
    sent_to = models.CharField("发送号码", max_length=11, blank=True)

    class Meta:
        verbose_name = "短信验证码"
        verbose_name_plural = "短信验证码"
        indexes = [models.Index(fields=["phone_index", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.pk}"

    @classmethod
    def issue(cls, purpose: str, phone_index: str, *, member: Member | None = None,
              **extra: object) -> tuple[OneTimeCode, str]:
        """A new code row and the code itself (to send; never stored)."""
        code = new_code()
        nonce = secrets.token_hex(16)
        now = timezone.now()
        row = cls.objects.create(purpose=purpose, phone_index=phone_index, member=member,
                                 nonce=nonce, code_hash=code_hash(nonce, code),
                                 created_at=now, expires_at=now + CODE_LIFETIME, **extra)
        return row, code

    @property
    def live(self) -> bool:
        return self.used_at is None and self.tries < MAX_TRIES and \
            timezone.now() < self.expires_at

    def matches(self, code: str) -> bool:
        return constant_time_compare(self.code_hash, code_hash(self.nonce, code.strip()))
