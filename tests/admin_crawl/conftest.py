"""The crawl's data: what `make run` sets up (bootstrap), one row in every admin-registered
collection, and the people who use the admin: superuser, organiser, door staff, anonymous."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import Token

from devices_app.models import DoorDevice
from jobs_app.models import Job, JobRun, Lease, OutboxMessage
from sessions_app.groups import DOOR_STAFF_GROUP
from sessions_app.services.leases import OfflineScan, lease_sync, session_lease_grant
from tests.admin_crawl.crawl import TracebackCatcher, registered_admins
from tests.factories import session_make

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Mark every crawl test ``slow``: each renders every page for each role (`make check` leaves
    them out, `make test` runs them)."""
    for item in items:
        if _HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)


# The organiser of the README's access table: staff with the model permissions of the event's
# data, who also puts volunteers into "Door staff" (users and groups).
ORGANISER_APPS = ("sessions_app", "participants_app")
ORGANISER_AUTH = ("view_user", "change_user", "add_user", "view_group")

_ACCESS = {"user_agent": "crawl", "ip_address": "10.0.0.9", "username": "door", "path_info": "/"}


def _in_an_hour() -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=1)


def _lease_with_a_conflict() -> None:
    """A real lease of a session, and an offline scan of an unknown ticket synced through
    it: the conflict the admin's Conflicts page lists."""
    session = session_make(title="Crawl hall", capacity=40)
    answer = session_lease_grant(session_id=session.pk, places=1, actor="door")
    unknown = OfflineScan(
        nonce="crawl-1", direction="in", scanned_at=timezone.now(), ticket_code="NOPE-NOPE-0000"
    )
    lease_sync(lease=answer.lease, scans=[unknown], actor="door")


# Rows for the collections that bootstrap leaves empty, so every change form has an object.
CREATORS = {
    "authtoken.TokenProxy": lambda: Token.objects.create(user=User.objects.get(username="door")),
    "axes.AccessAttempt": lambda: AccessAttempt.objects.create(
        **_ACCESS, http_accept="*/*", get_data="", post_data="", failures_since_start=3
    ),
    "axes.AccessLog": lambda: AccessLog.objects.create(**_ACCESS, http_accept="*/*"),
    "axes.AccessFailureLog": lambda: AccessFailureLog.objects.create(
        **_ACCESS, http_accept="*/*", locked_out=True
    ),
    "django_celery_beat.ClockedSchedule": lambda: ClockedSchedule.objects.create(
        clocked_time=_in_an_hour()
    ),
    "django_celery_beat.CrontabSchedule": lambda: CrontabSchedule.objects.create(minute="5"),
    "django_celery_beat.SolarSchedule": lambda: SolarSchedule.objects.create(
        event="sunrise", latitude=48.1, longitude=11.6
    ),
    "django_celery_beat.IntervalSchedule": lambda: IntervalSchedule.objects.create(
        every=30, period=IntervalSchedule.SECONDS
    ),
    "django_celery_beat.PeriodicTask": lambda: PeriodicTask.objects.create(
        name="crawl", task="crawl.task", interval=IntervalSchedule.objects.first()
    ),
    "jobs_app.OutboxMessage": lambda: OutboxMessage.objects.create(task_name="crawl.task"),
    "jobs_app.JobRun": lambda: JobRun.objects.create(name="crawl", last_success_at=timezone.now()),
    "jobs_app.Lease": lambda: Lease.objects.create(name="crawl", expires_at=_in_an_hour()),
    "jobs_app.Job": lambda: Job.objects.create(kind="import", title="crawl.csv", total=3),
    "devices_app.DoorDevice": lambda: DoorDevice.objects.create(name="crawl tablet"),
    "sessions_app.Lease": _lease_with_a_conflict,
    "sessions_app.ScanConflict": _lease_with_a_conflict,
}


def _users() -> dict[str, User | None]:
    boss = User.objects.create_superuser(username="boss", password="x")
    organiser = User.objects.create_user(username="organiser", password="x", is_staff=True)
    organiser.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=ORGANISER_APPS),
        *Permission.objects.filter(content_type__app_label="auth", codename__in=ORGANISER_AUTH),
    )
    door = User.objects.create_user(username="door", password="x", is_staff=True)
    door.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    return {"superuser": boss, "organiser": organiser, "door staff": door, "anonymous": None}


@pytest.fixture
def crawl_data(db, settings):
    """Bootstrap as `make run` does, the roles' users, and a row in every registered collection."""
    settings.BOOTSTRAP_ADMIN_PASSWORD = "crawl-admin-pass"  # no credentials file in the tree
    call_command("bootstrap", stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed at exit
    users = _users()
    for model, _model_admin in registered_admins():
        if not model._default_manager.exists():
            CREATORS[model._meta.label]()
    return users


@pytest.fixture(params=["superuser", "organiser", "door staff", "anonymous"])
def role_client(request, crawl_data):
    """A browser-like client signed in as the role, and its user (None for anonymous)."""
    user = crawl_data[request.param]
    client = Client(raise_request_exception=False)  # a 500 is answered and logged, as live
    if user is not None:
        client.force_login(User.objects.get(pk=user.pk))  # fresh permission cache
    return client, user


@pytest.fixture
def tracebacks():
    """Every log record with a traceback (and every django.request error) during the test."""
    catcher = TracebackCatcher()
    root = logging.getLogger()
    root.addHandler(catcher)
    yield catcher.records
    root.removeHandler(catcher)
