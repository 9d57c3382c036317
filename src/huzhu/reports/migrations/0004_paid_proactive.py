from django.db import migrations, models

# Payouts recorded before the field: proactive when their claim came from a settlement.
BACKFILL = (
    "UPDATE reports_paidpayout SET proactive = TRUE WHERE claim_id IN "
    "(SELECT id FROM claims_claim WHERE settlement_id IS NOT NULL)"
)


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0003_paid_payouts"),
        ("claims", "0004_claim_settlement"),
    ]

    operations = [
        migrations.AddField(
            model_name="paidpayout",
            name="proactive",
            field=models.BooleanField(default=False),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
