"""Password guessing is limited on /api/auth/token/ and the admin login: per user name and per
client address, in MongoDB (so also while Redis is down), 429 with Retry-After, unlocked by staff."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"


@pytest.fixture
def door_user(django_user_model):
    return django_user_model.objects.create_user(username="door", password="door-pass-123")


def _token(client, username, password, ip="10.9.8.7"):
    return client.post(TOKEN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _assert_locked(response):
    assert response.status_code == 429, (response.status_code, response.content)
    assert response.json()["reason"] == "locked_out"
    assert int(response["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())


def test_token_endpoint_locks_a_user_name_after_repeated_failures(api_client, door_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token(api_client, "door", "guess").status_code == 400
    _assert_locked(_token(api_client, "door", "guess"))
    # Locked: even the right password, even from another address.
    _assert_locked(_token(api_client, "door", "door-pass-123", ip="10.1.1.1"))


def test_token_endpoint_locks_a_client_address_guessing_many_user_names(api_client, door_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _token(api_client, f"user-{n}", "guess", ip="10.6.6.6")
    _assert_locked(_token(api_client, "door", "door-pass-123", ip="10.6.6.6"))
    assert _token(api_client, "door", "door-pass-123", ip="10.2.2.2").status_code == 200


def test_lockout_holds_while_redis_is_down_and_lives_in_mongodb(
    api_client, door_user, redis_server
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


def test_unlocking_is_an_admin_action(client, api_client, door_user, django_user_model):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(api_client, "door", "guess")
    _assert_locked(_token(api_client, "door", "door-pass-123"))
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
