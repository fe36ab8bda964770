"""The lease endpoints over HTTP: a paired device (``Authorization: Device``) and door staff.

Every refusal is a 4xx in DRF's error shape with nothing written; a device reaches only its own
sessions and its own leases.
"""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from devices_app.services import device_create, device_pair
from sessions_app.models import CheckIn, Lease, Scan
from tests.factories import assert_capacity_holds, participants_make, session_make

pytestmark = pytest.mark.django_db


def _device(*sessions, name="Hall A, door 2"):
    issued = device_create(name=name, session_ids=[s.pk for s in sessions])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_pair(code=issued.code).token}")
    return client


@pytest.fixture
def hall():
    return session_make(title="Hall A keynote", capacity=50)


def _scan(person, nonce, direction="in"):
    return {
        "participant": str(person.pk), "nonce": nonce, "direction": direction,
        "scanned_at": timezone.now().isoformat(),
    }  # fmt: skip


def _grant(client, session, places=3):
    return client.post(f"/api/sessions/{session.pk}/leases/", {"places": places}, format="json")


def test_a_device_leases_syncs_and_returns_places(hall):
    door = _device(hall)
    granted = _grant(door, hall)
    assert granted.status_code == 201, granted.content
    body = granted.json()
    assert (body["places"], body["room"], body["state"]) == (3, 3, "active")
    assert body["renew_after"] < body["expires_at"]
    ada, bob = participants_make(2)
    url = f"/api/leases/{body['lease']}/sync/"
    payload = {"scans": [_scan(ada, "n-1"), _scan(bob, "n-2")], "return": 1, "sync_id": "s-1"}
    synced = door.post(url, payload, format="json")
    assert synced.status_code == 200, synced.content
    answer = synced.json()
    assert [r["reason"] for r in answer["results"]] == ["checked_in", "checked_in"]
    assert answer["results"][0]["participant_name"] == ada.full_name
    assert answer["results"][0]["session_title"] == "Hall A keynote"
    assert (answer["returned"], answer["lease"]["room"]) == (1, 0)
    again = door.post(url, payload, format="json").json()
    assert [r["replayed"] for r in again["results"]] == [True, True]
    assert again["returned"] == 1
    renewed = door.post(f"/api/leases/{body['lease']}/renew/", {"places": 2}, format="json")
    assert (renewed.status_code, renewed.json()["room"]) == (200, 2)
    assert_capacity_holds(hall)


