"""API tokens: this process's copy saves a MongoDB read per request, and revocation is immediate here."""

import pickle
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory

from accounts.authentication import CachedTokenAuthentication
from core.process_cache import process_cache_drop
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


def _authenticate(key: str):
    request = APIRequestFactory().get("/api/sessions/", HTTP_AUTHORIZATION=f"Token {key}")
    return CachedTokenAuthentication().authenticate(request)


def test_each_request_gets_its_own_copy_of_the_kept_user_and_token(staff_token):
    first_user, first_token = _authenticate(staff_token)
    first_user.first_name = "changed by one request"
    second_user, second_token = _authenticate(staff_token)
    assert second_user is not first_user and second_token is not first_token
    assert second_user.pk == first_user.pk and second_user.first_name != "changed by one request"
    assert isinstance(second_user._perm_cache, frozenset)  # shared, and no request can change it
    assert second_user.has_perm("sessions_app.check_in")  # the permissions travel along
    assert second_token.user is second_user  # as DRF's pair: the token's user is the user


def test_the_kept_user_is_not_unpickled_per_request(staff_token):
    """The copy was pickled in LocMemCache: unpickling the user with its permission caches cost
    about 0.2 ms of CPU per API request. A request that finds the copy unpickles nothing."""
    _authenticate(staff_token)  # now kept
    with (
        mock.patch("pickle.loads", side_effect=pickle.loads) as loads,
        mock.patch(
            "django.core.cache.backends.locmem.pickle.loads", side_effect=pickle.loads
        ) as locmem_loads,
    ):
        user, _token = _authenticate(staff_token)
    assert user.username == "staff"
    assert loads.call_count == 0 and locmem_loads.call_count == 0


def test_a_dropped_copy_is_loaded_again(staff_token, django_user_model):
    user, _token = _authenticate(staff_token)
    django_user_model.objects.filter(pk=user.pk).update(first_name="Renamed")  # no signal
    assert _authenticate(staff_token)[0].first_name != "Renamed"  # the kept copy
    process_cache_drop(f"token:{staff_token}")
    assert _authenticate(staff_token)[0].first_name == "Renamed"
