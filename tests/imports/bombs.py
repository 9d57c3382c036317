"""Hostile and huge spreadsheets, built in the test run (nothing binary is committed)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument'
    '.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org'
    '/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
              'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"
SHEET = "xl/worksheets/sheet1.xml"


def write_xlsx(path: Path, body: Iterable[bytes], *, head: str = SHEET_HEAD,
               tail: str = SHEET_TAIL, extra: dict[str, bytes] | None = None) -> Path:
    """A minimal workbook whose first sheet is ``head + body + tail``, streamed in."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, data in (extra or {}).items():
            book.writestr(name, data)
        with book.open(SHEET, "w") as sheet:
            sheet.write(head.encode())
            for chunk in body:
                sheet.write(chunk)
            sheet.write(tail.encode())
    return path


def inline_row(row: int | None, values: list[str]) -> str:
    """One row of inline-string cells, with references unless ``row`` is None."""
    cells = []
    for i, value in enumerate(values):
        ref = f' r="{chr(65 + i)}{row}"' if row is not None else ""
        cells.append(f'<c{ref} t="inlineStr"><is><t>{value}</t></is></c>')
    return (f'<row r="{row}">' if row is not None else "<row>") + "".join(cells) + "</row>"


def repeated_cells_bomb(path: Path, megabytes: int = 300) -> Path:
    """Hundreds of MB of identical rows of cells without references: compresses ~170x."""
    row = ("<row>" + "<c><v>1</v></c>" * 12 + "</row>").encode()
    chunk = row * (1024 * 1024 // len(row))
    return write_xlsx(path, (chunk for _ in range(megabytes)))


def far_cell_bomb(path: Path) -> Path:
    """Two cells, A1 and XFD1048576: calamine would allocate 17 billion cells."""
    return write_xlsx(path, [b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c>'
                             b'<c r="XFD1048576"><v>1</v></c></row>'])


def lie_about_size(path: Path, part: str, declared: int) -> Path:
    """Rewrite the uncompressed size the zip records for ``part`` (local header and
    central directory), as a bomb that slips under a ratio check would."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as book:
        info = book.getinfo(part)
    data[info.header_offset + 22:info.header_offset + 26] = declared.to_bytes(4, "little")
    name = part.encode()
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[central + 24:central + 28] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path
