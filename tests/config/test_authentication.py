"""API tokens: this process's copy saves a MongoDB read per request, and revocation is immediate here."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import session_make

pytestmark = pytest.mark.django_db


def test_a_deleted_token_stops_working_at_once(token_client):
    assert token_client.get("/api/sessions/").status_code == 200  # now a copy in this process
    token_client.token.delete()
    assert token_client.get("/api/sessions/").status_code == 401


def test_a_deactivated_user_stops_working_at_once(token_client, staff_user):
    assert token_client.get("/api/sessions/").status_code == 200
    staff_user.is_active = False
    staff_user.save()
    assert token_client.get("/api/sessions/").status_code == 401


def test_a_permission_taken_away_applies_at_once(django_user_model):
    user = django_user_model.objects.create_user("door", password="x")
    check_in = Permission.objects.get(codename="check_in")
    user.user_permissions.add(check_in)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    session = session_make()
    url = f"/api/sessions/{session.pk}/check-in/"
    assert client.post(url, {"ticket_code": "UNKNOWN"}, format="json").status_code == 404
    user.user_permissions.remove(check_in)
    assert client.post(url, {"ticket_code": "UNKNOWN"}, format="json").status_code == 403


def test_with_the_copy_off_every_request_reads_the_token(token_client, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    assert token_client.get("/api/sessions/").status_code == 200
    Token.objects.filter(key=token_client.token.key).delete()  # no signal: a queryset delete
    assert token_client.get("/api/sessions/").status_code == 401
