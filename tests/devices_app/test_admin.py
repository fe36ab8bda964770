"""The admin's door devices: add one (the pairing code and QR shown once, only its hash kept),
the list's state, a new pairing code, revoke (the page's button and the list's action)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from devices_app.models import DoorDevice
from devices_app.services import device_create, pairing_code_normalize, secret_hash

pytestmark = pytest.mark.django_db

ADD = "/admin/devices_app/doordevice/add/"
LIST = "/admin/devices_app/doordevice/"


@pytest.fixture
def desk(organiser):
    client = Client()
    client.force_login(organiser)
    return client


def _code(page: str) -> str:
    return re.search(r'id="pairing-code"[^>]*>([A-Z0-9-]+)<', page)[1]


def test_adding_a_device_shows_its_pairing_code_and_qr_once(desk, hall_a, hall_b):
    response = desk.post(
        ADD,
        {"name": "Hall A, door 2", "location": "East", "sessions": [str(hall_a.pk)]},
    )
    assert response.status_code == 200, response.content[:500]
    page = response.content.decode()
    code = _code(page)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert "<svg" in page and "10 minutes" in page
    device = DoorDevice.objects.get(name="Hall A, door 2")
    assert device.session_ids == [hall_a.pk] and not device.all_sessions
    assert device.pairing_code_hash == secret_hash(pairing_code_normalize(code))
    assert device.created_by == "staff"
    change = desk.get(f"{LIST}{device.pk}/change/").content.decode()
    assert code not in change and "New pairing code" in change and "Revoke" in change


def test_a_device_needs_sessions_or_all(desk):
    response = desk.post(ADD, {"name": "Nowhere"})
    assert response.status_code == 200
    assert "Choose its sessions" in response.content.decode()
    assert not DoorDevice.objects.exists()


def test_changing_the_scope_to_every_session(desk, hall_a):
    device = device_create(name="Tablet", session_ids=[hall_a.pk]).device
    response = desk.post(
        f"{LIST}{device.pk}/change/", {"name": "Tablet", "location": "", "all_sessions": "on"}
    )
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.all_sessions and device.session_ids == []


def test_a_new_pairing_code_replaces_the_old_one(desk, api_client):
    issued = device_create(name="Tablet")
    response = desk.post(f"{LIST}{issued.device.pk}/pairing/")
    assert response.status_code == 200
    new = _code(response.content.decode())
    assert new != issued.code
    old = api_client.post("/api/devices/pair/", {"code": issued.code}, format="json")
    assert old.status_code == 400
    assert api_client.post("/api/devices/pair/", {"code": new}, format="json").status_code == 200


def test_revoke_from_the_devices_page_and_the_lists_state(desk, paired):
    device, _token = paired
    assert "paired" in desk.get(LIST).content.decode()
    response = desk.post(f"{LIST}{device.pk}/revoke/", follow=True)
    assert "Revoked: Hall A, door 2" in response.content.decode()
    assert "revoked" in desk.get(LIST).content.decode()
    refused = desk.post(f"{LIST}{device.pk}/pairing/", follow=True)
    assert "stays revoked" in refused.content.decode()


def test_revoke_and_new_code_as_list_actions(desk):
    one = device_create(name="One").device
    two = device_create(name="Two").device
    desk.post(LIST, {"action": "revoke_selected", "_selected_action": [one.pk, two.pk]})
    assert DoorDevice.objects.filter(revoked_at__isnull=False).count() == 2
    three = device_create(name="Three").device
    page = desk.post(LIST, {"action": "new_pairing_code", "_selected_action": [three.pk]})
    assert page.status_code == 200 and _code(page.content.decode())


def test_door_staff_never_reach_the_devices_admin(client, door_staff_user, paired):
    client.force_login(door_staff_user)  # not staff: the admin sends them to its sign-in
    assert client.get(LIST).status_code == 302
    device, _token = paired
    assert client.post(f"{LIST}{device.pk}/revoke/").status_code == 302
    assert DoorDevice.objects.get(pk=device.pk).revoked_at is None
