"""``huzhu ledger check`` (also ``huzhu manage ledger_check``): prove the fund ledger."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from huzhu.coverage.ledger import check_all


class Command(BaseCommand):
    help = "核对互助金账：每笔分录借贷平衡、只能追加，并与缴费和给付记录一致"

    def handle(self, *args: object, **options: object) -> None:
        checks = check_all()
        for check in checks:
            mark = "通过" if check.ok else "不符"
            self.stdout.write(f"[{mark}] {check.name}：{check.detail}")
        failed = next((c for c in checks if not c.ok), None)
        if failed is not None:
            self.stdout.write(f"核对未通过，第一处不符：{failed.name}（{failed.detail}）")
            sys.exit(1)
        self.stdout.write(f"核对通过：共 {len(checks)} 项")
