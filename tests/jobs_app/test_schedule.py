"""The periodic tasks exist in beat's MongoDB tables, once, and admin edits survive bootstrap."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from jobs_app.schedule import OUTBOX_TASK, RECONCILE_TASK

pytestmark = pytest.mark.django_db


def test_bootstrap_creates_periodic_tasks_once_and_keeps_edits(settings):
    call_command("bootstrap", "--no-demo", verbosity=0)
    reconcile = PeriodicTask.objects.get(task=RECONCILE_TASK)
    assert reconcile.interval.every == settings.RECONCILE_INTERVAL_SECONDS
    assert PeriodicTask.objects.filter(task=OUTBOX_TASK).count() == 1

    reconcile.enabled = False  # an operator's edit in the admin
    reconcile.save()
    call_command("bootstrap", "--no-demo", verbosity=0)
    assert PeriodicTask.objects.filter(task=RECONCILE_TASK).count() == 1
    assert PeriodicTask.objects.get(task=RECONCILE_TASK).enabled is False


def test_periodic_task_is_editable_in_admin(client, staff_user):
    call_command("bootstrap", "--no-demo", verbosity=0)
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    task = PeriodicTask.objects.get(task=RECONCILE_TASK)
    response = client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert response.status_code == 200
    assert b"Reconcile capacity counters" in response.content
