"""The "Door staff" group the project ships (sessions_app.groups, its data migration)."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from sessions_app.groups import DOOR_STAFF_GROUP

pytestmark = pytest.mark.django_db


def test_data_migration_creates_the_door_staff_group_with_check_in():
    migration = importlib.import_module("sessions_app.migrations.0002_door_staff_group")
    Group.objects.filter(name=DOOR_STAFF_GROUP).delete()
    migration.create_group(apps, None)
    migration.create_group(apps, None)  # idempotent
    group = Group.objects.get(name=DOOR_STAFF_GROUP)
    assert [(p.content_type.app_label, p.codename) for p in group.permissions.all()] == [
        ("sessions_app", "check_in")
    ]
    migration.delete_group(apps, None)
    assert not Group.objects.filter(name=DOOR_STAFF_GROUP).exists()
