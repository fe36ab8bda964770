"""Every scan records the device: the scan log in the admin and the attendance history export."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from tests.devices_app.conftest import device_client
from tests.factories import participant_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(paired, hall_a):
    """Ada checked in at Hall A by the paired device."""
    _device, token = paired
    person = participant_make(full_name="Ada Lovelace", ticket_code="ADA-0001")
    response = device_client(token).post(
        f"/api/sessions/{hall_a.pk}/check-in/", {"ticket_code": "ADA-0001"}, format="json"
    )
    assert response.status_code == 201
    return person


def test_the_admins_scan_log_names_the_device(scanned, organiser):
    desk = Client()
    desk.force_login(organiser)
    page = desk.get("/admin/sessions_app/scan/").content.decode()
    assert "Hall A, door 2 (device)" in page


def test_the_attendance_history_export_has_the_device(scanned, organiser_client, hall_a):
    response = organiser_client.get(f"/api/sessions/{hall_a.pk}/attendance/history/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    device_column = rows[0].index("Device")
    assert [row[device_column] for row in rows[1:]] == ["Hall A, door 2"]
