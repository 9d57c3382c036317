"""The fund ledger's append-only triggers, shared by migration 0002 and ``flush``."""

SQLITE_UPDATE = """CREATE TRIGGER IF NOT EXISTS coverage_ledger_no_update
    BEFORE UPDATE ON coverage_ledgerentry
    BEGIN SELECT RAISE(ABORT, '互助金账只能追加，不能修改'); END"""
SQLITE_DELETE = """CREATE TRIGGER IF NOT EXISTS coverage_ledger_no_delete
    BEFORE DELETE ON coverage_ledgerentry
    BEGIN SELECT RAISE(ABORT, '互助金账只能追加，不能删除'); END"""
SQLITE_DROP_DELETE = "DROP TRIGGER IF EXISTS coverage_ledger_no_delete"
SQLITE = [SQLITE_UPDATE, SQLITE_DELETE]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION coverage_ledger_refuse() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '互助金账只能追加，不能修改或删除'; END $$""",
    """CREATE TRIGGER coverage_ledger_no_update BEFORE UPDATE ON coverage_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION coverage_ledger_refuse()""",
    """CREATE TRIGGER coverage_ledger_no_delete BEFORE DELETE ON coverage_ledgerentry
       FOR EACH ROW EXECUTE FUNCTION coverage_ledger_refuse()""",
]
DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS coverage_ledger_no_update", SQLITE_DROP_DELETE],
    "postgresql": ["DROP TRIGGER IF EXISTS coverage_ledger_no_update ON coverage_ledgerentry",
                   "DROP TRIGGER IF EXISTS coverage_ledger_no_delete ON coverage_ledgerentry",
                   "DROP FUNCTION IF EXISTS coverage_ledger_refuse()"],
}
