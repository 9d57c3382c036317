"""Errors raised by the benefit engine.

``PolicyError`` is a policy file that does not validate; ``InputError`` is a batch of
members / events / enrolments / prior payouts that the engine refuses to compute on.
Both carry a list of precise locations so a clerk can fix the file without guessing.
"""

from __future__ import annotations


class PolicyError(ValueError):
    """A policy file is invalid.

    ``errors`` is a list of ``(file, yaml_path, message)``; ``yaml_path`` looks like
    ``benefits[0].formula.bands[2].upto`` (empty for the whole file).
    """

    def __init__(self, errors: list[tuple[str, str, str]]):
        self.errors = list(errors)
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"政策文件无效（{len(self.errors)} 处错误）："]
        for file, path, message in self.errors:
            where = f"{file}: {path}" if path else file
            lines.append(f"  {where}: {message}")
        return "\n".join(lines)


class InputError(ValueError):
    """Input data is invalid; nothing was computed or written.

    ``errors`` is a list of ``(file, row, column, message)``; ``row`` is the 1-based data
    row (CSV: the header is row 0, so row 1 is the second line of the file) or ``None``
    when the problem is the file as a whole (e.g. a missing column).
    """

    def __init__(self, errors: list[tuple[str, int | None, str | None, str]]):
        self.errors = list(errors)
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"输入数据有误（{len(self.errors)} 处），未计算、未写出任何结果："]
        for file, row, column, message in self.errors:
            parts = [file]
            if row is not None:
                parts.append(f"第 {row} 行")
            if column:
                parts.append(f"列 {column}")
            lines.append("  " + "，".join(parts) + f"：{message}")
        return "\n".join(lines)
