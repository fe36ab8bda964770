"""Password guessing is limited on /api/auth/token/ and the admin login: per user name at an
address, in MongoDB (so also while Redis is down), 429 with Retry-After, unlocked by staff.

The properties of the design (a venue's shared address, resets, attackers elsewhere, the bound)
are in test_lockout_properties.py."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings

from accounts.lockout import lockout_delay_seconds

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"


def _token(client, username, password, ip="10.9.8.7"):
    return client.post(TOKEN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _assert_locked(response, retry_after=None):
    assert response.status_code == 429, (response.status_code, response.content)
    assert response.json()["reason"] == "locked_out"
    expected = retry_after or settings.AUTH_LOCKOUT_FIRST_DELAY_SECONDS
    assert 1 <= int(response["Retry-After"]) <= expected


def test_the_delay_doubles_from_the_first_and_stops_at_the_cap(settings):
    settings.AUTH_LOCKOUT_FIRST_DELAY_SECONDS = 1
    settings.AUTH_LOCKOUT_MAX_DELAY_SECONDS = 60
    delays = [lockout_delay_seconds(beyond_limit=n) for n in range(10)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert lockout_delay_seconds(beyond_limit=10_000) == 60


def test_token_endpoint_locks_a_user_name_after_repeated_failures(api_client, door_app_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token(api_client, "door", "guess").status_code == 400
    _assert_locked(_token(api_client, "door", "guess"))
    # Locked at this address: even the right password is not checked.
    _assert_locked(_token(api_client, "door", "door-pass-123"))


def test_token_endpoint_locks_a_client_address_guessing_many_user_names(
    api_client, door_app_user, settings
):
    settings.AUTH_LOCKOUT_ADDRESS_FAILURES = 12  # 100 by default; fewer requests, same rule
    settings.AUTH_LOCKOUT_FIRST_DELAY_SECONDS = 600  # holds for the whole test
    for n in range(settings.AUTH_LOCKOUT_ADDRESS_FAILURES - 1):
        assert _token(api_client, f"user-{n}", "guess", ip="10.6.6.6").status_code == 400
    _assert_locked(_token(api_client, "door", "guess", ip="10.6.6.6"), retry_after=600)
    _assert_locked(_token(api_client, "door", "door-pass-123", ip="10.6.6.6"), retry_after=600)
    assert _token(api_client, "door", "door-pass-123", ip="10.2.2.2").status_code == 200


def test_lockout_holds_while_redis_is_down_and_lives_in_mongodb(
    api_client, door_app_user, redis_server
):
    redis_server.kill()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(api_client, "door", "guess")
    _assert_locked(_token(api_client, "door", "door-pass-123"))
    assert AccessAttempt.objects.filter(username="door").exists()  # shared by every process


def test_admin_login_is_locked_out_too(client, staff_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page = client.post("/admin/login/", {"username": "staff", "password": "guess"})
        assert page.status_code == 200  # the form again, with its error
    _assert_locked(client.post("/admin/login/", {"username": "staff", "password": "guess"}))
    _assert_locked(
        client.post("/admin/login/", {"username": "staff", "password": "staff-pass-123"})
    )


def test_unlocking_is_an_admin_action(
    client, api_client, door_app_user, django_user_model, settings
):
    settings.AUTH_LOCKOUT_FIRST_DELAY_SECONDS = 600  # the lock outlasts the test
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(api_client, "door", "guess")
    _assert_locked(_token(api_client, "door", "door-pass-123"), retry_after=600)
    admin = django_user_model.objects.create_superuser(username="root", password="x", email="")
    client.force_login(admin)
    changelist = client.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200 and b"door" in changelist.content
    attempts = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    confirm = client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert confirm.status_code == 302
    assert _token(api_client, "door", "door-pass-123").status_code == 200
