"""An undo reads the scan it annuls by its nonce at the session, however long the scan log.

The undo is on the door's path, under the request's MongoDB deadline. Its read of the scan was
``select_related("participant")``: django-mongodb-backend (5.2) put the join's ``$lookup`` before
the ``$match``, so every scan of the whole log was joined to its participant before the one scan
was picked (the shape of the conflicts page's 503s, chaos seed 61).
"""

import pytest
from bson import ObjectId
from django.utils import timezone

from sessions_app.models import Scan
from tests.factories import participant_make, participants_make, session_make
from tests.mongo_commands import assert_filters_first

pytestmark = pytest.mark.django_db

OTHER_SCANS = 300  # the rest of the scan log: the undo must not read them


def test_an_undo_reads_the_scan_by_its_nonce_and_joins_nothing(door_client, commands):
    session, other = session_make(capacity=5), session_make()
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    (bob,) = participants_make(1)
    Scan.objects.bulk_create(
        Scan(session=other, participant=bob, participant_name=bob.full_name, direction="in",
             reason="checked_in", nonce=f"n-{i}", source="api", created_at=timezone.now())
        for i in range(OTHER_SCANS)
    )  # fmt: skip
    url = f"/api/sessions/{session.pk}/"
    scan = {"ticket_code": "UMA-0001", "nonce": "door-1-0001"}
    assert door_client.post(f"{url}check-in/", scan, format="json").status_code == 201

    commands.names.clear()
    commands.counting = True
    try:
        response = door_client.post(f"{url}undo/", {"nonce": "door-1-0001"}, format="json")
    finally:
        commands.counting = False

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["reason"], body["participant_name"], body["inside"]) == (
        "annulled", "Uma Ortiz", False,
    )  # fmt: skip
    assert_filters_first(commands.bodies, "sessions_app_scan")


def test_an_undo_of_a_scan_whose_participant_is_gone_has_nothing_to_undo(door_client):
    """The scan still names a participant no longer there (deleted between the reads)."""
    session = session_make(capacity=5)
    Scan.objects.create(
        session=session, participant_id=ObjectId(), participant_name="Uma Ortiz",
        direction="in", reason="checked_in", nonce="door-1-0001", source="api", actor="door",
    )  # fmt: skip

    response = door_client.post(
        f"/api/sessions/{session.pk}/undo/", {"nonce": "door-1-0001"}, format="json"
    )

    assert response.status_code == 409, response.content
    assert (response.json()["reason"], response.json()["participant_name"]) == (
        "undo_nothing_to_undo", "",
    )  # fmt: skip
