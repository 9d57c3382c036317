# The fund ledger is append-only in the database itself: an UPDATE or DELETE of a ledger
# row fails, whatever code (or a hand-typed SQL statement) tries it.

from django.db import migrations

from huzhu.coverage.migrations import _append_only as triggers


def create(apps, schema_editor):
    statements = {"sqlite": triggers.SQLITE,
                  "postgresql": triggers.POSTGRES}.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError("互助金账的只追加触发器只支持 SQLite 和 PostgreSQL")
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for sql in triggers.DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [("coverage", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
