"""An index for the statistics: paid payouts by payment date, with the claim and amount
beside them, so a year's payouts are a range scan of the index (huzhu.reports.figures).

It lives here, not on the claims model: the statistics need it, the claims app does not."""

from django.db import migrations

INDEX = "reports_payout_paid_on"


class Migration(migrations.Migration):
    dependencies = [("claims", "0002_flags_followup")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON claims_payout (state, paid_on, claim_id, amount)",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
