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


# ---------------------------------------------------------------- legacy .xls (BIFF8 in OLE)

def xls_label(row: int, col: int, text: str) -> bytes:
    data = text.encode("utf-16-le")
    return _record(0x0204, row.to_bytes(2, "little") + col.to_bytes(2, "little") + b"\0\0"
                   + len(text).to_bytes(2, "little") + b"\x01" + data)


def xls_number(row: int, col: int, value: float) -> bytes:
    import struct

    return _record(0x0203, struct.pack("<HHHd", row, col, 0, value))


def xls_dimensions(first_row: int, last_row: int, first_col: int, last_col: int) -> bytes:
    import struct

    return _record(0x0200, struct.pack("<IIHHH", first_row, last_row + 1, first_col,
                                       last_col + 1, 0))


def write_xls(path: Path, cells: list[bytes]) -> Path:
    """One worksheet holding ``cells`` (records from the helpers above), the smallest
    workbook calamine reads: globals (BOF, BOUNDSHEET, EOF), the sheet, an OLE wrapper."""
    import struct

    bof_globals = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6))
    bof_sheet = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 6))
    codepage = _record(0x0042, struct.pack("<H", 1200))
    name = b"Sheet1"

    def boundsheet(pos: int) -> bytes:
        return _record(0x0085, struct.pack("<IBBBB", pos, 0, 0, len(name), 0) + name)

    eof = _record(0x000A, b"")
    head = bof_globals + codepage
    sheet_at = len(head) + len(boundsheet(0)) + len(eof)
    stream = head + boundsheet(sheet_at) + eof + bof_sheet + b"".join(cells) + eof
    stream += b"\0" * max(0, 4096 - len(stream))  # past the mini-stream cutoff
    path.write_bytes(_ole(stream))
    return path


def _record(kind: int, data: bytes) -> bytes:
    return kind.to_bytes(2, "little") + len(data).to_bytes(2, "little") + data


def _ole(stream: bytes) -> bytes:
    """A version-3 compound file: FAT in sector 0, directory in 1, the stream from 2."""
    import struct

    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    stream += b"\0" * (-len(stream) % 512)
    count = len(stream) // 512
    assert count + 2 <= 128, "one FAT sector maps 128 sectors"
    fat = [fat_sector, end] + [3 + i for i in range(count - 1)] + [end]
    fat += [free] * (128 - len(fat))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", free, free, child) + b"\0" * 36
                + struct.pack("<IQ", start, size))

    directory = (entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, free, 2, len(stream))
                 + entry("", 0, free, free, 0) * 2)
    return header + struct.pack("<128I", *fat) + directory + stream
