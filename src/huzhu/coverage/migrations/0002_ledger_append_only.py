# The fund ledger is append-only in the database itself: an UPDATE or DELETE of a ledger
# row fails, whatever code (or a hand-typed SQL statement) tries it.

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER coverage_ledger_no_update BEFORE UPDATE ON coverage_ledgerentry
       BEGIN SELECT RAISE(ABORT, '互助金账只能追加，不能修改'); END""",
    """CREATE TRIGGER coverage_ledger_no_delete BEFORE DELETE ON coverage_ledgerentry
       BEGIN SELECT RAISE(ABORT, '互助金账只能追加，不能删除'); END""",
]
POSTGRES = [
    """CREATE FUNCTION coverage_ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '互助金账只能追加，不能修改或删除'; END $$""",
    """CREATE TRIGGER coverage_ledger_no_update BEFORE UPDATE ON coverage_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION coverage_ledger_refuse()""",
    """CREATE TRIGGER coverage_ledger_no_delete BEFORE DELETE ON coverage_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION coverage_ledger_refuse()""",
]
DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS coverage_ledger_no_update",
               "DROP TRIGGER IF EXISTS coverage_ledger_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS coverage_ledger_no_update ON coverage_ledgerentry",
                   "DROP TRIGGER IF EXISTS coverage_ledger_no_delete ON coverage_ledgerentry",
                   "DROP FUNCTION IF EXISTS coverage_ledger_refuse()"],
}


def create(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError("互助金账的只追加触发器只支持 SQLite 和 PostgreSQL")
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for sql in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [("coverage", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
