"""The CSV exports stream in batches (a cursor, a participant join per batch) and a MongoDB that
dies mid-export breaks the stream instead of ending it like a complete, shorter file."""

import csv
import io

import pytest
from django.db import DatabaseError
from pymongo.errors import PyMongoError
from rest_framework.test import APIClient

import participants_app.exports
import sessions_app.exports
from participants_app.models import Participant
from sessions_app.services import session_check_in
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db

BATCH = 3
ROWS = 2 * BATCH + 1  # two full batches and a partial third


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(sessions_app.exports, "CHUNK", BATCH)
    monkeypatch.setattr(participants_app.exports, "CHUNK", BATCH)


def _rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_attendance_past_one_batch_joins_every_row_to_its_own_participant(
    staff_client, small_batches
):
    session = session_make(title="Big hall", capacity=ROWS)
    people = [participant_make(full_name=f"Person {n}") for n in range(ROWS)]
    for person in people:
        session_check_in(session_id=session.pk, participant_id=person.pk)
    expected = {(p.full_name, p.email) for p in people}

    inside = _rows(staff_client.get(f"/api/sessions/{session.pk}/attendance/?format=csv"))
    assert len(inside) == 1 + ROWS
    assert {(row[1], row[2]) for row in inside[1:]} == expected

    history = _rows(staff_client.get(f"/api/sessions/{session.pk}/attendance/history/?format=csv"))
    assert len(history) == 1 + ROWS
    assert {(row[5], row[6]) for row in history[1:]} == expected


def test_participants_past_one_batch_are_each_exported_once(staff_client, small_batches):
    people = [participant_make(full_name=f"Person {n}") for n in range(ROWS)]
    rows = _rows(staff_client.get("/api/participants/export/?format=csv"))
    assert sorted(row[1] for row in rows[1:]) == sorted(p.email for p in people)


@pytest.mark.slow
def test_mongodb_killed_mid_export_breaks_the_stream(own_mongo, small_batches, django_user_model):
    Participant.objects.bulk_create(
        Participant(full_name=f"P {n}", email=f"p{n}@example.com", ticket_code=f"P-{n:04d}")
        for n in range(200)
    )
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_superuser("root", "", "x"))
    response = client.get("/api/participants/export/?format=csv")
    assert response.status_code == 200  # the headers went out before the failure
    stream = iter(response.streaming_content)
    received = [next(stream), next(stream)]  # the header and the first row
    own_mongo.kill()
    with pytest.raises((DatabaseError, PyMongoError)):
        received.extend(stream)  # a server aborts the chunked body here: no clean end
    rows = list(csv.reader(io.StringIO(b"".join(received).decode().lstrip("\ufeff"))))
    assert 2 <= len(rows) < 201  # what came is whole rows, and not all of them
