"""What does the worst crafted upload cost the import? ``python -m bench.import_limits``

Builds hostile files, each within the 5 MB upload limit (a zip bomb in the XLSX shared strings, a
sheet declaring the range ``A1:XFD1048576``, a million empty rows, a header of 16,384 columns, a
CSV whose header is one 5 MB line, a CSV of 5 million empty lines), and reads each with
``participants_app.imports.files.sheet_read`` (the step of the upload request that reads the file)
in a fresh subprocess: peak RSS (``resource.getrusage``), CPU seconds, and the answer (rejected
with which message, or read). A subprocess gets at most ``--cpu-limit`` CPU seconds
(``RLIMIT_CPU``): a file that needs more is reported as killed. No servers are needed.

The builders are also used by the tests (``tests/participants_app/test_import_limits.py``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from collections.abc import Iterable

from openpyxl import Workbook

MAX_UPLOAD = 5 * 1024 * 1024
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_HEADER = ["Full name", "E-mail"]
_MEMORY_LIMIT = 3 * 1024**3


_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.org'
        '/officeDocument/2006/relationships/officeDocument"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="sharedStrings.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>'
    ),
}


def xlsx_build(
    *, rows: Iterable[bytes], dimension: str = "A1:B2", strings: Iterable[bytes] = ()
) -> bytes:
    """Write an XLSX by hand: sheet rows and shared strings given as XML chunks (streamed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            member.write(f'<sst xmlns="{_MAIN_NS}">'.encode())
            for chunk in strings:
                member.write(chunk)
            member.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            member.write(f'<worksheet xmlns="{_MAIN_NS}"><dimension ref="{dimension}"/>'.encode())
            member.write(b"<sheetData>")
            for chunk in rows:
                member.write(chunk)
            member.write(b"</sheetData></worksheet>")
    return out.getvalue()


def xlsx_row(line: int, *values: str) -> bytes:
    """One sheet row of inline strings (columns A, B, ...)."""
    cells = "".join(
        f'<c r="{chr(65 + i)}{line}" t="inlineStr"><is><t>{value}</t></is></c>'
        for i, value in enumerate(values)
    )
    return f'<row r="{line}">{cells}</row>'.encode()


_TWO_ROWS = (xlsx_row(1, *_HEADER), xlsx_row(2, "Ada", "ada@example.com"))


def xlsx_shared_strings_bomb(megabytes: int = 1024) -> bytes:
    """An XLSX whose shared strings table unpacks to ``megabytes`` MB of 1,000-letter strings."""
    chunk = (b"<si><t>" + b"A" * 1000 + b"</t></si>") * 1024

    def strings():
        for _ in range(megabytes * 1024 * 1024 // len(chunk)):
            yield chunk

    return xlsx_build(rows=_TWO_ROWS, strings=strings())


def xlsx_huge_dimension() -> bytes:
    """Three rows (the last on row 1,048,576) declaring the range ``A1:XFD1048576``.

    openpyxl pads each missing row to the declared 16,384 columns.
    """
    rows = (*_TWO_ROWS, xlsx_row(1_048_576, "Bob", "bob@example.com"))
    return xlsx_build(rows=rows, dimension="A1:XFD1048576")


def xlsx_many_empty_rows() -> bytes:
    """A header, one participant, then a second one on the sheet's last row (1,048,576)."""
    rows = (*_TWO_ROWS, xlsx_row(1_048_576, "Bob", "bob@example.com"))
    return xlsx_build(rows=rows, dimension="A1:B1048576")


def xlsx_huge_header() -> bytes:
    """A header row of 16,384 named columns (Excel's widest sheet)."""
    book = Workbook()
    book.active.append([*_HEADER, *(f"c{i}" for i in range(16_382))])
    book.active.append(["Ada", "ada@example.com"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_at_the_limits() -> bytes:
    """The costliest XLSX the checks let through: 499 rows of 999 cells, 499,000 shared strings.

    Every cell and string is parsed: 100 numbers and 899 empty cells a row, under a header.
    """
    empty = b"<c/>" * 899
    rows = (
        b'<row r="%d">' % line
        + b"".join(b"<c><v>%d</v></c>" % (line * 1000 + col) for col in range(100))
        + empty
        + b"</row>"
        for line in range(2, 500)
    )
    rows = (xlsx_row(1, *_HEADER), *rows)
    strings = (b"<si><t>text number %d</t></si>" % i for i in range(499_000))
    return xlsx_build(rows=rows, dimension="A1:ALK499", strings=strings)


def xlsx_participants(count: int = 50_000) -> bytes:
    """A real file: ``count`` participants in four columns (the most the import takes)."""
    rows = (
        xlsx_row(i + 1, f"Person {i}", f"p{i}@example.com", "Org", f"CODE-{i:06d}")
        for i in range(1, count + 1)
    )
    header = xlsx_row(1, "Full name", "E-mail", "Organization", "Ticket code")
    return xlsx_build(rows=(header, *rows), dimension=f"A1:D{count + 1}")


def csv_giant_line() -> bytes:
    """A CSV whose header is one line of nearly 5 MB: two real columns, then 2.5 million more."""
    header = b"name,email" + b",x" * ((MAX_UPLOAD - 100) // 2)
    return header + b"\nAda,ada@example.com\n"


def csv_empty_lines() -> bytes:
    """A header, then nearly 5 million empty lines, then one participant."""
    return b"name,email\n" + b"\n" * (MAX_UPLOAD - 100) + b"Ada,ada@example.com\n"


def crafted_files() -> dict[str, tuple[str, bytes]]:
    """Each hostile file by name: (upload file name, content)."""
    return {
        "xlsx shared strings zip bomb (1 GiB unpacked)": ("bomb.xlsx", xlsx_shared_strings_bomb()),
        "xlsx declaring A1:XFD1048576": ("dimension.xlsx", xlsx_huge_dimension()),
        "xlsx with a row at 1,048,576": ("rows.xlsx", xlsx_many_empty_rows()),
        "xlsx header of 16,384 columns": ("columns.xlsx", xlsx_huge_header()),
        "csv with a 5 MB header line": ("line.csv", csv_giant_line()),
        "csv with 5 million empty lines": ("lines.csv", csv_empty_lines()),
        "xlsx at the limits (499,000 cells and strings)": ("limits.xlsx", xlsx_at_the_limits()),
        "xlsx of 50,000 participants (legitimate)": ("people.xlsx", xlsx_participants()),
    }


def _measure_child(path: str, name: str, cpu_limit: int) -> None:
    """In the child: read the file, print peak RSS, CPU seconds and the answer as JSON."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit + 1))
    # A bomb must not take the machine's memory from the other processes: MemoryError instead.
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))
    from participants_app.imports.files import ImportFileError, sheet_read  # noqa: PLC0415

    with open(path, "rb") as file:
        content = file.read()
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        sheet = sheet_read(content=content, name=name)
        answer = f"read: {len(sheet.rows)} rows, {len(sheet.ignored_columns)} ignored columns"
    except ImportFileError as exc:
        answer = f"rejected: {exc}"
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(json.dumps({"rss_mb": _peak_rss_mb(), "cpu_s": cpu, "answer": answer}))


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (``ru_maxrss`` keeps the forking parent's peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: str, name: str, cpu_limit: int) -> dict:
    """Read one file in a fresh process; return its peak RSS (MB), CPU seconds and answer."""
    code = f"from bench.import_limits import _measure_child; _measure_child({path!r}, {name!r}, "
    code += f"{cpu_limit})"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    # wait4: this child's CPU, also when the CPU limit killed it (its RSS then includes the
    # forking parent's peak: an upper bound).
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        return {
            "rss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "answer": f"killed (exit {child.returncode}): over {cpu_limit} s CPU or 3 GiB memory",
        }
    output = output.strip().splitlines()[-1]
    return json.loads(output)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_limits")
    parser.add_argument("--cpu-limit", type=int, default=60, help="CPU seconds per file")
    parser.add_argument("--tmp", default="/tmp", help="where the crafted files are written")
    args = parser.parse_args(argv)
    print(f"{'file':48} {'bytes':>9} {'peak RSS':>9} {'CPU':>7}  answer")
    for label, (name, content) in crafted_files().items():
        assert len(content) <= MAX_UPLOAD, (label, len(content))
        path = f"{args.tmp}/import-limits-{name}"
        with open(path, "wb") as file:
            file.write(content)
        result = measure(path, name, args.cpu_limit)
        print(
            f"{label:48} {len(content):>9,} {result['rss_mb']:>6.0f} MB {result['cpu_s']:>5.1f} s"
            f"  {result['answer'][:90]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
