# The import job now belongs to the imports app (huzhu.imports 0001 takes over the table).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0005_id_last4_index"),
        ("imports", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ImportJob")],
            database_operations=[],
        ),
    ]
