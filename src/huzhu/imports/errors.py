"""What went wrong in an import, in the words a clerk can act on: file, row, column, why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    row: int  # as Excel shows it: the header is row 1; 0 for the file as a whole
    column: str  # the header as written in the file ("" for a file-level error)
    message: str

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RowError:
        return cls(data["file"], int(data["row"]), data["column"], data["message"])


class ImportFileError(Exception):
    """The file as a whole cannot be imported (empty, junk, wrong encoding, no header)."""

    def __init__(self, file: str, message: str, *, row: int = 0, column: str = "") -> None:
        super().__init__(message)
        self.error = RowError(file, row, column, message)


REPORT_HEADERS = ("文件", "行号", "列", "错误说明")


def write_report(errors: list[RowError], target: Path | object, *,
                 total_errors: int | None = None) -> None:
    """Write the error report as xlsx to a path or a binary file object.

    File names and messages are text even when they start with = + - @ (an upload named
    ``=1+1.csv`` must not become a formula in the clerk's Excel): huzhu.lib.xlsx.
    """
    from huzhu.lib.xlsx import Workbook

    book = Workbook(target)  # type: ignore[arg-type]
    sheet = book.sheet("错误报告")
    sheet.header(tuple(zip(REPORT_HEADERS, (28, 8, 22, 80), strict=True)),
                 style={"bold": True, "bg_color": "#F2F2F2"}, freeze=False)
    for i, err in enumerate(errors, 1):
        sheet.row(i, 0, (err.file, err.row or None, err.column, err.message))
    if total_errors is not None and total_errors > len(errors):
        sheet.text(len(errors) + 1, 3, f"共 {total_errors} 条错误，报告只列出前 {len(errors)} 条")
    book.close()


class ErrorSink:
    """Counts every error but keeps only the first ``limit`` (a report for the clerk,
    not a copy of a million-row file)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[RowError] = []
        self.count = 0
        self.bad_rows: set[int] = set()

    def add(self, errors: Iterable[RowError]) -> None:
        for err in errors:
            self.count += 1
            self.bad_rows.add(err.row)
            if len(self.kept) < self.limit:
                self.kept.append(err)

    def put_first(self, error: RowError) -> None:
        """A file-level reason goes first: it usually explains the rest."""
        self.add([error])
        if error in self.kept:
            self.kept.remove(error)
        self.kept.insert(0, error)
