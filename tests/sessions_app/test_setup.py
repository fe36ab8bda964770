"""Migrations, the Door staff group, the model guard on the counter, schema, and demo data."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command

from sessions_app.groups import DOOR_STAFF_GROUP
from sessions_app.models import CheckIn, Session
from tests.factories import participants_make, session_make

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


def test_a_full_save_never_overwrites_the_counter():
    from sessions_app.services import session_check_in

    session = session_make()
    stale = Session.objects.get(pk=session.pk)
    session_check_in(session_id=session.pk, participant_id=participants_make(1)[0].pk)
    stale.title = "Edited with a stale copy"
    stale.check_in_count = 0
    stale.save()
    fresh = Session.objects.get(pk=session.pk)
    assert (fresh.title, fresh.check_in_count) == ("Edited with a stale copy", 1)


def test_fill_percent():
    assert Session(capacity=4, check_in_count=3).fill_percent == 75.0
    assert Session(capacity=0, check_in_count=0).fill_percent == 0.0


def test_unique_per_session_and_participant_in_the_database():
    from django.db import IntegrityError

    session, (person,) = session_make(), participants_make(1)
    CheckIn.objects.create(session=session, participant=person)
    with pytest.raises(IntegrityError):
        CheckIn.objects.create(session=session, participant=person)


def test_openapi_schema_validates_and_documents_every_verdict(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for reason in (
        "checked_in",
        "already_checked_in",
        "session_full",
        "session_not_open",
        "checked_out",
        "not_checked_in",
        "session_not_found",
        "participant_not_found",
        "ticket_not_found",
    ):
        assert reason in text
    assert "/api/sessions/{id}/check-in/" in text and "/api/sessions/stats/" in text


def test_swagger_ui_and_schema_are_served(staff_client):
    assert staff_client.get("/api/schema/").status_code == 200
    assert staff_client.get("/api/docs/").status_code == 200


@pytest.fixture
def no_credentials_file(settings):
    """Give bootstrap a password, so it writes no var/admin-credentials.txt into the tree."""
    settings.BOOTSTRAP_ADMIN_PASSWORD = "bootstrap-test-pass"


@pytest.mark.usefixtures("no_credentials_file")
def test_bootstrap_creates_demo_data_once(capsys):
    call_command("bootstrap")
    first = capsys.readouterr().out
    assert "Demo data: 3 sessions" in first and f"Group '{DOOR_STAFF_GROUP}'" in first
    workshop = Session.objects.get(title__startswith="Hands-on")
    assert (workshop.check_in_count, workshop.capacity) == (3, 3)
    assert CheckIn.objects.count() == 8
    call_command("bootstrap")
    assert "nothing created" in capsys.readouterr().out
    assert Session.objects.count() == 3 and CheckIn.objects.count() == 8


@pytest.mark.usefixtures("no_credentials_file")
def test_bootstrap_no_demo_skips_demo_data():
    call_command("bootstrap", "--no-demo")
    assert not Session.objects.exists()
    assert Group.objects.filter(name=DOOR_STAFF_GROUP).exists()
