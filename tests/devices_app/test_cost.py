"""What a device's token costs per request, counted with a pymongo CommandListener: one find of
the device by its token's hash, and a last-seen write at most every 30 s (never failing a scan)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devices_app.models import DoorDevice
from tests.devices_app.conftest import device_client

pytestmark = pytest.mark.django_db

COLLECTION = "devices_app_doordevice"
# The backend reads ``filter(token_hash=...).first()`` as one aggregate ($match on the indexed
# hash, $limit 1).
FIND = f"aggregate {COLLECTION}"


def _device_commands(commands, request) -> list[str]:
    commands.names.clear()
    commands.counting = True
    try:
        request()
    finally:
        commands.counting = False
    return [name for name in commands.names if COLLECTION in name]


def test_a_device_request_costs_one_find_and_last_seen_is_written_at_most_every_30_s(
    paired, commands
):
    device, token = paired
    client = device_client(token)

    def forbidden():  # authentication runs, then the allow-list answers 403: nothing else
        assert client.get("/api/participants/").status_code == 403

    DoorDevice.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
    assert _device_commands(commands, forbidden) == [FIND]

    stale = timezone.now() - timedelta(seconds=31)
    DoorDevice.objects.filter(pk=device.pk).update(last_seen_at=stale)
    assert _device_commands(commands, forbidden) == [FIND, f"update {COLLECTION}"]
    assert DoorDevice.objects.get(pk=device.pk).last_seen_at > stale
    assert _device_commands(commands, forbidden) == [FIND]
