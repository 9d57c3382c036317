"""Password rules: at least 10 characters, letters and digits, not common, not all digits,
not like the username; messages in Chinese."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from huzhu.demo.registry import DEMO_PASSWORD
from huzhu.orgs.models import User
from tests.fixtures import PASSWORD


def refusal(password: str, user=None) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    return refused.value.messages


def test_clerk123_is_refused_in_chinese():
    messages = refusal("clerk123")
    assert any("至少" in m and "10" in m for m in messages), messages


@pytest.mark.parametrize(("password", "why"), [
    ("clerkclerkclerk", "字母和数字"),
    ("20262026202620", "字母和数字"),
    ("abc12345", "至少"),
    ("password1234", "常见"),
])
def test_weak_passwords_are_refused(password, why):
    assert any(why in m for m in refusal(password)), refusal(password)


@pytest.mark.django_db
def test_a_password_like_the_username_is_refused():
    user = User(username="zhangwei2026", display_name="张伟")
    assert any("相似" in m for m in refusal("zhangwei2026", user))


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["clerk", "reviewer", "finance", "admin", "auditor",
                                      "superuser", "clerk_a1", "admin_city"])
@pytest.mark.parametrize("password", [DEMO_PASSWORD, PASSWORD])
def test_the_demo_and_test_passwords_pass(username, password):
    validate_password(password, User(username=username))
