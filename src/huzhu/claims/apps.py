from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "huzhu.claims"
    verbose_name = "理赔与给付"

    def ready(self) -> None:
        # Imported here, not at the top: AppConfig modules load before the models do.
        from huzhu.claims import (
            appeals,
            engine_inputs,
            flags,
            ledger,
            notifications,
            step_effects,  # noqa: F401  (registers the steps' effects)
        )
        from huzhu.claims.materials.views import panel_context
        from huzhu.claims.panels import member_panel
        from huzhu.claims.signals import claim_transitioned
        from huzhu.coverage import engine_inputs as coverage_inputs
        from huzhu.coverage import ledger as fund_ledger
        from huzhu.lib import panels

        notifications.register_kinds()
        appeals.register()
        claim_transitioned.connect(notifications.on_claim_transitioned,
                                   dispatch_uid="claims.notifications")
        fund_ledger.register_paid_totals(ledger.paid_totals_by_period)
        coverage_inputs.register_tables(engine_inputs.write)
        panels.register("member", panels.Panel("claims", "claims/_member_panel.html",
                                               member_panel, order=20))
        panels.register("claim", panels.Panel(
            "materials", "claims/_materials.html",
            lambda request, claim: panel_context(request.user, claim), order=10))
        panels.register("claim", panels.Panel("flags", "claims/_flags.html", flags.panel,
                                              order=5))
