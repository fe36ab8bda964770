"""Reading uploaded spreadsheets: formats, encodings, separators, headers, limits (no database)."""

import io
import zipfile

import pytest
from openpyxl import Workbook

from participants_app.imports import files as import_files
from participants_app.imports.files import ImportFileError, sheet_read


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_csv_with_bom_semicolons_and_a_cell_over_two_lines():
    content = (
        "\ufeffFull name;E-mail;Organisation;Ticket code;Notes\r\n"
        'Ada Lovelace;ada@example.com;"Analytical\r\nEngines";ADA-0001;x\r\n'
        "\r\n"
        "Bob Moog;bob@example.com;;;\r\n"
    ).encode()
    sheet = sheet_read(content=content, name="people.csv")
    assert sheet.format == "csv"
    assert sheet.columns == ["full_name", "email", "organization", "ticket_code"]
    assert sheet.ignored_columns == ["Notes"]
    lines = [line for line, _values in sheet.rows]
    assert lines == [2, 5]  # the quoted cell spans lines 2-3; line 4 is empty
    assert sheet.rows[0][1]["organization"] == "Analytical\r\nEngines"
    assert sheet.rows[1][1] == {
        "full_name": "Bob Moog",
        "email": "bob@example.com",
        "organization": "",
        "ticket_code": "",
    }


def test_csv_with_commas_without_bom_and_without_optional_columns():
    sheet = sheet_read(content=b"email,name\nada@example.com,Ada\n", name="x.csv")
    assert sheet.columns == ["email", "full_name"]
    assert sheet.rows == [(2, {"email": "ada@example.com", "full_name": "Ada"})]


def test_xlsx_rows_keep_their_line_numbers():
    content = xlsx(
        [
            ["Full name", "E-mail", "Ticket code"],
            ["Ada", "ada@example.com", 12345],
            [],
            ["Bob", "b@x.org", None],
        ]
    )
    sheet = sheet_read(content=content, name="people.xlsx")
    assert sheet.format == "xlsx"
    assert sheet.rows == [
        (2, {"full_name": "Ada", "email": "ada@example.com", "ticket_code": "12345"}),
        (4, {"full_name": "Bob", "email": "b@x.org", "ticket_code": ""}),
    ]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "Not a spreadsheet"),
        ("Ada;ada@example.com\n".encode("utf-16"), "a.csv", "Not a spreadsheet"),
        ("Name;E-mail\nJosé;j@x.org\n".encode("latin-1"), "a.csv", "Not UTF-8"),
        (b"PK\x03\x04 not really a zip", "a.xlsx", "Not a readable XLSX"),
        (_zip({"word/document.xml": "<x/>"}), "letter.docx", "Not a readable XLSX"),
        (b"Ada Lovelace,ada@example.com\nBob,bob@example.com\n", "a.csv", "No usable header"),
        (b"", "a.csv", "empty"),
        (b"\n\n", "a.csv", "empty"),
    ],
)
def test_files_that_cannot_be_imported(content, name, message):
    with pytest.raises(ImportFileError, match=message):
        sheet_read(content=content, name=name)


def test_size_and_row_limits(monkeypatch):
    with pytest.raises(ImportFileError, match="too large"):
        sheet_read(content=b"x" * (import_files.MAX_BYTES + 1), name="a.csv")
    monkeypatch.setattr(import_files, "MAX_ROWS", 3)
    rows = "".join(f"P{i},p{i}@x.org\n" for i in range(4))
    with pytest.raises(ImportFileError, match="Too many rows"):
        sheet_read(content=f"name,email\n{rows}".encode(), name="a.csv")
