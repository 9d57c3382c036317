"""Password rules beyond Django's own validators (configured in the settings)."""

from __future__ import annotations

from django.contrib.auth.password_validation import MinimumLengthValidator
from django.core.exceptions import ValidationError


class ChineseMinimumLengthValidator(MinimumLengthValidator):
    """Django's minimum length, with a Chinese error (Django 5.2 ships none for it)."""

    def get_error_message(self) -> str:
        return f"密码太短：至少需要 {self.min_length} 个字符。"

    def get_help_text(self) -> str:
        return f"密码至少需要 {self.min_length} 个字符。"


class LettersAndDigitsValidator:
    """A password must mix letters and digits: ``clerkclerkclerk`` and ``2026202620`` are
    refused, ``huzhu-demo-2026`` is fine."""

    message = "密码必须同时包含字母和数字。"

    def validate(self, password: str, user=None) -> None:
        if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
            raise ValidationError(self.message, code="password_needs_letters_and_digits")

    def get_help_text(self) -> str:
        return "密码须同时包含字母和数字。"
