"""``huzhu manage check`` says when HUZHU_SMS_GATEWAY names nothing usable, before the
first reminder waits in vain for a worker that cannot send it."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string


@register()
def gateway_setting(app_configs=None, **kwargs) -> list[Error]:
    path = getattr(settings, "HUZHU_SMS_GATEWAY", "")
    try:
        cls = import_string(path)
    except ImportError as exc:
        return [Error(f"HUZHU_SMS_GATEWAY={path}：找不到该类（{exc}）", id="notify.E001")]
    if not callable(getattr(cls, "send", None)):
        return [Error(f"HUZHU_SMS_GATEWAY={path}：该类没有 send(message) 方法",
                      id="notify.E002")]
    return []
