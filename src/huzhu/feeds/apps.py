from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "huzhu.feeds"
    verbose_name = "医保结算数据"

    def ready(self) -> None:
        from huzhu.notify.kinds import register_kind

        # 应享未享: a covered member whose proactive claim cannot be paid for want of an
        # account is asked, once per run, to register one.
        register_kind("feeds.bank_account_missing", "提醒登记银行账号")
