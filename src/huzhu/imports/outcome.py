"""What an import did, for the command line, the job page and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from huzhu.imports.errors import RowError

# progress(phase, rows_done, rows_total): phase is "validating" (total not yet known:
# None) or "importing" (total = the rows being written).
Progress = Callable[[str, int, int | None], None]


def no_progress(phase: str, done: int, total: int | None) -> None:
    return None


@dataclass
class Outcome:
    kind: str
    file_name: str
    valid_only: bool = False
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first ones, in file order
    # Rows of members registered under another union: sent to it as transfer requests.
    transfers: int = 0
    transfer_rows: list[int] = field(default_factory=list)
    imported: bool = False  # False: nothing was written (errors, or an empty file)

    @property
    def written(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        what = "单位" if self.kind == "units" else "会员"
        head = f"导入{what}文件 {self.file_name}：共{self.total_rows}行"
        if not self.imported:
            return f"{head}，发现{self.error_count}处错误，未导入任何数据"
        text = f"{head}，新增{self.created}，更新{self.updated}，无变化{self.unchanged}"
        if self.transfers:
            shown = "、".join(map(str, self.transfer_rows[:20]))
            more = "等" if self.transfers > 20 else ""
            text += (f"；{self.transfers}行（第{shown}{more}行）的职工已有其他工会的会员记录，"
                     "已向其原所属工会发出转会申请")
        if self.error_count:
            text += f"；{self.error_count}处错误所在的行未导入"
        return text
