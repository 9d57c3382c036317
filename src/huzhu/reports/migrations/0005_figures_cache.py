"""The table of the database cache that holds the statistics' figures (settings.CACHES
"reports"), made by Django's own ``createcachetable``."""

from django.core.management import call_command
from django.db import migrations

TABLE = "reports_figures_cache"


def create(apps, schema_editor):
    call_command("createcachetable", TABLE,
                 database=schema_editor.connection.alias, verbosity=0)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):

    dependencies = [("reports", "0004_paid_proactive")]

    operations = [migrations.RunPython(create, drop)]
