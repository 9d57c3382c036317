"""会员服务: the members' own pages under ``/member/`` — sign in by phone and SMS code,
see their cover and claims, file a claim with photographs, keep their bank account, and
ask for a review (申请复核). A member session is not a staff session: neither opens the
other's pages."""
from django.apps import AppConfig

KINDS = {
    "portal.sign_in_code": "登录验证码",
    "portal.bank_code": "银行账号变更验证码",
    "portal.bank_changed": "银行账号变更通知",
}


class PortalConfig(AppConfig):
    name = "huzhu.portal"
    verbose_name = "会员服务"

    def ready(self) -> None:
        from huzhu.notify.kinds import register_kind

        for code, label in KINDS.items():
            register_kind(code, label)
