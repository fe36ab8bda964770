"""Sessions API: CRUD, bad input, the capacity guard, filters, search, pagination, stats."""

import datetime as dt

import pytest
from django.utils import timezone

from sessions_app.models import Session
from sessions_app.services import session_check_in
from tests.factories import participants_make, session_make

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)


def _payload(**overrides):
    payload = {
        "title": "Keynote",
        "location": "Hall A",
        "starts_at": START.isoformat(),
        "ends_at": (START + dt.timedelta(hours=1)).isoformat(),
        "capacity": 100,
        "status": "open",
    }
    payload.update(overrides)
    return payload


def test_create_read_update_delete(staff_client):
    created = staff_client.post("/api/sessions/", _payload(), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["check_in_count"] == 0 and body["fill_percent"] == 0.0
    assert len(body["id"]) == 24
    url = f"/api/sessions/{body['id']}/"
    assert staff_client.get(url).json()["title"] == "Keynote"
    patched = staff_client.patch(url, {"title": "Opening keynote"}, format="json")
    assert patched.status_code == 200
    assert staff_client.get(url).json()["title"] == "Opening keynote"  # cache invalidated
    assert staff_client.put(url, _payload(capacity=5), format="json").json()["capacity"] == 5
    put = _payload(title="No status given")
    del put["status"]
    assert staff_client.put(url, put, format="json").json()["status"] == "open"  # unchanged
    assert staff_client.delete(url).status_code == 204
    assert staff_client.get(url).status_code == 404


def test_counter_cannot_be_written_through_the_api(staff_client):
    session = session_make()
    response = staff_client.patch(
        f"/api/sessions/{session.pk}/", {"check_in_count": 99}, format="json"
    )
    assert response.status_code == 400
    assert "check_in_count" in response.json()
    assert Session.objects.get(pk=session.pk).check_in_count == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"capacity": -1}, "capacity"),
        ({"capacity": "ten"}, "capacity"),
        ({"capacity": 2.5}, "capacity"),
        ({"capacity": None}, "capacity"),
        ({"ends_at": (START - dt.timedelta(hours=1)).isoformat()}, "ends_at"),
        ({"ends_at": START.isoformat()}, "ends_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"status": "maybe"}, "status"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_session_input_400(staff_client, overrides, field):
    response = staff_client.post("/api/sessions/", _payload(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Session.objects.exists()  # nothing half-written


def test_patch_ends_at_before_existing_start_400(staff_client):
    session = session_make()
    response = staff_client.patch(
        f"/api/sessions/{session.pk}/",
        {"ends_at": (session.starts_at - dt.timedelta(minutes=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "ends_at" in response.json()


def test_capacity_cannot_go_below_the_count(staff_client):
    session = session_make(capacity=5)
    for person in participants_make(3):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    url = f"/api/sessions/{session.pk}/"
    response = staff_client.patch(url, {"capacity": 2, "title": "Renamed"}, format="json")
    assert response.status_code == 400
    assert "checked in now (3)" in response.json()["capacity"][0]
    fresh = Session.objects.get(pk=session.pk)
    assert (fresh.capacity, fresh.title) == (5, session.title)  # nothing half-written
    assert staff_client.patch(url, {"capacity": 3}, format="json").json()["capacity"] == 3


def test_delete_with_check_ins_409(staff_client):
    session = session_make()
    session_check_in(session_id=session.pk, participant_id=participants_make(1)[0].pk)
    response = staff_client.delete(f"/api/sessions/{session.pk}/")
    assert response.status_code == 409
    assert Session.objects.filter(pk=session.pk).exists()


@pytest.mark.parametrize("bad_id", ["nope", "0123456789abcdef0123456z", "0" * 25])
def test_invalid_id_in_url_404(staff_client, bad_id):
    for method in ("get", "patch", "delete"):
        response = getattr(staff_client, method)(f"/api/sessions/{bad_id}/")
        assert response.status_code == 404
        assert response.json()["reason"] == "session_not_found"
    assert staff_client.get(f"/api/sessions/{bad_id}/check-ins/").status_code == 404


def test_filter_search_order_paginate(staff_client):
    session_make(
        title="Rust workshop", status="open", starts_at=START, ends_at=START + dt.timedelta(hours=1)
    )
    session_make(
        title="Python keynote",
        status="draft",
        location="Hall B",
        starts_at=START + dt.timedelta(days=2),
        ends_at=START + dt.timedelta(days=2, hours=1),
    )
    session_make(
        title="Closing",
        status="closed",
        starts_at=START + dt.timedelta(days=5),
        ends_at=START + dt.timedelta(days=5, hours=1),
    )

    def titles(query):
        response = staff_client.get(f"/api/sessions/?{query}")
        assert response.status_code == 200, response.content
        return [row["title"] for row in response.json()["results"]]

    assert titles("status=open") == ["Rust workshop"]
    assert titles("status=open&status=draft") == ["Rust workshop", "Python keynote"]
    assert titles("search=hall b") == ["Python keynote"]
    after = (START + dt.timedelta(days=1)).isoformat().replace("+", "%2B")
    assert titles(f"starts_after={after}") == ["Python keynote", "Closing"]
    assert titles(f"starts_before={after}") == ["Rust workshop"]
    assert titles("ordering=-starts_at")[0] == "Closing"
    page = staff_client.get("/api/sessions/").json()
    assert (page["count"], page["next"], len(page["results"])) == (3, None, 3)
    assert staff_client.get("/api/sessions/?starts_after=soon").status_code == 400
    assert staff_client.get("/api/sessions/?status=maybe").status_code == 400


def test_stats_totals_and_fill(staff_client):
    full = session_make(capacity=2, title="Small")
    session_make(status="draft")
    for person in participants_make(2):
        session_check_in(session_id=full.pk, participant_id=person.pk)
    stats = staff_client.get("/api/sessions/stats/").json()
    assert stats["sessions"] == {
        "total": 2,
        "by_status": {"draft": 1, "open": 1, "closed": 0, "cancelled": 0},
    }
    assert stats["participants"] == 2
    assert stats["checked_in_now"] == 2
    assert stats["open_sessions"] == [
        {
            "id": str(full.pk),
            "title": "Small",
            "capacity": 2,
            "check_in_count": 2,
            "fill_percent": 100.0,
        }
    ]
