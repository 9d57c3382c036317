# Indexes of the enrolment table, for a city of a million members (bench/bench_coverage.py).
#
# - member, period and notice lose the index of their own: the unique (member, period),
#   the (period, unit, …) index and (notice, id) lead with those columns and serve the
#   same lookups, and enrolling a city writes every index of 800,000 rows.
# - (period, unit) becomes (period, unit, state, paid_on, premium), and (period, state,
#   paid_on) is new: the period page counts each listed unit's enrolments, and the whole
#   period's, from an index alone.
#
# Django's AlterField would rebuild the whole table on SQLite, once per field, to drop an
# index; the three are dropped by name instead (found by introspection, as Django named
# them), and only the model state changes.

import django.db.models.deletion
from django.db import migrations, models

OWN_INDEXES = ("member", "period", "notice")


def _single_column_indexes(model, schema_editor) -> list[str]:
    columns = {model._meta.get_field(name).column for name in OWN_INDEXES}
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [name for name, info in constraints.items()
            if info["index"] and not info["unique"] and not info["primary_key"]
            and len(info["columns"]) == 1 and info["columns"][0] in columns]


def drop_own_indexes(apps, schema_editor):
    model = apps.get_model("coverage", "Enrolment")
    for name in _single_column_indexes(model, schema_editor):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def restore_own_indexes(apps, schema_editor):
    model = apps.get_model("coverage", "Enrolment")
    present = set(_single_column_indexes(model, schema_editor))
    for name in OWN_INDEXES:
        field = model._meta.get_field(name)
        sql = schema_editor._create_index_sql(model, fields=[field])
        if str(sql.parts["name"]).strip('"') not in present:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [("coverage", "0003_scheme_review")]

    operations = [
        migrations.RemoveIndex(model_name="enrolment", name="coverage_enrol_period_unit"),
        migrations.AddIndex(
            model_name="enrolment",
            index=models.Index(fields=["period", "unit", "state", "paid_on", "premium"],
                               name="coverage_enrol_unit_paid"),
        ),
        migrations.AddIndex(
            model_name="enrolment",
            index=models.Index(fields=["period", "state", "paid_on"], name="coverage_enrol_paid"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="enrolment", name="member",
                    field=models.ForeignKey(db_index=False,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="enrolments", to="members.member",
                                            verbose_name="会员"),
                ),
                migrations.AlterField(
                    model_name="enrolment", name="period",
                    field=models.ForeignKey(db_index=False,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="enrolments", to="coverage.period",
                                            verbose_name="互助期"),
                ),
                migrations.AlterField(
                    model_name="enrolment", name="notice",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="enrolments",
                                            to="coverage.premiumnotice",
                                            verbose_name="缴费通知"),
                ),
            ],
            database_operations=[migrations.RunPython(drop_own_indexes, restore_own_indexes)],
        ),
    ]
