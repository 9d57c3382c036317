from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "huzhu.claims"
    verbose_name = "理赔与给付"

    def ready(self) -> None:
        from huzhu.claims import (
            engine_inputs,
            ledger,
            notifications,
            step_effects,  # noqa: F401  (registers the steps' effects)
        )
        from huzhu.coverage import engine_inputs as coverage_inputs
        from huzhu.coverage import ledger as fund_ledger

        notifications.register_kinds()
        fund_ledger.register_paid_totals(ledger.paid_totals_by_period)
        coverage_inputs.register_tables(engine_inputs.write)
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
