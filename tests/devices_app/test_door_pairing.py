"""The door page paired as a device: pair with the code, scan at its sessions only, and a
revocation (or deletion) ends the pairing at the browser's next request."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from devices_app.models import DoorDevice
from devices_app.services import device_create, device_revoke
from sessions_app.models import Scan
from tests.factories import participant_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(hall_a):
    return device_create(name="Hall A, door 2", session_ids=[hall_a.pk])


@pytest.fixture
def tablet(issued):
    """A browser paired as the device (through the pairing page)."""
    browser = Client()
    response = browser.post("/door/pair/", {"code": issued.code})
    assert response.status_code == 302 and response["Location"] == "/door/"
    return browser


def _reason(response) -> str:
    return re.search(rb'id="result"[^>]*data-reason="([a-z_]*)"', response.content)[1].decode()


def test_the_door_login_page_links_to_pairing(client):
    page = client.get("/door/login/").content.decode()
    assert 'href="/door/pair/"' in page and "Pair this device" in page


def test_a_paired_door_lists_only_its_sessions_and_scans_as_the_device(
    tablet, issued, hall_a, hall_b
):
    picker = tablet.get("/door/").content.decode()
    assert "Hall A keynote" in picker and "Hall B workshop" not in picker
    assert "Hall A, door 2" in picker  # the header names the device
    assert tablet.post("/door/session/", {"session": str(hall_a.pk)}).status_code == 302
    person = participant_make(full_name="Ada Lovelace", ticket_code="ADA-0001")
    response = tablet.post("/door/scan/", {"code": "ADA-0001", "mode": "in"})
    assert _reason(response) == "checked_in"
    scan = Scan.objects.get(participant=person)
    assert scan.device_id == issued.device.pk and scan.device_name == "Hall A, door 2"
    assert scan.source == "door"


def test_a_paired_door_cannot_choose_another_session(tablet, hall_b):
    response = tablet.post("/door/session/", {"session": str(hall_b.pk)})
    assert response.status_code == 403
    assert "may not scan at that session" in response.content.decode()


def test_a_paired_door_forgets_a_session_taken_out_of_its_scope(tablet, issued, hall_a, hall_b):
    tablet.post("/door/session/", {"session": str(hall_a.pk)})
    DoorDevice.objects.filter(pk=issued.device.pk).update(session_ids=[hall_b.pk])
    page = tablet.get("/door/").content.decode()
    assert "Choose the session" in page and "Hall B workshop" in page
    assert "Hall A keynote" not in page


@pytest.mark.parametrize("end", ["revoke", "delete"])
def test_revoking_or_deleting_the_device_ends_the_browsers_pairing_at_once(tablet, issued, end):
    assert tablet.get("/door/").status_code == 200
    if end == "revoke":
        device_revoke(device=issued.device)
    else:
        issued.device.delete()
    assert tablet.get("/door/")["Location"] == "/door/login/?next=/door/"


@pytest.mark.parametrize("path", ["/admin/", "/board/", "/api/participants/", "/api/sessions/"])
def test_a_paired_browser_never_reaches_the_admin_the_board_or_the_rest_of_the_api(tablet, path):
    assert tablet.get(path).status_code == 403


def test_a_paired_browser_checks_in_through_the_api_at_its_session(tablet, hall_a, hall_b):
    person = participant_make()
    body = {"participant": str(person.pk)}
    ok = tablet.post(f"/api/sessions/{hall_a.pk}/check-in/", body, content_type="application/json")
    assert ok.status_code == 201
    other = tablet.post(
        f"/api/sessions/{hall_b.pk}/check-in/", body, content_type="application/json"
    )
    assert other.status_code == 403


def test_a_wrong_code_on_the_pairing_page_says_why_and_pairs_nothing(client, issued):
    response = client.post("/door/pair/", {"code": "AAAA-AAAA"})
    assert response.status_code == 400
    assert "not known" in response.content.decode()
    assert client.get("/door/").status_code == 302
    client.post("/door/pair/", {"code": issued.code})
    used = Client().post("/door/pair/", {"code": issued.code})
    assert used.status_code == 400 and "already used" in used.content.decode()


def test_a_person_signed_in_on_a_paired_browser_comes_first(tablet, door_staff_user):
    tablet.force_login(door_staff_user)
    assert "door" in tablet.get("/door/").content.decode()
    assert tablet.get("/admin/").status_code in (200, 302)


def test_signing_out_unpairs_the_browser(tablet, issued):
    assert tablet.post("/door/logout/").status_code == 302
    assert tablet.get("/door/")["Location"] == "/door/login/?next=/door/"
    assert DoorDevice.objects.get(pk=issued.device.pk).revoked_at is None  # the device stays
