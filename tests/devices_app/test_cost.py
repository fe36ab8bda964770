"""What a device's token costs per request, counted with a pymongo CommandListener: one find of
the device by its token's hash, and a last-seen write at most every 30 s (never failing a scan)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from pymongo import monitoring

from devices_app.models import DoorDevice
from tests.devices_app.conftest import device_client

pytestmark = pytest.mark.django_db

COLLECTION = "devices_app_doordevice"
# The backend reads ``filter(token_hash=...).first()`` as one aggregate ($match on the indexed
# hash, $limit 1).
FIND = f"aggregate {COLLECTION}"


class _Commands(monitoring.CommandListener):
    def __init__(self):
        self.names: list[str] = []
        self.counting = False

    def started(self, event):
        if self.counting:
            self.names.append(f"{event.command_name} {event.command.get(event.command_name)}")

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def commands():
    listener = _Commands()
    monitoring.register(listener)  # applies to clients created from now on
    connections["default"].close_pool()
    yield listener
    listener.counting = False
    connections["default"].close_pool()


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
