"""A door device may check in and out at its own sessions (and rotate its token), nothing else.

Walks every URL of the API router with a device's token, every method: only the allowed pairs
get past authentication and permissions; every other answers 403 (never a 500, never data).
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, reverse

from config import api_router
from tests.devices_app.conftest import device_client
from tests.factories import participant_make

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete", "options")
# (URL name, method) a device may use; every other answer must be 403.
ALLOWED = {
    ("session-check-in", "post"),
    ("session-check-out", "post"),
    ("session-undo", "post"),
    ("device-rotate", "post"),
    ("session-leases", "post"),  # leases of places (sessions_app/api/leases.py)
    ("lease-renew", "post"),
    ("lease-sync", "post"),
    ("session-offline-pack", "get"),  # the door's offline pack (door_app/offline_pack_api.py)
}
OPEN = "device-pair"  # takes no credentials at all: the code is the credential


def _routes(patterns) -> list[URLPattern]:
    routes = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            routes.append(pattern)
        else:
            routes.extend(_routes(pattern.url_patterns))
    return routes


def _url(route: URLPattern, object_id: str) -> str:
    kwargs = {
        name: "json" if name == "format" else object_id for name in route.pattern.regex.groupindex
    }
    return reverse(f"api:{route.name}", kwargs=kwargs)


def test_a_device_gets_403_everywhere_but_check_in_and_out_at_its_sessions(paired, hall_a):
    _device, token = paired
    participant_make(full_name="Grace Hopper")
    client = device_client(token)
    routes = _routes(api_router.urlpatterns)
    assert {"session-check-in", "participant-list", "device-list", OPEN} <= {r.name for r in routes}
    wrong = []
    for route in routes:
        url = _url(route, str(hall_a.pk))
        for method in METHODS:
            response = getattr(client, method)(url, {}, format="json")
            if route.name == OPEN:
                continue
            if response.status_code == 200 and route.name == "device-rotate":
                client = device_client(response.json()["token"])
            allowed = (
                route.name,
                method,
            ) in ALLOWED and "format" not in route.pattern.regex.groupindex
            if allowed and response.status_code in (401, 403, 500):
                wrong.append(f"{method.upper()} {url}: {response.status_code} (allowed)")
            if not allowed and response.status_code != 403:
                wrong.append(f"{method.upper()} {url}: {response.status_code} (wanted 403)")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_a_device_cannot_read_the_api_schema(paired, path):
    _device, token = paired
    assert device_client(token).get(path).status_code == 403


def test_a_device_cannot_list_participants(paired):
    _device, token = paired
    participant_make(full_name="Grace Hopper")
    response = device_client(token).get("/api/participants/")
    assert response.status_code == 403
    assert response.json()["reason"] == "device_not_allowed"
    assert "Grace" not in response.content.decode()
