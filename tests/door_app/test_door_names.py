"""The door page names only people this door account checked in or out (see sessions_app.access)."""

import pytest
from django.test import Client

from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def door(door_staff_user):
    client = Client(enforce_csrf_checks=False)
    client.force_login(door_staff_user)
    return client


def test_a_check_out_of_someone_not_inside_shows_the_answer_without_the_name(door):
    session = session_make(title="Workshop")
    participant_make(full_name="Flo Unseen", ticket_code="FLO-0001")
    assert door.post("/door/session/", {"session": str(session.pk)}).status_code == 302
    response = door.post("/door/scan/", {"code": "FLO-0001", "mode": "out"})
    html = response.content.decode()
    assert 'data-reason="not_checked_in"' in html
    assert "Was not inside" in html and "FLO-0001" in html  # the answer and the code scanned
    assert "Flo Unseen" not in html  # neither in the answer nor in the list of last scans


def test_someone_this_door_checked_in_is_named(door):
    session = session_make(title="Workshop")
    participant_make(full_name="Gus Known", ticket_code="GUS-0001")
    door.post("/door/session/", {"session": str(session.pk)})
    assert "Gus Known" in door.post("/door/scan/", {"code": "GUS-0001"}).content.decode()
    again = door.post("/door/scan/", {"code": "GUS-0001"}).content.decode()
    assert 'data-reason="already_checked_in"' in again and "Gus Known" in again
