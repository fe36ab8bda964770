"""Streamed CSV downloads: rows are written as they are read, never gathered in a list.

Used by the API's export endpoints and the admin's export actions alike. The file starts with a
UTF-8 byte-order mark (spreadsheet programs then read the accents right; the participant import
accepts it back). A text cell that a spreadsheet would run as a formula (OWASP's list: ``=``,
``+``, ``-``, ``@``, a tab or a carriage return first) gets a leading apostrophe: exported names
are other people's input. Numbers stay numbers (a negative count is not a formula).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from core.staff_time import file_stamp

CONTENT_TYPE = "text/csv; charset=utf-8"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose ``write`` hands the line back (csv.writer needs a file)."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str:
    """Return a value as a CSV cell: times in the event's time zone (ISO 8601), formulas defused."""
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and hasattr(value, "isoformat"):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)  # a number, never a formula: -3 stays -3
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """Yield the CSV text line by line: a BOM and the header, then one line per row."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence], filename: str):
    """Return a streamed CSV download of ``rows`` (an iterator: nothing is read until sent)."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # personal data
    return response


def csv_filename(*parts: str, moment) -> str:
    """Return a download's file name: what it is (``parts``, slugged), then when, then ``.csv``.

    ``csv_filename("Opening keynote", "inside", moment=starts_at)`` gives
    ``opening-keynote-inside-2026-12-06-2130.csv`` (``file_stamp``: the event's time zone). A part
    that slugs to nothing (a title of only punctuation) is left out.
    """
    words = [slugify(part)[:60].strip("-") for part in parts]
    return "-".join([*(word for word in words if word), file_stamp(moment)]) + ".csv"
