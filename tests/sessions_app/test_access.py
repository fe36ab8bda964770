"""Who sees and does what (the README's access table): PII to staff with permissions only, and the
API's writes follow Django's model permissions, as the admin does."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db

SESSION_FIELDS = {
    "title": "T",
    "starts_at": "2030-01-01T10:00:00Z",
    "ends_at": "2030-01-01T11:00:00Z",
    "capacity": 5,
}


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def bare_staff_client(django_user_model):
    """Staff status (may sign in to the admin) but no model permission at all."""
    user = django_user_model.objects.create_user(username="bare", password="x", is_staff=True)
    return _client_for(user)


def _grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


def _door_reads(client, session, person):
    return {
        "participants": client.get("/api/participants/").status_code,
        "participant": client.get(f"/api/participants/{person.pk}/").status_code,
        "check_ins": client.get(f"/api/sessions/{session.pk}/check-ins/").status_code,
        "scans": client.get(f"/api/sessions/{session.pk}/scans/").status_code,
    }


def test_door_token_checks_in_but_reads_no_participant_data(door_staff_user):
    session, person = session_make(), participant_make(full_name="Ada Door")
    scanner = APIClient()
    scanner.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=door_staff_user).key}")
    verdict = scanner.post(
        f"/api/sessions/{session.pk}/check-in/", {"ticket_code": person.ticket_code}, format="json"
    )
    assert verdict.status_code == 201
    assert verdict.json()["participant_name"] == "Ada Door"  # the verdict names the person
    assert "email" not in verdict.json() and "ticket_code" not in verdict.json()
    assert _door_reads(scanner, session, person) == dict.fromkeys(
        ("participants", "participant", "check_ins", "scans"), 403
    )
    # Sessions (no personal data) stay readable: the scanner picks its door from them.
    assert scanner.get("/api/sessions/").status_code == 200
    assert scanner.get(f"/api/sessions/{session.pk}/").status_code == 200


def test_signed_in_user_without_permissions_sees_no_participant_data(plain_client):
    session, person = session_make(), participant_make()
    assert _door_reads(plain_client, session, person) == dict.fromkeys(
        ("participants", "participant", "check_ins", "scans"), 403
    )


def test_staff_without_model_permissions_can_neither_read_pii_nor_write(bare_staff_client):
    session, person = session_make(), participant_make()
    client = bare_staff_client
    assert _door_reads(client, session, person)["participants"] == 403
    assert client.post("/api/sessions/", SESSION_FIELDS, format="json").status_code == 403
    assert (
        client.patch(f"/api/sessions/{session.pk}/", {"capacity": 3}, format="json").status_code
        == 403
    )
    assert client.delete(f"/api/sessions/{session.pk}/").status_code == 403
    assert client.post("/api/reconcile/").status_code == 403
    session.refresh_from_db()
    assert session.capacity == 10


def test_each_model_permission_allows_exactly_its_action(django_user_model):
    user = django_user_model.objects.create_user(username="org", password="x", is_staff=True)
    session, person = session_make(), participant_make()
    user = _grant(user, "change_session", "view_participant")
    client = _client_for(user)
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
    client = _client_for(_grant(user, "add_session", "view_scan", "view_checkin"))
    assert client.post("/api/sessions/", SESSION_FIELDS, format="json").status_code == 201
    assert client.get(f"/api/sessions/{session.pk}/scans/").status_code == 200
    assert client.get(f"/api/sessions/{session.pk}/check-ins/").status_code == 200


def test_superuser_sees_and_does_everything(django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="x", email="")
    session, person = session_make(), participant_make()
    client = _client_for(admin)
    assert _door_reads(client, session, person) == dict.fromkeys(
        ("participants", "participant", "check_ins", "scans"), 200
    )
    assert client.delete(f"/api/participants/{person.pk}/").status_code == 204
