"""A second person's override of the duplicate rule (claims.duplicates): who, and why.

Adding a NOT NULL text column makes SQLite rebuild the table, which loses the indexes
0002 and 0003 made outside the model's state: 0005's step makes them again.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def restore_rebuilt_indexes(apps, schema_editor):
    importlib.import_module("huzhu.claims.migrations.0005_prune_indexes") \
        .restore_rebuilt_indexes(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0006_reject_code_choices'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='claim',
            name='duplicate_override_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='确认非重复人'),
        ),
        migrations.AddField(
            model_name='claim',
            name='duplicate_override_reason',
            field=models.CharField(blank=True, max_length=200, verbose_name='确认非重复理由'),
        ),
        migrations.RunPython(restore_rebuilt_indexes, migrations.RunPython.noop),
    ]
