"""The foundation works on the real stand-in server: migrations, ORM round-trip, admin, API root."""

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


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"username" in response.content


def test_admin_login_works_for_staff(client, staff_user):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff", "password": "staff-pass-123"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_api_root_requires_authentication(api_client):
    assert api_client.get("/api/").status_code == 401


def test_api_root_is_browsable(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/api/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Api Root" in response.content


def test_object_ids_render_as_strings():
    from config.renderers import ObjectIdJSONRenderer

    oid = ObjectId()
    assert ObjectIdJSONRenderer().render({"id": oid}) == f'{{"id":"{oid}"}}'.encode()


def test_liveness_touches_nothing(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_database_outage_is_a_clean_503(client, staff_user, mongo_server):
    """With MongoDB gone, a DB-backed page answers 503 in DRF's shape, not a 500."""
    from django.db import connection as conn

    from devtools.servers import SecantusServer

    client.force_login(staff_user)
    dead = SecantusServer().start()
    dead.kill()  # a port where MongoDB was and is no more
    settings_dict = conn.settings_dict
    original_host, original_options = settings_dict["HOST"], dict(settings_dict["OPTIONS"])
    conn.close_pool()
    try:
        settings_dict["HOST"] = dead.uri
        settings_dict["OPTIONS"].update(serverSelectionTimeoutMS=200, connectTimeoutMS=200)
        response = client.get("/admin/")
        assert response.status_code == 503
        assert response.json()["reason"] == "database_unavailable"
        assert response["Retry-After"]
    finally:
        conn.close_pool()
        settings_dict["HOST"] = original_host
        settings_dict["OPTIONS"].clear()
        settings_dict["OPTIONS"].update(original_options)
        dead.stop()
