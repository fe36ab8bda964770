"""Fixtures of the sessions tests: a clean Redis layer and cache per test, users with roles."""

import contextlib

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

import redis_fallback.testing
from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure


@pytest.fixture(autouse=True)
def clean_redis_layer():
    """Close the breaker and empty Redis (cache and admission sets) before each test."""
    redis_fallback.testing.reset_for_tests()
    with contextlib.suppress(Exception):  # a failing clear must not fail the test set-up
        cache.clear()
    yield
    redis_fallback.testing.reset_for_tests()


@pytest.fixture
def door_user(django_user_model, db):
    """A non-staff user in the "Door staff" group (the group the migration creates)."""

    door_staff_group_ensure()  # collections are flushed between tests: recreate it
    user = django_user_model.objects.create_user(username="door", password="door-pass-123")
    user.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    return user


@pytest.fixture
def door_client(door_user):
    client = APIClient()
    client.force_authenticate(door_user)
    return client


@pytest.fixture
def plain_client(django_user_model, db):
    """An authenticated user with no staff status and no permissions."""
    user = django_user_model.objects.create_user(username="plain", password="plain-pass-123")
    client = APIClient()
    client.force_authenticate(user)
    return client
