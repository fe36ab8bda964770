"""API tokens expire after API_TOKEN_LIFETIME_HOURS, and a password change or a deactivation
revokes every token of the user (the admin's password form included); signing in again after
either gives a new key."""

import time

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"


def _sign_in(password: str) -> str:
    response = APIClient().post(TOKEN, {"username": "staff", "password": password})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _answer(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/sessions/").status_code


def test_a_password_change_revokes_the_token_and_the_new_sign_in_gets_a_new_key(staff_user):
    old = _sign_in("staff-pass-123")
    assert _answer(old) == 200  # now also a copy in this process
    staff_user.set_password("a-new-pass-456")
    staff_user.save()
    assert _answer(old) == 401
    new = _sign_in("a-new-pass-456")
    assert new != old and _answer(new) == 200


def test_the_admin_password_form_revokes_the_users_tokens(client, staff_user, django_user_model):
    old = _sign_in("staff-pass-123")
    root = django_user_model.objects.create_superuser(username="root", password="x", email="")
    client.force_login(root)
    page = client.post(
        f"/admin/auth/user/{staff_user.pk}/password/",
        {"password1": "a-new-pass-456", "password2": "a-new-pass-456", "usable_password": "true"},
    )
    assert page.status_code == 302, page.content[:2000]
    assert _answer(old) == 401


def test_a_deactivated_users_token_stays_dead_after_reactivation(staff_user):
    old = _sign_in("staff-pass-123")
    staff_user.is_active = False
    staff_user.save()
    staff_user.is_active = True
    staff_user.save()
    assert _answer(old) == 401
    assert _sign_in("staff-pass-123") != old


@pytest.mark.slow  # over a second: `make test` runs it
def test_a_used_token_expires_after_its_lifetime_and_signing_in_gives_a_new_key(
    staff_user, settings
):
    old = _sign_in("staff-pass-123")
    assert _answer(old) == 200  # the process keeps a copy: expiry must apply to it too
    settings.API_TOKEN_LIFETIME_HOURS = 1 / 3600  # one second
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    deadline = time.monotonic() + 30
    while (refused := client.get("/api/sessions/")).status_code != 401:
        assert time.monotonic() < deadline, "the token never expired"
        time.sleep(0.2)
    assert "expired" in refused.json()["detail"]
    settings.API_TOKEN_LIFETIME_HOURS = 12
    new = _sign_in("staff-pass-123")
    assert new != old and _answer(new) == 200
    assert not Token.objects.filter(key=old).exists()


def test_an_unexpired_token_is_kept_by_a_second_sign_in(staff_user):
    assert _sign_in("staff-pass-123") == _sign_in("staff-pass-123")
