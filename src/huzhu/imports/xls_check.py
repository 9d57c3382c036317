"""Open a legacy .xls in a throwaway process first, under a memory and time limit.

calamine parses every sheet of an .xls when it opens the file, and trusts sizes written
in it: a DIMENSIONS record, an SST count, a sector count in the OLE header or a sector
chain that loops can each make it allocate gigabytes (the process aborts) or never
finish. Unlike an .xlsx there is no cheap container to inspect from Python, so the file
is opened once in a child process that may die; only a file that opened there within
the limits, with sheets inside ImportLimits, is opened by the worker itself. .xls files
are small (65,536 rows at most), so the second open costs little.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from huzhu.imports.errors import ImportFileError
from huzhu.imports.limits import MIB, ImportLimits, check_shape

CHILD_MEMORY_BYTES = 2048 * MIB  # address space, which counts more than resident memory
CHILD_SECONDS = 60

# The limit is set by the child itself: preexec_fn is unsafe in a process with threads
# (the worker runs a heartbeat thread).
_PROBE = """
import json, resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from python_calamine import CalamineWorkbook
book = CalamineWorkbook.from_path(sys.argv[1])
shapes = []
for i in range(len(book.sheet_names)):
    sheet = book.get_sheet_by_index(i)
    shapes.append([sheet.height, sheet.width])
print(json.dumps(shapes))
"""


def check_xls(path: Path, name: str, limits: ImportLimits) -> list[tuple[int, int]]:
    """Raise :class:`ImportFileError` unless every sheet of the .xls opens within bounds;
    return their (rows, columns)."""
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _PROBE, str(path), str(CHILD_MEMORY_BYTES)],
            capture_output=True, timeout=CHILD_SECONDS, check=False,
        )
    except subprocess.TimeoutExpired:
        raise ImportFileError(name, f"Excel 文件在 {CHILD_SECONDS} 秒内未能读完，"
                                    "文件可能已损坏或过大，请另存为 .xlsx 后重新上传") from None
    try:
        if done.returncode != 0:
            raise ValueError(done.returncode)
        shapes = [(int(rows), int(columns)) for rows, columns in json.loads(done.stdout)]
    except (ValueError, TypeError):
        raise ImportFileError(name, "无法读取 Excel 文件（文件已损坏，或解开后过大），"
                                    "请在 Excel 中打开后另存为 .xlsx 再上传") from None
    total = 0
    for i, (rows, columns) in enumerate(shapes, 1):
        # calamine holds every sheet in memory, not only the first.
        check_shape(name, limits, rows=rows, columns=columns, what=f"第{i}个工作表")
        total += rows * columns
    if total > limits.max_cells:
        raise ImportFileError(name, f"Excel 文件各工作表合计超过 {limits.max_cells:,} 个单元格，"
                                    "请删除多余的工作表后重新上传")
    return shapes
