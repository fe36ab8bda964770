"""Migrations on MongoDB: all applied, none missing, contrib and beat models with ObjectId keys."""

import pytest
from bson import ObjectId
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db


def test_all_migrations_applied_on_clean_test_database():
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    assert plan == []
    # The test database was created from nothing by pytest-django, so this also proves a clean apply.
    assert connection.settings_dict["NAME"].startswith("test_")


def test_no_model_changes_without_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_contrib_model_round_trips_with_object_id():
    group = Group.objects.create(name="Door staff test")
    assert isinstance(group.pk, ObjectId)
    fetched = Group.objects.get(pk=group.pk)
    assert fetched.name == "Door staff test"


def test_celery_beat_models_work_on_mongodb():
    every = IntervalSchedule.objects.create(every=30, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="probe", task="x.y", interval=every)
    assert isinstance(task.pk, ObjectId)
    assert PeriodicTask.objects.get(pk=task.pk).interval == every
