"""Writing a batch's bank file as the payouts page and ``huzhu payouts file`` both do:
:func:`huzhu.claims.payouts.bank_file.export_batch` (its layouts, encodings, masking and
audit entry), and then each pending payout remembers its row's 序号 and the account it
was written for, in one statement, inside the same transaction with the batch locked.

The bank's result file names a transfer by 序号 (its 代发 layout has no claim number),
and a 退票 names the account that was closed: both are read back from these columns by
:mod:`huzhu.claims.payouts.reconcile`. The numbering is the bank file's own (pending
payouts from 1, in payout order); the latest file a batch was written to wins.
"""

from __future__ import annotations

from django.db import connection, transaction

from huzhu.claims.models import Claim, Payout, PayoutBatch
from huzhu.claims.payouts import bank_file
from huzhu.claims.payouts.access import locked_batch, refusals_audited, require_pay
from huzhu.lib.sql import quote
from huzhu.members.models import Member
from huzhu.orgs.models import User


@refusals_audited
def write_bank_file(user: User, batch: PayoutBatch, fmt: str = "xlsx", *, full: bool = False,
                    purpose: str = "", layout: str = "general", encoding: str = "utf-8"
                    ) -> bytes:
    """The batch's bank file (see :func:`bank_file.export_batch` for the options)."""
    require_pay(user, "导出银行转账文件")
    with transaction.atomic():
        # Locked: no payout fails or is paid between the file's rows and their 序号.
        batch = locked_batch(user, batch)
        data = bank_file.export_batch(user, batch, fmt, full=full, purpose=purpose,
                                      layout=layout, encoding=encoding)
        number_rows(batch)
    return data


def number_rows(batch: PayoutBatch) -> int:
    """Each pending payout of ``batch``: its 序号 in the bank file (1, 2, … in payout
    order, as :func:`bank_file.bank_rows` numbers them) and the blind index of the
    member's account now. One UPDATE; returns how many rows."""
    p, c, m = (quote(t._meta.db_table) for t in (Payout, Claim, Member))
    sql = (f"UPDATE {p} SET bank_seq = s.seq, account_hash = s.hash FROM ("
           f"SELECT x.id, ROW_NUMBER() OVER (ORDER BY x.id) AS seq, "
           f"COALESCE(mm.bank_account_hash, '') AS hash FROM {p} x "
           f"JOIN {c} cc ON cc.id = x.claim_id JOIN {m} mm ON mm.id = cc.member_id "
           f"WHERE x.batch_id = %s AND x.state = %s) s WHERE {p}.id = s.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [batch.pk, Payout.State.PENDING])
        return max(int(cursor.rowcount), 0)