def test_a_device_only_at_its_sessions_and_only_with_its_own_lease(hall):
    other_hall = session_make(capacity=50)
    door, other_door = _device(hall), _device(hall, name="Hall A, door 3")
    refused = _grant(door, other_hall)
    assert (refused.status_code, refused.json()["reason"]) == (403, "device_session_not_allowed")
    lease = _grant(door, hall).json()["lease"]
    stolen = other_door.post(f"/api/leases/{lease}/sync/", {"scans": []}, format="json")
    assert (stolen.status_code, stolen.json()["reason"]) == (403, "lease_not_yours")
    unknown = door.post("/api/leases/6650f1a2b3c4d5e6f7a8b9c0/sync/", {"scans": []}, format="json")
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "lease_not_found")
    malformed = door.post("/api/leases/not-an-id/renew/", {}, format="json")
    assert (malformed.status_code, malformed.json()["reason"]) == (404, "lease_not_found")
    conflicts = door.get(f"/api/sessions/{hall.pk}/conflicts/")
    assert conflicts.status_code == 403  # a device reads no scan log


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"places": 0}, "places"),
        ({"places": "many"}, "places"),
        ({}, "places"),
        ({"places": 2, "extra": 1}, "extra"),
    ],
)
def test_a_bad_grant_request_is_a_400_and_leases_nothing(hall, payload, field):
    response = _device(hall).post(f"/api/sessions/{hall.pk}/leases/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Lease.objects.count() == 0


def test_no_places_to_lease_is_a_409_with_its_reason():
    tiny = session_make(capacity=5)  # 10 % of 5 is 0: no lease
    response = _grant(_device(tiny), tiny)
    assert (response.status_code, response.json()["reason"]) == (409, "no_places_to_lease")


@pytest.mark.parametrize(
    "bad_scan",
    [
        {"nonce": "x-1", "direction": "in", "scanned_at": "2026-12-07T10:00:00+00:00"},
        {"participant": "zzz", "nonce": "x-1", "direction": "in",
         "scanned_at": timezone.now().isoformat()},
        {"ticket_code": "ABC", "nonce": "", "direction": "in",
         "scanned_at": timezone.now().isoformat()},
        {"ticket_code": "ABC", "nonce": "x-1", "direction": "sideways",
         "scanned_at": timezone.now().isoformat()},
        {"ticket_code": "ABC", "nonce": "x-1", "direction": "in", "scanned_at": "yesterday"},
        {"ticket_code": "ABC", "nonce": "x-1", "direction": "in",
         "scanned_at": "2026-12-07T10:00:00"},
        "not an object",
    ],
)  # fmt: skip
def test_a_malformed_scan_is_a_400_and_nothing_of_the_sync_is_written(hall, bad_scan):
    door = _device(hall)
    lease = _grant(door, hall).json()["lease"]
    (ada,) = participants_make(1)
    response = door.post(
        f"/api/leases/{lease}/sync/", {"scans": [_scan(ada, "ok-1"), bad_scan], "return": 3},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400, response.content
    assert "scans" in response.json()
    assert Scan.objects.count() == 0
    assert CheckIn.objects.count() == 0
    assert Lease.objects.get().returned == 0


def test_too_many_scans_or_a_nonce_twice_is_a_400(hall, settings):
    settings.LEASE_SYNC_MAX_SCANS = 2
    door = _device(hall)
    lease = _grant(door, hall).json()["lease"]
    people = participants_make(3)
    url = f"/api/leases/{lease}/sync/"
    many = door.post(url, {"scans": [_scan(p, f"m-{i}") for i, p in enumerate(people)]},
                     format="json")  # fmt: skip
    assert many.status_code == 400
    assert "At most 2 scans" in many.json()["scans"][0]
    twice = door.post(url, {"scans": [_scan(people[0], "t"), _scan(people[1], "t")]},
                      format="json")  # fmt: skip
    assert (twice.status_code, twice.json()["scans"]) == (400, ["Each scan needs its own nonce."])
    bad_return = door.post(url, {"scans": [], "return": -1}, format="json")
    assert (bad_return.status_code, list(bad_return.json())) == (400, ["return"])
    bad_sync_id = door.post(url, {"scans": [], "sync_id": "a.b"}, format="json")
    assert (bad_sync_id.status_code, list(bad_sync_id.json())) == (400, ["sync_id"])
    assert Scan.objects.count() == 0


def test_door_staff_lease_and_staff_read_the_conflicts(hall, door_client, staff_client):
    granted = _grant(door_client, hall, places=1)
    assert granted.status_code == 201
    ada, bob = participants_make(2)
    staff_client.post(f"/api/sessions/{hall.pk}/check-in/", {"participant": str(ada.pk)})
    synced = door_client.post(
        f"/api/leases/{granted.json()['lease']}/sync/",
        {"scans": [_scan(ada, "d-1"), _scan(bob, "d-2", "out")]}, format="json",
    )  # fmt: skip
    assert [r["conflict"] for r in synced.json()["results"]] == [
        "admitted_elsewhere", "not_checked_in",
    ]  # fmt: skip
    listed = staff_client.get(f"/api/sessions/{hall.pk}/conflicts/")
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [(r["participant_name"], r["session_title"], r["conflict"]) for r in rows] == [
        (bob.full_name, "Hall A keynote", "not_checked_in"),
        (ada.full_name, "Hall A keynote", "admitted_elsewhere"),
    ]
    assert rows[0]["conflict_label"] == "checked out offline, but was not inside"
    assert staff_client.get("/api/sessions/6650f1a2b3c4d5e6f7a8b9c0/conflicts/").status_code == 404
    assert door_client.get(f"/api/sessions/{hall.pk}/conflicts/").status_code == 403


def test_leases_and_online_doors_work_with_redis_killed(hall, redis_server, staff_client):
    redis_server.kill()
    door = _device(hall)
    granted = _grant(door, hall, places=5)
    assert granted.status_code == 201
    people = participants_make(47)
    online = [
        staff_client.post(f"/api/sessions/{hall.pk}/check-in/", {"participant": str(p.pk)}).json()[
            "reason"
        ]
        for p in people[:46]
    ]
    assert online.count("checked_in") == 45
    assert online[-1] == "session_full"
    synced = door.post(
        f"/api/leases/{granted.json()['lease']}/sync/",
        {"scans": [_scan(people[46], "k-1")], "return": 4, "sync_id": "k"}, format="json",
    )  # fmt: skip
    assert synced.status_code == 200
    assert (synced.json()["results"][0]["reason"], synced.json()["returned"]) == ("checked_in", 4)
    assert_capacity_holds(hall)
    assert staff_client.get(f"/api/sessions/{hall.pk}/").json()["check_in_count"] == 46
