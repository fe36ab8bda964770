"""The devices API: add a device (its pairing code), list devices, pair, rotate, revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devices_app.models import DoorDevice
from devices_app.services import (
    CODE_ALPHABET,
    device_create,
    device_revoke,
    pairing_code_normalize,
    secret_hash,
)
from tests.devices_app.conftest import device_client
from tests.factories import participant_make

pytestmark = pytest.mark.django_db


def _pair(api_client, code: str):
    return api_client.post("/api/devices/pair/", {"code": code}, format="json")


def test_an_organiser_adds_a_device_and_gets_its_pairing_code_stored_only_hashed(
    organiser_client, hall_a
):
    response = organiser_client.post(
        "/api/devices/",
        {"name": "Hall A, door 2", "sessions": [str(hall_a.pk)], "location": "East wing"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    code = body["pairing_code"]
    assert len(pairing_code_normalize(code)) == 8
    assert set(pairing_code_normalize(code)) <= set(CODE_ALPHABET)
    device = DoorDevice.objects.get(pk=body["id"])
    assert device.session_ids == [hall_a.pk] and not device.all_sessions
    assert device.pairing_code_hash == secret_hash(pairing_code_normalize(code))
    assert code not in str(DoorDevice.objects.filter(pk=device.pk).values().first())
    assert device.created_by == "staff"


def test_a_device_added_without_sessions_may_scan_every_session(organiser_client):
    response = organiser_client.post("/api/devices/", {"name": "Roaming"}, format="json")
    assert response.status_code == 201
    assert DoorDevice.objects.get(pk=response.json()["id"]).all_sessions


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "sessions": ["nope"]},
        {"name": "X", "sessions": ["0123456789abcdef01234567"]},
        {"name": "X", "sessions": []},
        {"name": ""},
        {"name": "X", "token": "mine"},
    ],
    ids=["malformed id", "unknown session", "empty list", "no name", "unknown field"],
)
def test_bad_device_input_is_a_400_in_drfs_shape_and_adds_nothing(organiser_client, body):
    response = organiser_client.post("/api/devices/", body, format="json")
    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert not DoorDevice.objects.exists()


def test_adding_a_device_needs_the_add_permission(staff_client, door_client):
    for client in (staff_client, door_client):
        assert client.post("/api/devices/", {"name": "X"}, format="json").status_code == 403
        assert client.get("/api/devices/").status_code == 403


def test_the_list_shows_each_devices_state_and_no_secret(organiser_client, paired, hall_a):
    device, token = paired
    device_create(name="Spare tablet")
    revoked = device_create(name="Lost tablet").device
    device_revoke(device=revoked)
    response = organiser_client.get("/api/devices/")
    assert response.status_code == 200
    states = {row["name"]: row["state"] for row in response.json()}
    assert states == {
        "Hall A, door 2": "paired",
        "Spare tablet": "unpaired",
        "Lost tablet": "revoked",
    }
    text = response.content.decode()
    assert token not in text and device.token_hash not in text and "hash" not in text


def test_pairing_answers_the_devices_token_once(api_client, hall_a):
    issued = device_create(name="Hall A, door 2", session_ids=[hall_a.pk])
    typed = issued.code.lower().replace("-", " ")  # as typed on a tablet
    response = _pair(api_client, typed)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["device"] == str(issued.device.pk) and body["name"] == "Hall A, door 2"
    device = DoorDevice.objects.get(pk=issued.device.pk)
    assert device.token_hash == secret_hash(body["token"]) and device.paired_at is not None
    again = _pair(api_client, issued.code)
    assert again.status_code == 400
    assert again.json()["reason"] == "pairing_code_used"


def test_an_expired_code_pairs_nothing(api_client):
    issued = device_create(name="Late")
    DoorDevice.objects.filter(pk=issued.device.pk).update(
        pairing_expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = _pair(api_client, issued.code)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "This pairing code has expired. Ask an organiser for a new one.",
        "reason": "pairing_code_expired",
    }
    assert DoorDevice.objects.get(pk=issued.device.pk).token_hash == ""


@pytest.mark.parametrize("code", ["WRONG-CODE", "", "x" * 40])
def test_a_wrong_code_pairs_nothing(api_client, code):
    device_create(name="Spare")
    response = _pair(api_client, code)
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_revoked_devices_code_pairs_nothing(api_client):
    issued = device_create(name="Lost")
    device_revoke(device=issued.device)
    response = _pair(api_client, issued.code)
    assert response.status_code == 400
    assert response.json()["reason"] == "device_revoked"


def test_wrong_codes_are_delayed_like_wrong_passwords(api_client, settings):
    issued = device_create(name="Spare")
    answers = [
        _pair(api_client, "AAAA-AAAA").status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[-1] == 429
    locked = _pair(api_client, issued.code)  # even the right code waits out the delay
    assert locked.status_code == 429
    assert locked.json()["reason"] == "locked_out" and int(locked["Retry-After"]) >= 1


def test_a_paired_device_checks_in_and_the_scan_records_it(paired, hall_a):
    device, token = paired
    person = participant_make(full_name="Ada Lovelace")
    client = device_client(token)
    response = client.post(
        f"/api/sessions/{hall_a.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )
    assert response.status_code == 201, response.json()
    scan = hall_a.scans.get()
    assert scan.device_id == device.pk and scan.device_name == "Hall A, door 2"
    out = client.post(
        f"/api/sessions/{hall_a.pk}/check-out/", {"participant": str(person.pk)}, format="json"
    )
    assert out.status_code == 200
    assert DoorDevice.objects.get(pk=device.pk).last_seen_at is not None


def test_rotating_kills_the_old_token_at_once(paired, hall_a):
    _device, token = paired
    response = device_client(token).post("/api/devices/rotate/")
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != token
    person = participant_make()
    body = {"participant": str(person.pk)}
    old = device_client(token).post(f"/api/sessions/{hall_a.pk}/check-in/", body, format="json")
    assert old.status_code == 401
    fresh = device_client(new).post(f"/api/sessions/{hall_a.pk}/check-in/", body, format="json")
    assert fresh.status_code == 201


def test_only_a_device_rotates(organiser_client):
    assert organiser_client.post("/api/devices/rotate/").status_code == 403


def test_a_revoked_devices_next_request_is_refused_401(paired, hall_a):
    device, token = paired
    person = participant_make()
    body = {"participant": str(person.pk)}
    url = f"/api/sessions/{hall_a.pk}/check-in/"
    assert device_client(token).post(url, body, format="json").status_code == 201
    device_revoke(device=device)
    response = device_client(token).post(url, body, format="json")
    assert response.status_code == 401
    assert response.json()["reason"] == "device_revoked"


def test_a_deleted_devices_next_request_is_refused_401(paired, hall_a):
    device, token = paired
    device.delete()
    response = device_client(token).post(
        f"/api/sessions/{hall_a.pk}/check-in/", {"participant": "x" * 24}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["reason"] == "device_token_invalid"


def test_a_device_cannot_scan_at_another_session(paired, hall_b):
    _device, token = paired
    person = participant_make()
    response = device_client(token).post(
        f"/api/sessions/{hall_b.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["reason"] == "device_session_not_allowed"
    assert not hall_b.scans.exists()
