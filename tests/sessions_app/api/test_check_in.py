"""Every check-in/check-out verdict and every 4xx through the HTTP API."""

import pytest

from sessions_app.models import CheckIn, Session
from tests.factories import participant_make, participants_make, session_make

pytestmark = pytest.mark.django_db

VERDICT_KEYS = {
    "reason",
    "detail",
    "session",
    "session_title",
    "participant",
    "participant_name",
    "check_in_count",
    "capacity",
    "inside",
    "replayed",
}


def _url(session, what="check-in"):
    return f"/api/sessions/{session if isinstance(session, str) else session.pk}/{what}/"


def test_checked_in_201_with_the_verdict_shape(staff_client):
    session, person = session_make(capacity=25), participant_make()
    response = staff_client.post(_url(session), {"participant": str(person.pk)}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == VERDICT_KEYS
    assert body["reason"] == "checked_in"
    assert body["session"] == str(session.pk) and body["participant"] == str(person.pk)
    assert (body["session_title"], body["participant_name"]) == (session.title, person.full_name)
    assert (body["check_in_count"], body["capacity"]) == (1, 25)
    assert (body["inside"], body["replayed"]) == (True, False)


def test_retry_with_nonce_answers_the_original_verdict_200_counted_once(staff_client):
    session = session_make()
    participant_make(ticket_code="TICKET-0001")
    payload = {"ticket_code": "TICKET-0001", "nonce": "scanner-7-0001"}
    assert staff_client.post(_url(session), payload, format="json").status_code == 201
    again = staff_client.post(_url(session), payload, format="json")
    assert again.status_code == 200  # a replay creates nothing: 200, not 201
    assert (again.json()["reason"], again.json()["replayed"]) == ("checked_in", True)
    assert again.json()["check_in_count"] == 1
    assert Session.objects.get(pk=session.pk).check_in_count == 1
    assert CheckIn.objects.filter(session=session).count() == 1


def test_session_full_409(staff_client):
    session = session_make(capacity=1)
    first, second = participants_make(2)
    staff_client.post(_url(session), {"participant": str(first.pk)}, format="json")
    response = staff_client.post(_url(session), {"participant": str(second.pk)}, format="json")
    assert response.status_code == 409
    assert response.json()["reason"] == "session_full"
    assert (response.json()["check_in_count"], response.json()["capacity"]) == (1, 1)


def test_session_not_open_409(staff_client):
    session, person = session_make(status="draft"), participant_make()
    response = staff_client.post(_url(session), {"participant": str(person.pk)}, format="json")
    assert response.status_code == 409
    assert response.json()["reason"] == "session_not_open"


@pytest.mark.parametrize(
    ("target", "body", "reason"),
    [
        ("missing-session", "participant", "session_not_found"),
        ("bad-session-id", "participant", "session_not_found"),
        ("session", "missing-participant", "participant_not_found"),
        ("session", "missing-ticket", "ticket_not_found"),
    ],
)
def test_unknown_404_with_reason(staff_client, target, body, reason):
    session, person = session_make(), participant_make()
    url = {
        "missing-session": _url("0123456789abcdef01234567"),
        "bad-session-id": _url("not-an-object-id"),
        "session": _url(session),
    }[target]
    payload = {
        "participant": {"participant": str(person.pk)},
        "missing-participant": {"participant": "0123456789abcdef01234567"},
        "missing-ticket": {"ticket_code": "NO-SUCH-TICKET"},
    }[body]
    response = staff_client.post(url, payload, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": response.json()["detail"], "reason": reason}


def test_check_out_200_then_not_checked_in_200(staff_client):
    session, person = session_make(), participant_make()
    staff_client.post(_url(session), {"participant": str(person.pk)}, format="json")
    out = staff_client.post(
        _url(session, "check-out"), {"participant": str(person.pk)}, format="json"
    )
    assert out.status_code == 200
    assert (out.json()["reason"], out.json()["check_in_count"]) == ("checked_out", 0)
    again = staff_client.post(
        _url(session, "check-out"), {"participant": str(person.pk)}, format="json"
    )
    assert again.status_code == 200
    assert again.json()["reason"] == "not_checked_in"
    back = staff_client.post(_url(session), {"participant": str(person.pk)}, format="json")
    assert (back.status_code, back.json()["check_in_count"]) == (201, 1)


def test_check_out_unknown_session_404(staff_client):
    person = participant_make()
    response = staff_client.post(
        _url("0123456789abcdef01234567", "check-out"),
        {"participant": str(person.pk)},
        format="json",
    )
    assert (response.status_code, response.json()["reason"]) == (404, "session_not_found")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"participant": "xyz"}, "participant"),
        ({"participant": 12345}, "participant"),
        ({"participant": "0123456789abcdef0123456g"}, "participant"),
        ({"ticket_code": "bad code with spaces"}, "ticket_code"),
        ({}, "non_field_errors"),
        ({"participant": "0123456789abcdef01234567", "ticket_code": "ABCD-1"}, "non_field_errors"),
        ({"participant": "0123456789abcdef01234567", "sneaky": 1}, "sneaky"),
        ({"ticket_code": "ABCD-1", "nonce": "x" * 65}, "nonce"),
    ],
)
def test_bad_check_in_body_400_with_field_errors(staff_client, payload, field):
    session = session_make()
    response = staff_client.post(_url(session), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Session.objects.get(pk=session.pk).check_in_count == 0


def test_malformed_json_400(staff_client):
    session = session_make()
    response = staff_client.post(
        _url(session), data='{"participant": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert "detail" in response.json()


def test_json_array_body_400(staff_client):
    session = session_make()
    response = staff_client.post(_url(session), data="[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_check_ins_list_of_a_session(staff_client):
    session = session_make()
    inside, left = participants_make(2)
    for person in (inside, left):
        staff_client.post(_url(session), {"participant": str(person.pk)}, format="json")
    staff_client.post(_url(session, "check-out"), {"participant": str(left.pk)}, format="json")
    everyone = staff_client.get(_url(session, "check-ins")).json()
    assert everyone["count"] == 2
    now_inside = staff_client.get(_url(session, "check-ins") + "?inside=true").json()
    assert [row["participant"] for row in now_inside["results"]] == [str(inside.pk)]
    assert now_inside["results"][0]["participant_name"] == inside.full_name
    assert now_inside["results"][0]["inside"] is True
