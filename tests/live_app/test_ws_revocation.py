"""An open WebSocket of a user whose token was revoked, or who was deactivated, is closed with
4401 within a few seconds (the server re-checks the sign-in every SIGN_IN_RECHECK_SECONDS)."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.factories import session_make
from tests.live_support import LiveView

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

DEADLINE = 30  # generous: the recheck period plus another process's token copy (5 s)


def _open(asgi_server, session, **kwargs) -> LiveView:
    view = LiveView.open(f"{asgi_server.url}/ws/sessions/{session.pk}/", **kwargs)
    view.wait_for(lambda v: str(session.pk) in v.sessions, timeout=10)
    return view


def test_a_socket_signed_in_with_a_deleted_token_is_closed(asgi_server, staff_user, staff_token):
    view = _open(asgi_server, session_make(capacity=5), token=staff_token)
    try:
        Token.objects.filter(key=staff_token).delete()
        assert view.close_code(timeout=DEADLINE) == 4401
    finally:
        view.close()


def test_a_socket_of_a_user_whose_password_changed_is_closed(asgi_server, staff_user, staff_token):
    view = _open(asgi_server, session_make(capacity=5), token=staff_token)
    try:
        staff_user.set_password("a-new-pass-456")
        staff_user.save()
        assert view.close_code(timeout=DEADLINE) == 4401
    finally:
        view.close()


def test_a_cookie_signed_socket_of_a_deactivated_user_is_closed(asgi_server, staff_user):
    browser = Client()
    browser.force_login(staff_user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    view = _open(
        asgi_server,
        session_make(capacity=5),
        additional_headers={"Cookie": cookie, "Origin": "http://localhost:8000"},
    )
    try:
        type(staff_user).objects.filter(pk=staff_user.pk).update(is_active=False)  # no signal
        assert view.close_code(timeout=DEADLINE) == 4401
    finally:
        view.close()
