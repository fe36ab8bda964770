"""API tokens: this process's copy saves a MongoDB read per request, and revocation is immediate here."""

import pickle
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import F
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory

from accounts.authentication import CachedTokenAuthentication
from accounts.backends import MongoModelBackend, permission_names
from core.process_cache import process_cache_clear, process_cache_drop
from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure
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


# --- the token's load and the permission names: no join ------------------------------------------


def _oracle(permissions) -> set[str]:
    """Names read the way the backend read them before (a join; right on the stand-in too)."""
    rows = permissions.values(app=F("content_type__app_label"), code=F("codename")).order_by()
    return {f"{row['app']}.{row['code']}" for row in rows}


def test_a_tokens_load_joins_nothing(staff_token, commands):
    process_cache_clear()  # the token's copy and the permission names' copy
    with commands.counted():
        user, token = _authenticate(staff_token)
    assert user.has_perm("sessions_app.check_in") and token.user is user
    aggregates = [body for body in commands.bodies if "aggregate" in body]
    assert aggregates, commands.names  # the ORM's reads are aggregates: the check must see them
    joins = [stage for body in aggregates for stage in body["pipeline"] if "$lookup" in stage]
    assert joins == [], commands.names
    # token, user, the user's and their groups' permission links, the names' copy (2 reads)
    assert len(commands.names) <= 7, commands.names


def test_permission_names_are_the_same_as_read_with_a_join(staff_user, django_user_model):
    door_staff_group_ensure()
    door = django_user_model.objects.create_user("door", password="door-pass-123")
    door.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    both = django_user_model.objects.create_user("both", password="both-pass-123")
    both.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    both.user_permissions.add(Permission.objects.get(codename="view_participant"))
    boss = django_user_model.objects.create_superuser("boss", password="boss-pass-123")
    gone = django_user_model.objects.create_user("gone", password="gone-pass-123")
    gone.user_permissions.add(Permission.objects.get(codename="check_in"))
    gone.is_active = False
    gone.save()
    backend = MongoModelBackend()
    for made in (staff_user, door, both, boss, gone):
        user = django_user_model.objects.get(pk=made.pk)
        if not user.is_active:
            expected_user, expected_groups = set(), set()
        elif user.is_superuser:
            expected_user = expected_groups = _oracle(Permission.objects.all())
        else:
            expected_user = _oracle(Permission.objects.filter(user=user))
            expected_groups = _oracle(Permission.objects.filter(group__user=user))
        assert backend.get_user_permissions(user) == expected_user, user.username
        assert backend.get_group_permissions(user) == expected_groups, user.username
    assert backend.get_group_permissions(door) == {"sessions_app.check_in"}
    assert len(backend.get_all_permissions(boss)) == Permission.objects.count()


def test_a_permission_made_after_the_names_were_kept_is_named(django_user_model):
    user = django_user_model.objects.create_user("late", password="late-pass-123")
    permission_names()  # kept now
    made = Permission.objects.create(
        codename="made_late",
        name="Made late",
        content_type=ContentType.objects.get_for_model(Permission),
    )
    user.user_permissions.add(made)
    assert django_user_model.objects.get(pk=user.pk).has_perm("auth.made_late")
