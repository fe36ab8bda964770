"""Fixtures of the door device tests: an organiser who may add devices, a paired device."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from devices_app.services import device_create, device_pair
from tests.factories import session_make
from tests.live_support import asgi_server  # noqa: F401 - a fixture of the WebSocket tests


@pytest.fixture(autouse=True)
def _redis(clean_redis_layer):
    """Every test starts with Redis up and empty (check-ins go through the admission layer)."""


@pytest.fixture
def organiser(staff_user):
    """Staff with the session and participant permissions and every device permission."""
    staff_user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="devices_app")
    )
    return type(staff_user).objects.get(pk=staff_user.pk)


@pytest.fixture
def organiser_client(organiser):
    client = APIClient()
    client.force_authenticate(organiser)
    return client


@pytest.fixture
def hall_a(db):
    return session_make(title="Hall A keynote", capacity=50)


@pytest.fixture
def hall_b(db):
    return session_make(title="Hall B workshop", capacity=50)


def device_client(token: str) -> APIClient:
    """A client that sends ``Authorization: Device <token>``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client


@pytest.fixture
def paired(hall_a):
    """A device paired for Hall A only: ``(device, token)``."""
    issued = device_create(name="Hall A, door 2", session_ids=[hall_a.pk])
    paired = device_pair(code=issued.code)
    return paired.device, paired.token
