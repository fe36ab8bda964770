"""Who sees and does what: docs/api.md's access table, row by row, plus the ways in (session and
token auth) and the permission details the table summarises.

PII goes to staff with the model's view permission only; the API's writes follow Django's model
permissions, as the admin does."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db

SESSION_FIELDS = {
    "title": "T",
    "starts_at": "2030-01-01T10:00:00Z",
    "ends_at": "2030-01-01T11:00:00Z",
    "capacity": 5,
}

# What each action answers when it is allowed; the table's rows say which are.
ALLOWED = {
    "sessions": 200,
    "stats": 200,
    "participants": 200,
    "participant": 200,
    "check_ins": 200,
    "scans": 200,
    "check_in": 201,
    "check_out": 200,
    "create_session": 201,
    "edit_session": 200,
    "edit_participant": 200,
    "reconcile": 202,
    "delete_session": 204,
}
READ_SESSIONS = ("sessions", "stats")
DOOR_ACTIONS = ("check_in", "check_out")


def _row(allowed, refused):
    return {action: ALLOWED[action] if action in allowed else refused for action in ALLOWED}


ACCESS_TABLE = {
    "anonymous": _row((), 401),
    "signed-in, no permission": _row(READ_SESSIONS, 403),
    "door staff (token)": _row(READ_SESSIONS + DOOR_ACTIONS, 403),
    "staff without model permissions": _row(READ_SESSIONS + DOOR_ACTIONS, 403),
    "staff with model permissions": _row(ALLOWED, 403),
    "superuser": _row(ALLOWED, 403),
}


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _token_client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _role_client(role, request, django_user_model) -> APIClient:
    if role == "anonymous":
        return APIClient()
    if role == "signed-in, no permission":
        return request.getfixturevalue("plain_client")
    if role == "door staff (token)":
        return _token_client_for(request.getfixturevalue("door_staff_user"))
    if role == "staff without model permissions":
        return _client_for(
            django_user_model.objects.create_user(username="bare", password="x", is_staff=True)
        )
    if role == "staff with model permissions":
        return request.getfixturevalue("staff_client")
    return _client_for(
        django_user_model.objects.create_superuser(username="root", password="x", email="")
    )


def _every_action(client) -> dict:
    """Try each action of the table once, in an order where each can succeed."""
    session, person, empty = session_make(), participant_make(), session_make(title="Empty")
    by_id = {"participant": str(person.pk)}
    base = f"/api/sessions/{session.pk}"
    return {
        "sessions": client.get("/api/sessions/").status_code,
        "stats": client.get("/api/sessions/stats/").status_code,
        "participants": client.get("/api/participants/").status_code,
        "participant": client.get(f"/api/participants/{person.pk}/").status_code,
        "check_ins": client.get(f"{base}/check-ins/").status_code,
        "scans": client.get(f"{base}/scans/").status_code,
        "check_in": client.post(f"{base}/check-in/", by_id, format="json").status_code,
        "check_out": client.post(f"{base}/check-out/", by_id, format="json").status_code,
        "create_session": client.post("/api/sessions/", SESSION_FIELDS, format="json").status_code,
        "edit_session": client.patch(f"{base}/", {"capacity": 3}, format="json").status_code,
        "edit_participant": client.patch(
            f"/api/participants/{person.pk}/", {"full_name": "X"}, format="json"
        ).status_code,
        "reconcile": client.post("/api/reconcile/").status_code,
        # a session with check-in records is kept (409): delete one without
        "delete_session": client.delete(f"/api/sessions/{empty.pk}/").status_code,
    }


@pytest.mark.parametrize("role", list(ACCESS_TABLE))
def test_each_role_gets_exactly_its_row_of_the_access_table(role, request, django_user_model):
    client = _role_client(role, request, django_user_model)
    assert _every_action(client) == ACCESS_TABLE[role]


def test_anonymous_calls_are_told_to_bring_a_token(api_client):
    response = api_client.get("/api/sessions/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_door_verdict_names_the_person_but_shows_no_email_or_ticket(door_staff_user):
    session, person = session_make(), participant_make(full_name="Ada Door")
    scanner = _token_client_for(door_staff_user)
    verdict = scanner.post(
        f"/api/sessions/{session.pk}/check-in/", {"ticket_code": person.ticket_code}, format="json"
    )
    assert verdict.status_code == 201
    assert verdict.json()["participant_name"] == "Ada Door"
    assert "email" not in verdict.json() and "ticket_code" not in verdict.json()


def test_each_model_permission_allows_exactly_its_action(django_user_model):
    user = django_user_model.objects.create_user(username="org", password="x", is_staff=True)
    session, person = session_make(), participant_make()

    def grant(*codenames):
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        return _client_for(type(user).objects.get(pk=user.pk))  # no stale permission cache

    client = grant("change_session", "view_participant")
    assert (
        client.patch(f"/api/sessions/{session.pk}/", {"capacity": 3}, format="json").status_code
        == 200
    )
    assert client.post("/api/sessions/", SESSION_FIELDS, format="json").status_code == 403
    assert client.delete(f"/api/sessions/{session.pk}/").status_code == 403
    assert client.get(f"/api/participants/{person.pk}/").json()["email"] == person.email
    assert (
        client.patch(
            f"/api/participants/{person.pk}/", {"full_name": "X"}, format="json"
        ).status_code
        == 403
    )
    assert client.get(f"/api/sessions/{session.pk}/scans/").status_code == 403
    client = grant("add_session", "view_scan", "view_checkin")
    assert client.post("/api/sessions/", SESSION_FIELDS, format="json").status_code == 201
    assert client.get(f"/api/sessions/{session.pk}/scans/").status_code == 200
    assert client.get(f"/api/sessions/{session.pk}/check-ins/").status_code == 200


def test_door_staff_group_holds_only_the_check_in_permission(door_staff_user):
    group = door_staff_user.groups.get(name=DOOR_STAFF_GROUP)
    assert list(group.permissions.values_list("codename", flat=True)) == ["check_in"]
    assert door_staff_user.has_perm("sessions_app.check_in")
    assert not door_staff_user.is_staff


def test_check_in_permission_given_to_a_user_directly_is_enough(django_user_model):
    user = django_user_model.objects.create_user(username="scanner-3", password="x")
    door_staff_group_ensure()
    user.user_permissions.add(Permission.objects.get(codename="check_in"))
    session, person = session_make(), participant_make()
    response = _client_for(user).post(
        f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )
    assert response.status_code == 201


def test_a_wrong_token_is_refused_401(door_staff_user):
    session, person = session_make(), participant_make()
    scanner = APIClient()
    scanner.credentials(HTTP_AUTHORIZATION="Token wrong")
    response = scanner.post(
        f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )
    assert response.status_code == 401


def test_the_token_endpoint_gives_the_users_token(door_staff_user, api_client):
    response = api_client.post(
        "/api/auth/token/", {"username": "door", "password": "door-pass-123"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=door_staff_user).key


def test_staff_signed_in_in_the_browser_use_the_api_with_their_session(client, staff_user):
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


def test_browsable_api_offers_the_check_in_form(client, staff_user):
    session = session_make()
    client.force_login(staff_user)
    page = client.get(f"/api/sessions/{session.pk}/check-in/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200  # the door's state, with the input form below
    assert b"ticket_code" in page.content and b"nonce" in page.content
    detail = client.get(f"/api/sessions/{session.pk}/", HTTP_ACCEPT="text/html")
    assert detail.status_code == 200 and b"capacity" in detail.content
