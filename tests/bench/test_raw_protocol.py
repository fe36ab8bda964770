"""``bench.raw_protocol`` sends, for every kind of scan, the MongoDB commands ours sends for it.

Both start from the same state (ours' collections copied into another database, as
``bench.open_loop`` copies them before a ``raw full`` step); the same scans go to ours through the
API (Redis up, a nonce on each, as the open loop sends them) and to the raw protocol, and each
scan's commands (name and collection, in order) and answer must be the same.
"""

import uuid

import pytest
from bson import ObjectId
from django.db import connection

from bench.raw_protocol import PER_STEP, SCANS, RawProtocol, copy_collection
from bench.scale import PARTICIPANTS
from tests.factories import participants_make, session_make
from tests.sessions_app.test_command_shapes import ADMISSION

pytestmark = pytest.mark.django_db


def _keys(doc) -> tuple:
    """A filter's, projection's, update's or document's fields (and operators), nested, without
    their values."""
    if not isinstance(doc, dict):
        return ()
    return tuple(sorted((k, _keys(v)) for k, v in doc.items()))


def _shape(body: dict) -> tuple:
    """What a command does, without its values: the fields it filters on, reads and writes."""
    if "updates" in body:
        (update,) = body["updates"]
        return ("update", _keys(update["q"]), _keys(update["u"]), bool(update.get("upsert")))
    if "documents" in body:
        return ("insert", *(_keys(d) for d in body["documents"]))
    if "findAndModify" in body:
        return ("findAndModify", _keys(body["query"]), _keys(body["update"]),
                _keys(body.get("fields")), body.get("new"))  # fmt: skip
    return ("find", _keys(body.get("filter")), _keys(body.get("projection")))


def test_each_kind_of_scan_sends_ours_commands(token_client, commands):
    client = token_client
    hall, full = session_make(capacity=100), session_make(capacity=1)
    seed, filler, ada, bob = participants_make(4)

    def ours(session, person_id, action="check-in"):
        response = client.post(
            f"/api/sessions/{session.pk}/{action}/",
            {"participant": person_id, "nonce": uuid.uuid4().hex},
            format="json",
        )
        body = response.json()
        return f"{response.status_code} {body.get('reason') or body.get('code')}"

    # Redis's admission sets seeded, the full session full, a decided entry to copy.
    assert ours(hall, str(seed.pk)) == "201 checked_in"
    assert ours(full, str(filler.pk)) == "201 checked_in"
    ours_db = connection.get_collection(SCANS).database
    raw_db = ours_db.client[f"{ours_db.name}_raw_full"]
    try:
        for name in (PARTICIPANTS, *PER_STEP):
            copy_collection(ours_db, raw_db, name)
        for name in PER_STEP:
            assert sorted(raw_db[name].index_information()) == sorted(
                ours_db[name].index_information()
            ), name
        raw = RawProtocol(raw_db, [hall.pk, full.pk])
        unknown = "0123456789abcdef01234567"
        scans = [  # (kind, session index, person): a door's day in five scans
            ("admission", 0, ada.pk, lambda: ours(hall, str(ada.pk))),
            ("duplicate", 0, ada.pk, lambda: ours(hall, str(ada.pk))),
            ("full", 1, bob.pk, lambda: ours(full, str(bob.pk))),
            ("check_out", 0, ada.pk, lambda: ours(hall, str(ada.pk), "check-out")),
            ("unknown", 0, unknown, lambda: ours(hall, unknown)),
        ]
        sent = {}
        for kind, index, person, send in scans:
            with commands.counted() as seen:
                answer = send()
            ours_commands, ours_shapes = list(seen.names), [_shape(b) for b in seen.bodies]
            with commands.counted() as seen:
                raw_answer = raw.scan(kind, index, ObjectId(str(person)))
            assert (kind, raw_answer, list(seen.names)) == (kind, answer, ours_commands)
            assert [_shape(b) for b in seen.bodies] == ours_shapes, kind
            sent[kind] = ours_commands
        assert sent["admission"] == ADMISSION  # the seven of a 201, as pinned for ours
        assert [len(sent[k]) for k in ("duplicate", "full", "check_out", "unknown")] == [3, 4, 6, 2]
        # What the raw protocol wrote is what ours wrote: the records and counts agree.
        for name, fields in (("sessions_app_checkin", ("state",)), ("sessions_app_session",
                             ("check_in_count", "moves"))):  # fmt: skip
            theirs = sorted(tuple(d.get(f) for f in fields) for d in ours_db[name].find())
            mine = sorted(tuple(d.get(f) for f in fields) for d in raw_db[name].find())
            assert mine == theirs, name
        assert raw_db[SCANS].count_documents({}) == ours_db[SCANS].count_documents({})
    finally:
        ours_db.client.drop_database(raw_db.name)
