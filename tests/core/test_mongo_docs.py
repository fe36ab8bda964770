"""core.mongo_docs: an instance read raw equals the ORM's, a document written raw equals the ORM's."""

from datetime import timedelta

import pytest
from bson import ObjectId
from django.db import connection
from django.utils import timezone

from core.mongo_docs import doc_for_insert, model_from_doc
from participants_app.models import Participant
from sessions_app.models import CheckIn, Scan, Session
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def _raw(model, pk) -> dict:
    return connection.get_collection(model._meta.db_table).find_one({"_id": pk})


def _fields(instance) -> dict:
    """Every concrete field's value with its type (and a datetime's time zone)."""
    out = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname)
        out[field.attname] = (value, type(value), getattr(value, "tzinfo", None))
    return out


def _assert_read_like_the_orm(model, pk) -> None:
    orm = model.objects.get(pk=pk)
    raw = model_from_doc(model, _raw(model, pk))
    assert _fields(raw) == _fields(orm)
    assert (raw._state.adding, raw._state.db) == (orm._state.adding, orm._state.db)


def test_a_participant_read_raw_is_the_orms():
    person = participant_make(organization="ACME", ticket_code="uma-0001")
    _assert_read_like_the_orm(Participant, person.pk)


def test_a_session_read_raw_is_the_orms_json_fields_and_none_included():
    session = session_make(capacity=7, description="d")
    connection.get_collection(Session._meta.db_table).update_one(
        {"_id": session.pk},
        {"$set": {"lease_room": {"L1": 2}, "leased": 2}, "$unset": {"lease_ops": ""}},
    )
    _assert_read_like_the_orm(Session, session.pk)


def test_a_check_in_record_read_raw_is_the_orms():
    session, person = session_make(), participant_make()
    record = CheckIn.objects.create(
        session=session, participant=person, state=CheckIn.State.INSIDE,
        checked_in_at=timezone.now(),
    )  # fmt: skip
    _assert_read_like_the_orm(CheckIn, record.pk)


def _entry(session, person, **fields) -> Scan:
    return Scan(
        session=session, participant=person, participant_name=person.full_name,
        ticket_code="T-1", direction=Scan.Direction.IN, source=CheckIn.Source.API, actor="door",
        scanned_at=timezone.now() - timedelta(seconds=3), client_latency_ms=12, **fields,
    )  # fmt: skip


def test_a_scan_entry_inserted_raw_is_the_document_the_orm_writes():
    session, person = session_make(), participant_make()
    by_orm = _entry(session, person, nonce="n-orm", owner_op="op")
    by_orm.save(force_insert=True)
    raw = _entry(session, person, nonce="n-raw", owner_op="op")
    raw.created_at, raw.scanned_at = by_orm.created_at, by_orm.scanned_at
    raw.pk = ObjectId()
    connection.get_collection(Scan._meta.db_table).insert_one(doc_for_insert(raw))

    orm_doc, raw_doc = _raw(Scan, by_orm.pk), _raw(Scan, raw.pk)
    for doc in (orm_doc, raw_doc):
        del doc["_id"]
    assert orm_doc.pop("nonce") == "n-orm" and raw_doc.pop("nonce") == "n-raw"
    assert {k: (v, type(v)) for k, v in raw_doc.items()} == {
        k: (v, type(v)) for k, v in orm_doc.items()
    }
    read_back = _fields(Scan.objects.get(pk=raw.pk))
    expected = _fields(Scan.objects.get(pk=by_orm.pk))
    expected["id"], expected["nonce"] = read_back["id"], read_back["nonce"]
    assert read_back == expected


def test_a_document_for_insert_needs_its_id():
    with pytest.raises(ValueError):
        doc_for_insert(Scan(direction="in", source="api"))
