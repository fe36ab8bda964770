"""The API's undo, late scans (``scanned_at``) and the door's latency header."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sessions_app.models import CheckIn, Scan
from tests.factories import participant_make, participants_make, session_counter, session_make

pytestmark = pytest.mark.django_db


def _url(session, what):
    return f"/api/sessions/{session.pk}/{what}/"


def _iso(moment) -> str:
    return moment.isoformat()


def _inside(session, person) -> bool:
    return CheckIn.objects.filter(
        session=session, participant=person, state=CheckIn.State.INSIDE
    ).exists()


# --- undo -------------------------------------------------------------------------------------


def test_undo_answers_200_annulled_then_the_same_replayed(door_client):
    session = session_make(capacity=5)
    uma = participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    scan = {"ticket_code": "UMA-0001", "nonce": "door-1-0001"}
    assert door_client.post(_url(session, "check-in"), scan, format="json").status_code == 201

    first = door_client.post(_url(session, "undo"), {"nonce": "door-1-0001"}, format="json")
    again = door_client.post(_url(session, "undo"), {"nonce": "door-1-0001"}, format="json")

    assert first.status_code == 200
    body = first.json()
    assert (body["reason"], body["replayed"], body["inside"]) == ("annulled", False, False)
    assert (body["participant_name"], body["session_title"]) == ("Uma Ortiz", session.title)
    assert (again.status_code, again.json()["reason"], again.json()["replayed"]) == (
        200,
        "annulled",
        True,
    )
    assert session_counter(session) == 0 and not _inside(session, uma)


def test_undo_refusals_answer_their_status_and_reason(door_client, staff_client):
    session = session_make(capacity=1)
    uma, leo = participants_make(2)
    door_client.post(_url(session, "check-in"), {"participant": str(uma.pk), "nonce": "n-1"})
    door_client.post(_url(session, "check-in"), {"participant": str(leo.pk), "nonce": "n-2"})

    def undo(client, nonce):
        response = client.post(_url(session, "undo"), {"nonce": nonce}, format="json")
        return response.status_code, response.json()["reason"]

    assert undo(staff_client, "n-1") == (403, "undo_not_yours")
    assert undo(door_client, "n-2") == (409, "undo_nothing_to_undo")  # session full
    assert undo(door_client, "no-such") == (404, "scan_not_found")
    Scan.objects.filter(nonce="n-1").update(created_at=timezone.now() - dt.timedelta(minutes=3))
    assert undo(door_client, "n-1") == (409, "undo_window_passed")
    assert _inside(session, uma)


def test_another_users_undo_refusal_does_not_name_the_participant(door_client, django_user_model):
    session = session_make(capacity=5)
    uma = participant_make(full_name="Uma Ortiz")
    door_client.post(_url(session, "check-in"), {"participant": str(uma.pk), "nonce": "n-1"})
    other = APIClient()
    other_door = django_user_model.objects.create_user(username="door-2")
    other_door.groups.set(door_client.handler._force_user.groups.all())
    other.force_authenticate(other_door)

    response = other.post(_url(session, "undo"), {"nonce": "n-1"}, format="json")

    assert (response.status_code, response.json()["reason"]) == (403, "undo_not_yours")
    assert response.json()["participant_name"] == ""


def test_undo_after_a_later_scan_answers_409_undo_superseded(door_client):
    session = session_make(capacity=5)
    uma = participant_make()
    door_client.post(_url(session, "check-in"), {"participant": str(uma.pk), "nonce": "n-1"})
    door_client.post(_url(session, "check-out"), {"participant": str(uma.pk), "nonce": "n-2"})
    response = door_client.post(_url(session, "undo"), {"nonce": "n-1"}, format="json")
    assert (response.status_code, response.json()["reason"]) == (409, "undo_superseded")


@pytest.mark.parametrize(
    "payload", [{}, {"nonce": ""}, {"nonce": "x" * 65}, {"nonce": "n-1", "extra": 1}]
)
def test_bad_undo_input_is_a_400_field_error(door_client, payload):
    session = session_make()
    response = door_client.post(_url(session, "undo"), payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"nonce", "extra"}


def test_a_plain_user_may_not_undo(plain_client):
    session = session_make()
    assert plain_client.post(_url(session, "undo"), {"nonce": "n"}).status_code == 403


# --- scanned_at ---------------------------------------------------------------------------------


def test_scanned_at_is_stored_beside_the_servers_time(door_client):
    session = session_make(capacity=5)
    uma = participant_make()
    scanned = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    payload = {"participant": str(uma.pk), "nonce": "n-1", "scanned_at": _iso(scanned)}
    assert door_client.post(_url(session, "check-in"), payload, format="json").status_code == 201
    entry = Scan.objects.get(nonce="n-1")
    assert entry.scanned_at == scanned
    assert entry.created_at > scanned + dt.timedelta(hours=1)  # capacity decided at arrival


def test_scanned_at_in_another_offset_is_the_same_moment(door_client):
    session = session_make(capacity=5)
    uma = participant_make()
    scanned = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    shifted = scanned.astimezone(dt.timezone(dt.timedelta(hours=-7)))
    payload = {"participant": str(uma.pk), "nonce": "n-1", "scanned_at": _iso(shifted)}
    assert door_client.post(_url(session, "check-in"), payload, format="json").status_code == 201
    assert Scan.objects.get(nonce="n-1").scanned_at == scanned


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (dt.timedelta(seconds=50), True),  # clock skew
        (dt.timedelta(seconds=90), False),
        (-dt.timedelta(hours=23, minutes=59), True),
        (-dt.timedelta(hours=24, minutes=1), False),
    ],
)
@pytest.mark.parametrize("what", ["check-in", "check-out"])
def test_scanned_at_bounds(door_client, offset, accepted, what):
    session = session_make(capacity=5)
    uma = participant_make()
    payload = {"participant": str(uma.pk), "scanned_at": _iso(timezone.now() + offset)}
    response = door_client.post(_url(session, what), payload, format="json")
    if accepted:
        assert response.status_code in (200, 201)
    else:
        assert response.status_code == 400
        assert list(response.json()) == ["scanned_at"]
        assert not Scan.objects.exists()  # nothing half-written


@pytest.mark.parametrize("value", ["2026-12-07T14:02:05", "yesterday", "2026-13-40T00:00:00Z", 5])
def test_a_naive_or_malformed_scanned_at_is_a_400_on_the_field(door_client, value):
    session = session_make(capacity=5)
    uma = participant_make()
    payload = {"participant": str(uma.pk), "scanned_at": value}
    response = door_client.post(_url(session, "check-in"), payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["scanned_at"]
    assert not Scan.objects.exists()


def test_a_late_check_out_scanned_before_the_latest_check_in_does_not_check_out(door_client):
    session = session_make(capacity=5)
    uma = participant_make()
    door_client.post(_url(session, "check-in"), {"participant": str(uma.pk)}, format="json")
    before = timezone.now() - dt.timedelta(minutes=10)
    payload = {"participant": str(uma.pk), "scanned_at": _iso(before)}

    response = door_client.post(_url(session, "check-out"), payload, format="json")

    body = response.json()
    assert (response.status_code, body["reason"], body["inside"]) == (200, "not_checked_in", True)
    assert "before the participant's latest check-in" in body["detail"]
    assert _inside(session, uma) and session_counter(session) == 1


def test_a_late_check_out_scanned_after_the_check_in_checks_out(door_client):
    session = session_make(capacity=5)
    uma = participant_make()
    door_client.post(_url(session, "check-in"), {"participant": str(uma.pk)}, format="json")
    payload = {"participant": str(uma.pk), "scanned_at": _iso(timezone.now())}
    response = door_client.post(_url(session, "check-out"), payload, format="json")
    assert response.json()["reason"] == "checked_out"
    assert session_counter(session) == 0


def test_the_scan_log_shows_both_times_the_device_and_the_annulled_scan(staff_client):
    session = session_make(capacity=5)
    uma = participant_make()
    scanned = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    payload = {"participant": str(uma.pk), "nonce": "n-1", "scanned_at": _iso(scanned)}
    staff_client.post(_url(session, "check-in"), payload, format="json")
    staff_client.post(_url(session, "undo"), {"nonce": "n-1"}, format="json")

    rows = staff_client.get(_url(session, "scans")).json()["results"]

    undo, scan = rows
    assert dt.datetime.fromisoformat(scan["scanned_at"]) == scanned
    assert scan["created_at"] and scan["annuls"] is None and scan["device"] is None
    assert (undo["reason"], undo["annuls"], undo["scanned_at"]) == ("annulled", scan["id"], None)


# --- the door's latency -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "stored"),
    [("137", 137), ("12.6", 13), ("-5", None), ("abc", None), ("1e99", None), ("nan", None)],
)
def test_the_latency_header_is_stored_bounded_and_never_a_400(door_client, header, stored):
    session = session_make(capacity=5)
    uma = participant_make()
    response = door_client.post(
        _url(session, "check-in"),
        {"participant": str(uma.pk), "nonce": "n-1"},
        format="json",
        HTTP_X_DOOR_LATENCY_MS=header,
    )
    assert response.status_code == 201
    assert Scan.objects.get(nonce="n-1").client_latency_ms == stored


def test_the_latency_header_is_stored_on_check_outs_and_undos(door_client):
    session = session_make(capacity=5)
    uma, leo = participants_make(2)
    door_client.post(_url(session, "check-in"), {"participant": str(uma.pk), "nonce": "n-1"})
    door_client.post(_url(session, "check-in"), {"participant": str(leo.pk), "nonce": "n-2"})
    door_client.post(
        _url(session, "check-out"), {"participant": str(uma.pk)}, HTTP_X_DOOR_LATENCY_MS="80"
    )
    door_client.post(_url(session, "undo"), {"nonce": "n-2"}, HTTP_X_DOOR_LATENCY_MS="90")
    assert Scan.objects.get(reason="checked_out").client_latency_ms == 80
    assert Scan.objects.get(reason="annulled").client_latency_ms == 90
