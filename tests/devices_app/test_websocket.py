"""A door device on the live WebSocket: signed in by its token or its paired browser, scoped to
its sessions, and closed with 4401 within a few seconds of its revocation (a real uvicorn)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from websockets.sync.client import connect

from devices_app.middleware import SESSION_DEVICE_ID, SESSION_TOKEN_HASH
from devices_app.services import device_revoke, device_token_rotate
from tests.live_support import LiveView

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

DEADLINE = 15  # generous: the re-check runs every 2 s, and a device is never cached


def _device_view(asgi_server, path: str, token: str) -> LiveView:
    protocols = ["checkin", f"device.{token}"]
    return LiveView(
        connect(f"{asgi_server.url}{path}", subprotocols=protocols, open_timeout=10, legacy=True)
    )


def _snapshot(view: LiveView, session) -> LiveView:
    view.wait_for(lambda v: str(session.pk) in v.sessions, timeout=10)
    return view


def test_a_devices_socket_is_closed_within_seconds_of_its_revocation(asgi_server, paired, hall_a):
    device, token = paired
    view = _snapshot(_device_view(asgi_server, f"/ws/sessions/{hall_a.pk}/", token), hall_a)
    try:
        device_revoke(device=device)
        assert view.close_code(timeout=DEADLINE) == 4401
    finally:
        view.close()
    again = _device_view(asgi_server, f"/ws/sessions/{hall_a.pk}/", token)
    assert again.close_code() == 4401


def test_a_devices_socket_is_closed_once_its_token_is_rotated(asgi_server, paired, hall_a):
    device, token = paired
    view = _snapshot(_device_view(asgi_server, f"/ws/sessions/{hall_a.pk}/", token), hall_a)
    try:
        device_token_rotate(device=device)
        assert view.close_code(timeout=DEADLINE) == 4401
    finally:
        view.close()


def test_a_device_watches_its_own_sessions_only(asgi_server, paired, hall_b):
    _device, token = paired
    assert _device_view(asgi_server, f"/ws/sessions/{hall_b.pk}/", token).close_code() == 4403
    assert _device_view(asgi_server, "/ws/occupancy/", token).close_code() == 4403


def test_a_wrong_device_token_is_not_signed_in(asgi_server, hall_a):
    assert _device_view(asgi_server, f"/ws/sessions/{hall_a.pk}/", "f" * 64).close_code() == 4401


def test_a_paired_browsers_socket_signs_in_by_its_session_and_closes_on_revocation(
    asgi_server, paired, hall_a
):
    device, _token = paired
    store = SessionStore()
    store[SESSION_DEVICE_ID] = str(device.pk)
    store[SESSION_TOKEN_HASH] = device.token_hash
    store.create()
    headers = {"Cookie": f"sessionid={store.session_key}", "Origin": "http://localhost:8000"}
    view = LiveView.open(f"{asgi_server.url}/ws/sessions/{hall_a.pk}/", additional_headers=headers)
    view = _snapshot(view, hall_a)
    try:
        device_revoke(device=device)
        assert view.close_code(timeout=DEADLINE) == 4401
    finally:
        view.close()
