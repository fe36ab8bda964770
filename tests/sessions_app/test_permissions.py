"""Who may do what: anonymous, signed-in without rights, door staff, staff; session and token auth."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def _check_in(client, session, person):
    return client.post(
        f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/sessions/"),
        ("get", "/api/sessions/stats/"),
        ("get", "/api/participants/"),
        ("post", "/api/sessions/"),
        ("post", "/api/sessions/0123456789abcdef01234567/check-in/"),
        ("post", "/api/sessions/0123456789abcdef01234567/check-out/"),
    ],
)
def test_anonymous_is_refused(api_client, method, path):
    response = getattr(api_client, method)(path, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_signed_in_user_without_rights_reads_sessions_but_cannot_write_or_check_in(plain_client):
    session, person = session_make(), participant_make()
    assert plain_client.get("/api/sessions/").status_code == 200
    assert plain_client.get(f"/api/participants/{person.pk}/").status_code == 403  # PII
    assert plain_client.post("/api/sessions/", {}, format="json").status_code == 403
    assert (
        plain_client.patch(f"/api/participants/{person.pk}/", {}, format="json").status_code == 403
    )
    assert _check_in(plain_client, session, person).status_code == 403
    out = plain_client.post(
        f"/api/sessions/{session.pk}/check-out/", {"participant": str(person.pk)}, format="json"
    )
    assert out.status_code == 403


def test_door_staff_check_in_and_out_but_cannot_edit(door_client):
    session, person = session_make(), participant_make()
    assert _check_in(door_client, session, person).status_code == 201
    out = door_client.post(
        f"/api/sessions/{session.pk}/check-out/", {"participant": str(person.pk)}, format="json"
    )
    assert out.status_code == 200
    assert (
        door_client.patch(
            f"/api/sessions/{session.pk}/", {"capacity": 1}, format="json"
        ).status_code
        == 403
    )
    assert door_client.delete(f"/api/sessions/{session.pk}/").status_code == 403
    assert door_client.post("/api/participants/", {}, format="json").status_code == 403


def test_door_staff_group_holds_the_check_in_permission(door_staff_user):
    group = door_staff_user.groups.get(name=DOOR_STAFF_GROUP)
    assert list(group.permissions.values_list("codename", flat=True)) == ["check_in"]
    assert door_staff_user.has_perm("sessions_app.check_in")
    assert not door_staff_user.is_staff


def test_token_auth_for_door_scanners(door_staff_user):
    session, person = session_make(), participant_make()
    token = Token.objects.create(user=door_staff_user)
    scanner = APIClient()
    scanner.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert _check_in(scanner, session, person).status_code == 201
    scanner.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert _check_in(scanner, session, person).status_code == 401


def test_obtain_token_endpoint(door_staff_user, api_client):
    response = api_client.post(
        "/api/auth/token/", {"username": "door", "password": "door-pass-123"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=door_staff_user).key


def test_session_auth_for_staff_in_the_browser(client, staff_user):
    session, person = session_make(), participant_make()
    client.force_login(staff_user)
    page = client.get(f"/api/sessions/{session.pk}/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert b"check_in_count" in page.content
    response = client.post(
        f"/api/sessions/{session.pk}/check-in/",
        {"participant": str(person.pk)},
        content_type="application/json",
    )
    assert response.status_code == 201  # Django's test client skips CSRF checks


def test_check_in_permission_given_to_a_user_directly(django_user_model):

    user = django_user_model.objects.create_user(username="scanner-3", password="x")
    door_staff_group_ensure()
    user.user_permissions.add(Permission.objects.get(codename="check_in"))
    client = APIClient()
    client.force_authenticate(user)
    assert _check_in(client, session_make(), participant_make()).status_code == 201


def test_browsable_api_offers_the_check_in_form(client, staff_user):
    session = session_make()
    client.force_login(staff_user)
    page = client.get(f"/api/sessions/{session.pk}/check-in/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200  # the door's state, with the input form below
    assert b"ticket_code" in page.content and b"nonce" in page.content
    detail = client.get(f"/api/sessions/{session.pk}/", HTTP_ACCEPT="text/html")
    assert detail.status_code == 200 and b"capacity" in detail.content
