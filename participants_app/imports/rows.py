"""Validate import rows and decide what each one does: create, update, unchanged or error.

The same decision serves the preview (nothing written) and the job (which stores it before
writing a batch). Rows are matched to participants by e-mail, case-insensitively (e-mails are
stored in lower case). A re-import updates name and organization; it changes an existing ticket
code only when the file gives one; a ticket code that belongs to someone else is a row error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..fields import email_normalize, ticket_code_normalize
from ..models import ticket_code_generate, ticket_code_validator
from .files import MAX_CELL
from .queries import participants_lookup

# A row's messages name columns and lines, never a value: they outlive the row's personal data
# (retention.py), and the row itself shows the values while it is kept.
CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
ACTIONS = (CREATE, UPDATE, UNCHANGED, ERROR)
_LIMITS = {"full_name": 200, "email": 254, "organization": 200, "ticket_code": 64}

# A row as stored and planned: [line, full_name, email, organization or None, ticket_code or ""]
Row = list


@dataclass
class RowCheck:
    """The rows of a file that can be imported, and the errors of the others (by line)."""

    rows: list[Row] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def _row_errors(values: dict[str, str]) -> list[str]:
    errors = []
    if not values.get("full_name"):
        errors.append("Full name is required.")
    if not values.get("email"):
        errors.append("E-mail is required.")
    else:
        try:
            validate_email(values["email"])
        except ValidationError:
            errors.append("Not a valid e-mail address.")
    for column, limit in _LIMITS.items():
        if len(values.get(column) or "") > min(limit, MAX_CELL):
            errors.append(f"{column.replace('_', ' ').capitalize()} is longer than {limit}.")
    if values.get("ticket_code"):
        try:
            ticket_code_validator(values["ticket_code"])
        except ValidationError:
            errors.append("Ticket code: use 4 to 64 letters, digits, '-' or '_'.")
    return errors


def rows_check(rows: list[tuple[int, dict[str, str]]]) -> RowCheck:
    """Validate each row on its own and against the file (duplicate e-mails and ticket codes)."""
    check = RowCheck()
    first_email: dict[str, int] = {}
    first_code: dict[str, int] = {}
    for line, raw in rows:
        email = email_normalize(raw.get("email", ""))
        code = ticket_code_normalize(raw.get("ticket_code", ""))
        values = {**raw, "email": email, "ticket_code": code}
        errors = _row_errors(values)
        if email and email in first_email:
            errors.append(f"E-mail is also on line {first_email[email]}.")
        if code and code in first_code:
            errors.append(f"Ticket code is also on line {first_code[code]}.")
        first_email.setdefault(email, line)
        if code:
            first_code.setdefault(code, line)
        if errors:
            check.errors.append({"line": line, "email": email[:254], "messages": errors})
            continue
        organization = values.get("organization")  # None: no such column, keep what is stored
        check.rows.append([line, values["full_name"], email, organization, code])
    return check


def batch_plan(rows: list[Row], *, generate_codes: bool) -> list[dict]:
    """Decide each row's action against the participants stored now.

    Each entry: ``line``, ``action``, ``email`` and, for writes, ``set`` (the fields to change)
    and ``ticket_code`` (a new participant's code: the file's, or generated when
    ``generate_codes``); an error entry has ``messages``.
    """
    existing, owners = participants_lookup(
        emails=[row[2] for row in rows], codes=[row[4] for row in rows if row[4]]
    )
    plan = []
    for line, full_name, email, organization, code in rows:
        entry: dict = {"line": line, "email": email}
        owner = owners.get(code)
        if code and owner is not None and owner != email:
            entry.update(action=ERROR, messages=["Ticket code belongs to someone else."])
        elif (current := existing.get(email)) is None:
            changes = {"full_name": full_name, "organization": organization or ""}
            ticket = code or (ticket_code_generate() if generate_codes else "")
            entry.update(action=CREATE, set=changes, ticket_code=ticket)
        else:
            changes = {"full_name": full_name}
            if organization is not None:
                changes["organization"] = organization
            if code:
                changes["ticket_code"] = code
            changes = {k: v for k, v in changes.items() if current.get(k) != v}
            entry.update(
                action=UPDATE if changes else UNCHANGED, set=changes, id=str(current["_id"])
            )
        plan.append(entry)
    return plan
