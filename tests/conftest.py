"""Shared fixtures: users, API clients, and a Redis process a test may break."""

import contextlib
from collections import Counter

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.management.commands import flush as flush_command
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.middleware import fail_fast
from core.process_cache import process_cache_clear
from devtools.servers import SecantusServer
from health_app import selectors as health_selectors
from redis_fallback.testing import reset_for_tests
from sessions_app.admission import admission_missed_take
from sessions_app.groups import DOOR_STAFF_GROUP, door_staff_group_ensure
from tests.celery_support import celery_worker_factory, worker_env  # noqa: F401 - fixtures
from tests.mongo_commands import commands  # noqa: F401 - a fixture

# Between tests pytest-django flushes every collection and Django then re-creates every content
# type and permission through post_migrate: 0.5 s of each test's 0.7 s teardown on the stand-in
# (cProfile: create_permissions over 11 apps). Content types and permissions are schema-like rows
# that migrations made and no test changes, so they are kept across flushes and post_migrate is
# not re-run; everything else is still flushed.
KEPT_ACROSS_FLUSHES = {"django_content_type", "auth_permission"}


def _sql_flush_keeping(style, connection, reset_sequences=True, allow_cascade=False):
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    kept = [table for table in tables if table not in KEPT_ACROSS_FLUSHES]
    return connection.ops.sql_flush(
        style, kept, reset_sequences=reset_sequences, allow_cascade=allow_cascade
    )


flush_command.sql_flush = _sql_flush_keeping
flush_command.emit_post_migrate_signal = lambda *args, **kwargs: None


# `--dist loadfile` hands the files to the xdist workers in the collected order (pyproject.toml
# sets --no-loadscope-reorder: xdist's own order, most tests first, left the one-test files, the
# chaos short form, `make run` and the schema fuzzing among them, to the end of the run, on one
# worker while the others had nothing left). The slowest files go first, slowest first (the
# longest-first rule: what is left at the end are short files, spread over every worker); then
# the rest, most tests first, as xdist would. Seconds of one worker per file, from --junitxml of
# the slow, browser, chaos, compose and fuzz tests (-n 2, 2026-12-07, load 5-16: only the order
# matters). A renamed or new slow file just falls in with the rest.
SLOWEST_FILES_SECONDS = {
    "tests/chaos/test_chaos_short.py": 219,
    "tests/admin_crawl/test_admin_crawl.py": 183,
    "tests/jobs_app/test_worker_resilience.py": 149,
    "tests/deploy/test_compose_contract.py": 129,
    "tests/browser/test_door_offline.py": 67,
    "tests/redis_fallback/test_sentinel_failover.py": 61,
    "tests/devtools/test_make_run.py": 51,
    "tests/participants_app/test_import_limits.py": 40,
    "tests/browser/test_import_page.py": 36,
    "tests/config/test_api_schema_run.py": 36,
    "tests/core/test_csv_export_formulas.py": 34,
    "tests/config/test_request_deadline.py": 31,
    "tests/browser/test_doors_view.py": 26,
    "tests/health_app/test_worker_health.py": 25,
    "tests/live_app/test_ws_revocation.py": 23,
    "tests/sessions_app/api/test_reconcile_now.py": 22,
    "tests/participants_app/test_import_worker.py": 22,
    "tests/live_app/test_doors_reads.py": 21,
    "tests/browser/test_door_undo.py": 21,
    "tests/redis_fallback/test_celery_outage_log.py": 21,
    "tests/config/test_startup.py": 21,
    "tests/browser/test_door_scanning.py": 21,
    "tests/sessions_app/services/test_admission_random_interleavings.py": 20,
    "tests/metrics_app/test_multiprocess.py": 19,
    "tests/config/test_proxy_header.py": 18,
    "tests/live_app/test_websocket.py": 18,
    "tests/jobs_app/test_sentinel_ack.py": 17,
    "tests/browser/test_journeys.py": 16,
    "tests/browser/test_board.py": 16,
    "tests/admin_crawl/test_site_crawl.py": 16,
    "tests/live_app/test_doors_websocket.py": 15,
    "tests/browser/test_board_times.py": 14,
}


