"""The bounds that keep reading any upload within the 5 MB limit cheap (CPU and memory).

A small file can unpack to a lot: an XLSX is a zip, and its XML can declare a million rows or a
row of a million cells. Before openpyxl reads anything, ``xlsx_check`` looks at what the zip
declares (member sizes, their sum, compression ratios; Python's zip reader never unpacks more
than a member declares) and counts the cells of each sheet row and the shared strings by
streaming the XML through a small buffer. The reader then iterates with its own column and row
caps (``MAX_COLUMNS``, ``MAX_LINES``), empty rows included. Measured with
``python -m bench.import_limits`` (the README quotes the numbers).
"""

from __future__ import annotations

import re
import zipfile

# Lines read, empty ones included: the 50,000 participants plus a header and blank lines.
MAX_LINES = 51_000
# Columns read per line; a non-empty cell further right refuses the file.
MAX_COLUMNS = 100
# Sheet cells and shared strings that openpyxl may parse (about 5 us each on the test machine);
# 50,000 participants in 4 columns are 200,000 cells.
MAX_CELLS = 500_000
MAX_SHARED_STRINGS = 500_000
# openpyxl builds a whole row in memory (about 700 bytes a cell) before the column cap applies.
MAX_ROW_CELLS = 1_000

MAX_MEMBERS = 200
MAX_UNPACKED = 64 * 1024 * 1024
MAX_SHEET_UNPACKED = 48 * 1024 * 1024
MAX_STRINGS_UNPACKED = 24 * 1024 * 1024
# Styles, theme, workbook, relationships: openpyxl turns each element into objects.
MAX_OTHER_UNPACKED = 2 * 1024 * 1024
# Above 1 MB unpacked, a member that shrank more than this is a bomb, not a spreadsheet (real
# sheet XML deflates 5 to 30 times).
MAX_RATIO = 200
_RATIO_FROM = 1024 * 1024
_CHUNK = 256 * 1024

_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_STRINGS = "xl/sharedstrings.xml"
# Any namespace prefix (``<x:c``); XML text cannot hold a literal "<", so each match is a tag.
_TAGS = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|si)[\s/>]")

_TOO_BIG = (
    "The XLSX file unpacks to too much data (a compressed file of this kind is refused): "
    "save it again from a spreadsheet program, or upload CSV."
)


def _member_limit(name: str) -> int:
    """Return the unpacked size allowed for a member (``name`` in lower case)."""
    if _SHEET.fullmatch(name):
        return MAX_SHEET_UNPACKED
    if name == _STRINGS:
        return MAX_STRINGS_UNPACKED
    if name.endswith((".xml", ".rels")):
        return MAX_OTHER_UNPACKED
    return MAX_UNPACKED  # images and other parts openpyxl's read-only mode does not parse


def _count_tags(archive: zipfile.ZipFile, name: str) -> str | None:
    """Stream one XML member; refuse too many cells (per row, in all) or shared strings."""
    cells = row_cells = strings = 0
    carry = b""
    with archive.open(name) as member:
        while chunk := member.read(_CHUNK):
            data = carry + chunk
            cut = data.rfind(b"<")  # a tag cut by the chunk's end is counted with the next one
            data, carry = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            for match in _TAGS.finditer(data):
                tag = match.group(1)
                if tag == b"c":
                    cells += 1
                    row_cells += 1
                elif tag == b"row":
                    row_cells = 0
                else:
                    strings += 1
            if row_cells > MAX_ROW_CELLS:
                return f"A row of the sheet has more than {MAX_ROW_CELLS:,} cells."
            if cells > MAX_CELLS:
                return f"Too many cells: at most {MAX_CELLS:,}. Remove the columns not needed."
            if strings > MAX_SHARED_STRINGS:
                return f"Too many different texts: at most {MAX_SHARED_STRINGS:,}."
    return None


def xlsx_check(archive: zipfile.ZipFile) -> str | None:
    """Return why an XLSX archive is refused before it is read, or None when it may be read."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        return f"Not a spreadsheet: the XLSX file holds more than {MAX_MEMBERS} parts."
    if sum(info.file_size for info in members) > MAX_UNPACKED:
        return _TOO_BIG
    for info in members:
        name = info.filename.lower()
        if info.file_size > _member_limit(name):
            return _TOO_BIG
        if info.file_size > _RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return _TOO_BIG
    counted = [i.filename for i in members if _SHEET.fullmatch(i.filename.lower())]
    counted += [i.filename for i in members if i.filename.lower() == _STRINGS]
    for name in counted:
        if refusal := _count_tags(archive, name):
            return refusal
    return None
