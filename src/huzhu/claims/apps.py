from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "huzhu.claims"
    verbose_name = "理赔与给付"

    def ready(self) -> None:
        from huzhu.claims import notifications

        notifications.register_kinds()
        from huzhu.claims.panels import member_panel
        from huzhu.lib import panels

        panels.register("member", panels.Panel("claims", "claims/_member_panel.html",
                                               member_panel, order=20))
        from huzhu.claims.materials.views import panel_context

        panels.register("claim", panels.Panel(
            "materials", "claims/_materials.html",
            lambda request, claim: panel_context(request.user, claim), order=10))
        from huzhu.claims import flags

        panels.register("claim", panels.Panel("flags", "claims/_flags.html", flags.panel,
                                              order=5))