def _file_of(item) -> str:
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The slowest files first, then the most tests first; a file's tests stay together, in order."""
    tests_in = Counter(_file_of(item) for item in items)
    first_seen = {}
    for index, item in enumerate(items):
        first_seen.setdefault(_file_of(item), index)

    def rank(item):
        path = _file_of(item)
        return (-SLOWEST_FILES_SECONDS.get(path, 0), -tests_in[path], first_seen[path])

    items.sort(key=rank)


@pytest.fixture
def redis_server(redis_server_process):
    """Give a test the real redis-server; whatever the test did to it is undone afterwards."""
    yield redis_server_process
    if not redis_server_process.running:
        redis_server_process.start()
    else:
        redis_server_process.resume()
    # The outage the test caused must not leave this process's breaker open for the next test.

    reset_for_tests()


@pytest.fixture(autouse=True)
def _no_process_copies():
    """Each test starts with no per-process copies of tokens, sessions or participants, and no
    sessions noted for a rebuild of their Redis set (decisions Redis missed in an earlier test)."""
    process_cache_clear()
    admission_missed_take()


@pytest.fixture(autouse=True)
def _mongodb_fail_fast_closed():
    """A MongoDB failure a test caused must not answer the next test's requests 503."""

    fail_fast.reset()
    yield
    fail_fast.reset()


# The model permissions an event organiser is given in the admin (the API follows them).
STAFF_APPS = ("sessions_app", "participants_app")


@pytest.fixture
def staff_user(django_user_model):
    """A staff user holding every permission on sessions, participants, check-ins and scans."""

    door_staff_group_ensure()  # the custom check_in permission is made by a migration
    user = django_user_model.objects.create_user(
        username="staff", password="staff-pass-123", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=STAFF_APPS))
    return django_user_model.objects.get(pk=user.pk)  # no stale permission cache


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.fixture
def clean_redis_layer(redis_server):
    """Close the breaker and empty Redis (cache and admission sets) before and after a test.

    The app conftests that need it for every test use it from an autouse fixture of their own.
    """
    reset_for_tests()
    with contextlib.suppress(Exception):  # a failing clear must not fail the test set-up
        cache.clear()
    yield
    reset_for_tests()


@pytest.fixture
def door_staff_user(django_user_model, db):
    """A non-staff user in the "Door staff" group (the group the migration creates)."""

    door_staff_group_ensure()  # collections are flushed between tests: recreate it
    user = django_user_model.objects.create_user(username="door", password="door-pass-123")
    user.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    return user


@pytest.fixture
def door_app_user(django_user_model, db):
    """A user with a password and no role or group: the sign-in (lockout) tests' "door"."""
    return django_user_model.objects.create_user(username="door", password="door-pass-123")


@pytest.fixture
def door_client(door_staff_user):
    client = APIClient()
    client.force_authenticate(door_staff_user)
    return client


@pytest.fixture
def plain_client(django_user_model, db):
    """An authenticated user with no staff status and no permissions."""
    user = django_user_model.objects.create_user(username="plain", password="plain-pass-123")
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_token(staff_user) -> str:
    return Token.objects.create(user=staff_user).key


@pytest.fixture
def token_client(staff_token) -> APIClient:
    """A staff user's client with a real API token (``client.token``): the whole auth stack runs."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    client.token = Token.objects.get(key=staff_token)
    return client


@pytest.fixture
def own_mongo():
    """Point the app's MongoDB connection at a server of this test's own, which it may break."""
    server = SecantusServer().start()
    settings_dict = connection.settings_dict
    original = settings_dict["HOST"]
    connection.close_pool()
    settings_dict["HOST"] = server.uri
    try:
        yield server
    finally:
        server.resume()
        connection.close_pool()
        settings_dict["HOST"] = original
        server.kill()
        server.stop()


@pytest.fixture(autouse=True)
def _probe_threads_follow_the_client():
    """Give /health fresh probe threads after a test that closed the process's MongoClient.

    django-mongodb-backend shares one MongoClient per process; ``close_pool()`` (own_mongo and
    the MongoDB outage tests) closes it, but every other thread's connection keeps the closed one.
    The health probe pool's threads would then fail every MongoDB read for the rest of the run
    (seen: a later /health reported the reconcile as never run), if an earlier test (the admin's
    health page, the browser tests) had started them.
    """
    before = connection._connection_pools.get(connection.alias)
    yield
    if connection._connection_pools.get(connection.alias) is not before:
        pool = health_selectors._pool
        health_selectors._pool = None
        if pool is not None:
            pool[1].shutdown(wait=False)
