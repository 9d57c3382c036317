"""Fewer indexes for the proactive batch to keep up (a million claims in one run).

member and scheme lead composite indexes that serve their lookups; the reviewers' foreign
keys are null on a new claim and only looked up when a user is deleted (PROTECT), so their
indexes become partial; the ``varchar_pattern_ops`` copies PostgreSQL gets for number and
invoice_number serve LIKE 'x%', which no query asks of them (equality uses the plain ones).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


LIKE_COLUMNS = ("number", "invoice_number")


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'claims_claim' "
                       "AND indexdef LIKE '%%varchar_pattern_ops%%'")
        for (name,) in cursor.fetchall():
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def restore_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in LIKE_COLUMNS:
        schema_editor.execute(f"CREATE INDEX claims_claim_{column}_like ON claims_claim "
                              f"({column} varchar_pattern_ops)")


def _database_only_indexes() -> list:
    import importlib

    return [*importlib.import_module("huzhu.claims.migrations.0002_flags_followup").INDEXES,
            *importlib.import_module("huzhu.claims.migrations.0003_bench_indexes").QUEUE_INDEXES]


def restore_rebuilt_indexes(apps, schema_editor):
    """SQLite alters a field by rebuilding the table, which loses the indexes 0002 and
    0003 made outside the model's state: made again here."""
    if schema_editor.connection.vendor != "sqlite":
        return
    claim = apps.get_model("claims", "Claim")
    with schema_editor.connection.cursor() as cursor:
        have = schema_editor.connection.introspection.get_constraints(
            cursor, claim._meta.db_table)
    for index in _database_only_indexes():
        if index.name not in have:
            schema_editor.add_index(claim, index)


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0004_claim_settlement'),
        ('coverage', '0004_enrolment_indexes'),
        ('feeds', '0004_feedrow_no_db_constraints'),
        ('members', '0008_transfer_request'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Unapplying runs the operations backwards: this one last, after the rebuilds.
        migrations.RunPython(migrations.RunPython.noop, restore_rebuilt_indexes),
        migrations.AlterField(
            model_name='claim',
            name='first_reviewed_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='初审人'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='late_exception_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='逾期例外批准人'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='member',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='members.member', verbose_name='会员'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='scheme',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='claims', to='coverage.scheme', verbose_name='保障项目'),
        ),
        migrations.AlterField(
            model_name='claim',
            name='second_reviewed_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='复审人'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('first_reviewed_by__isnull', False)), fields=['first_reviewed_by'], name='claims_first_reviewed_by'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('second_reviewed_by__isnull', False)), fields=['second_reviewed_by'], name='claims_second_reviewed_by'),
        ),
        migrations.AddIndex(
            model_name='claim',
            index=models.Index(condition=models.Q(('late_exception_by__isnull', False)), fields=['late_exception_by'], name='claims_late_exception_by'),
        ),
        migrations.RunPython(drop_like_indexes, restore_like_indexes),
        migrations.RunPython(restore_rebuilt_indexes, migrations.RunPython.noop),
    ]
