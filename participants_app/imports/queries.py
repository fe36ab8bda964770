"""The import's MongoDB commands, through the backend's own connection (pymongo).

The ORM has no bulk upsert: a batch of rows is one ``bulk_write`` of upserts matched by e-mail,
which makes applying a batch twice (a redelivered job) harmless. Reads are ``$in`` equalities on
indexed fields. Documents carry the ORM's field names; times are naive UTC, as the ORM stores them.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from ..models import Participant

_FIELDS = {"_id": 1, "email": 1, "full_name": 1, "organization": 1, "ticket_code": 1}
DUPLICATE_KEY = 11000


def _collection():
    connection.ensure_connection()
    return connection.database[Participant._meta.db_table]


# ``$in`` costs grow faster than its list on the stand-in (100 values: 35 ms, 1,000: 1.3 s), and
# one scan of every participant's keys costs 0.37 s at 10,000: large lookups scan instead.
IN_CHUNK = 100
SCAN_ABOVE = 2_000


def _find_in(field: str, values: list[str], projection: dict) -> list[dict]:
    values = sorted(set(values))
    found: list[dict] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        found.extend(_collection().find({field: {"$in": chunk}}, projection))
    return found


def participants_lookup(
    *, emails: list[str], codes: list[str]
) -> tuple[dict[str, dict], dict[str, str]]:
    """Return the stored participants with these e-mails (by e-mail) and the e-mail of the
    holder of each of these ticket codes (by code); e-mails and codes given normalised."""
    if len(emails) + len(codes) > SCAN_ABOVE:
        wanted_emails, wanted_codes = set(emails), set(codes)
        by_email, owners = {}, {}
        for doc in _collection().find({}, _FIELDS):
            if doc.get("email") in wanted_emails:
                by_email[doc["email"]] = doc
            if doc.get("ticket_code") in wanted_codes:
                owners[doc["ticket_code"]] = doc["email"]
        return by_email, owners
    by_email = {doc["email"]: doc for doc in _find_in("email", emails, _FIELDS)}
    owners = {
        doc["ticket_code"]: doc["email"]
        for doc in _find_in("ticket_code", codes, {"ticket_code": 1, "email": 1})
    }
    return by_email, owners


def _failure(error: dict) -> str:
    """Name what a failed write was about: the unique field it hit, or the error code."""
    if error.get("code") != DUPLICATE_KEY:
        return f"error {error.get('code')}"
    keys = set(error.get("keyPattern") or {})
    if keys & {"email", "ticket_code"}:
        return next(iter(keys & {"email", "ticket_code"}))
    return "ticket_code" if "ticket_code" in error.get("errmsg", "") else "email"


def participants_write(writes: list[dict]) -> dict[int, str]:
    """Apply ``writes``: inserts in one unordered ``insert_many``, updates in one ``bulk_write``.

    A write with ``id`` updates that participant with ``set``; one without inserts a participant
    from ``email``, ``set`` and ``ticket_code``. Return what failed, by position: ``"email"`` (an
    insert whose e-mail exists: a repeated batch, or a participant created meanwhile),
    ``"ticket_code"`` (taken meanwhile) or another error's name.

    Inserts and updates by ``_id`` are the cheap commands on the stand-in; an upsert matched by
    e-mail took 13 ms a row at 10,000 participants (measured: bench/imports.py).
    """
    failed: dict[int, str] = {}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    inserts = [(i, w) for i, w in enumerate(writes) if "id" not in w]
    if inserts:
        documents = [
            {
                "full_name": "",
                "organization": "",
                **w["set"],
                "email": w["email"],
                "ticket_code": w["ticket_code"],
                "deleting": False,
                "created_at": now,
                "updated_at": now,
            }
            for _, w in inserts
        ]
        try:
            _collection().insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details["writeErrors"]:
                failed[inserts[error["index"]][0]] = _failure(error)
    updates = [(i, w) for i, w in enumerate(writes) if "id" in w and w["set"]]
    if updates:
        operations = [
            UpdateOne({"_id": w["id"]}, {"$set": {**w["set"], "updated_at": now}})
            for _, w in updates
        ]
        try:
            _collection().bulk_write(operations, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details["writeErrors"]:
                failed[updates[error["index"]][0]] = _failure(error)
    return failed
