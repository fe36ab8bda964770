"""Door answers through the HTTP API: what a door client sees for a retry still being decided and
for a nonce used for someone else (the services are tested in services/test_admission_*.py)."""

import pytest

from sessions_app.services import session_check_in
from tests.factories import participants_make, session_make
from tests.interleaving import gate_at, started

pytestmark = pytest.mark.django_db


def _post(client, session, person, nonce):
    return client.post(
        f"/api/sessions/{session.pk}/check-in/",
        {"participant": str(person.pk), "nonce": nonce},
        format="json",
    )


def test_a_retry_while_its_original_is_deciding_is_409_with_retry_after(staff_client):
    session = session_make(capacity=5)
    (person,) = participants_make(1)
    check_in = lambda: session_check_in(  # noqa: E731 - the original, held at the gate
        session_id=session.pk, participant_id=person.pk, nonce="door-9-0001"
    )
    with gate_at("check_in.after_increment", "R1") as gate:
        original = started("R1", check_in)
        gate.wait_for("R1")  # counted, its record not written yet
        retry = _post(staff_client, session, person, "door-9-0001")
    assert retry.status_code == 409, retry.content
    assert retry.json()["reason"] == "check_in_in_progress"
    assert retry["Retry-After"] == "1"
    assert original.outcome().reason == "checked_in"


def test_a_nonce_used_for_someone_else_is_409_nonce_reused(staff_client):
    session = session_make(capacity=5)
    first, second = participants_make(2)
    assert _post(staff_client, session, first, "door-9-0002").status_code == 201
    reused = _post(staff_client, session, second, "door-9-0002")
    assert reused.status_code == 409, reused.content
    assert reused.json()["reason"] == "nonce_reused"
    assert "Retry-After" not in reused
    again = _post(staff_client, session, first, "door-9-0002")  # the same request, resent
    assert again.status_code in (200, 201), again.content
    assert again.json()["reason"] != "nonce_reused"
