"""Read an uploaded participants spreadsheet (CSV or XLSX) into rows with their line numbers.

Only the file's shape is judged here (format, size, header); each row's values are validated by
``participants_app.imports.rows``. Standard library ``csv`` and ``openpyxl`` do the reading: see the
README ("Import and export") for why neither django-import-export nor tablib.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from openpyxl import load_workbook

from .limits import MAX_COLUMNS, MAX_LINES, xlsx_check

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
# A cell longer than this is no name, address or code: the row gets an error, the file is read on.
MAX_CELL = 1000

# The columns, each under the header names it is recognised by (compared without case, spaces,
# "-" and "_"). Other columns are ignored and named in the preview.
COLUMNS = {
    "full_name": ("fullname", "name", "participant"),
    "email": ("email", "emailaddress", "mail"),
    "organization": ("organization", "organisation", "company", "org"),
    "ticket_code": ("ticketcode", "ticket", "code"),
}
REQUIRED_COLUMNS = ("full_name", "email")
_XLSX_MAGIC = b"PK\x03\x04"


class ImportFileError(ValueError):
    """A file that cannot be imported at all (the API answers 400 with this message)."""


@dataclass
class SheetRows:
    """What a file holds: its format, the recognised columns, and the data rows with line numbers."""

    format: str
    columns: list[str]
    ignored_columns: list[str] = field(default_factory=list)
    # (line, {column: value}); a column absent from the file is absent from the dict.
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _header_key(name) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).lower()


def _columns(header: list) -> tuple[dict[int, str], list[str]]:
    """Map cell positions to column names; raise ``ImportFileError`` without name and e-mail."""
    wanted = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
    positions: dict[int, str] = {}
    ignored = []
    for position, cell in enumerate(header):
        column = wanted.get(_header_key(cell))
        if column and column not in positions.values():
            positions[position] = column
        elif str(cell or "").strip():
            ignored.append(str(cell).strip()[:100])
    missing = [c for c in REQUIRED_COLUMNS if c not in positions.values()]
    if missing:
        raise ImportFileError(
            "No usable header row: the first row must name the columns "
            f"(full name, e-mail, organization, ticket code); missing: {', '.join(missing)}."
        )
    return positions, ignored


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet stores 1234 as 1234.0
    return str(value).strip()


def _blank(cells) -> bool:
    # Counted in C first: rows padded by a reader are all None, and there can be 51,000 of them.
    if cells.count(None) + cells.count("") == len(cells):
        return True
    return not any(_cell(c) for c in cells)


def _counted(lines: Iterator[tuple[int, list]]) -> Iterator[tuple[int, list]]:
    """Refuse a file past ``MAX_LINES`` lines or ``MAX_COLUMNS`` columns, empty ones included.

    Empty lines cost reading time as well: counted before they are skipped, a file of a million
    blank lines is refused after ``MAX_LINES`` of them instead of being read to its end.
    """
    for count, (line, cells) in enumerate(lines, start=1):
        if count > MAX_LINES:
            raise ImportFileError(
                f"Too many rows: at most {MAX_ROWS:,} participants and {MAX_LINES:,} lines per "
                "file, empty lines included."
            )
        if len(cells) > MAX_COLUMNS and not _blank(cells[MAX_COLUMNS:]):
            raise ImportFileError(
                f"Too many columns on line {line}: at most {MAX_COLUMNS}. Remove the columns "
                "the import does not need."
            )
        yield line, list(cells[:MAX_COLUMNS])


def _collect(format_: str, lines: Iterator[tuple[int, list]]) -> SheetRows:
    """Take the header from the first non-empty line, then the rows (empty lines skipped)."""
    lines = _counted(lines)
    for _line, header in lines:
        if not _blank(header):
            break
    else:
        raise ImportFileError("The file is empty: no header row and no data.")
    positions, ignored = _columns(header)
    sheet = SheetRows(format=format_, columns=list(positions.values()), ignored_columns=ignored)
    for line, cells in lines:
        if _blank(cells):
            continue
        if len(sheet.rows) >= MAX_ROWS:
            raise ImportFileError(f"Too many rows: at most {MAX_ROWS:,} participants per file.")
        values = {
            column: _cell(cells[position]) if position < len(cells) else ""
            for position, column in positions.items()
        }
        sheet.rows.append((line, values))
    return sheet


def _csv_lines(text: str) -> Iterator[tuple[int, list]]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, cells  # the line the record starts on (a quoted cell may span lines)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"Not a readable CSV file (line {reader.line_num}): {exc}.") from exc


def _xlsx_lines(content: bytes) -> Iterator[tuple[int, list]]:
    # openpyxl raises many kinds of errors for a damaged or foreign file (a .docx is a zip too):
    # whatever it raises, the answer is the same 400, never a 500.
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            refusal = xlsx_check(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ImportFileError("Not a readable XLSX file.") from exc
    if refusal:
        raise ImportFileError(refusal)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise ImportFileError("Not a readable XLSX file.") from exc
    try:
        if not book.worksheets:
            return
        # Bounds of our own, never the sheet's declared dimension (``A1:XFD1048576`` would pad
        # every row to 16,384 cells): one column more than read, to see a header that is wider.
        sheet = book.worksheets[0]
        cells = sheet.iter_rows(max_col=MAX_COLUMNS + 1, max_row=MAX_LINES + 1, values_only=True)
        rows = enumerate(cells, start=1)
        while True:
            try:
                line, cells = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                raise ImportFileError("Not a readable XLSX file (a damaged sheet).") from exc
            yield line, list(cells)
    finally:
        book.close()


def sheet_read(*, content: bytes, name: str = "") -> SheetRows:
    """Read a CSV (UTF-8 with or without BOM, ``,`` or ``;``) or XLSX file into rows.

    Raise ``ImportFileError`` for a file that is too large, not a spreadsheet, has no usable
    header or too many rows.
    """
    if len(content) > MAX_BYTES:
        raise ImportFileError(f"The file is too large: at most {MAX_BYTES // (1024 * 1024)} MB.")
    if content.startswith(_XLSX_MAGIC) or name.lower().endswith(".xlsx"):
        return _collect("xlsx", _xlsx_lines(content))
    if b"\x00" in content[:4096]:
        raise ImportFileError("Not a spreadsheet: upload a CSV (UTF-8) or an XLSX file.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"Not UTF-8 text (byte {exc.start}): save the CSV as UTF-8, or upload XLSX."
        ) from exc
    return _collect("csv", _csv_lines(text))
