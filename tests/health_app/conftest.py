"""Fixtures for the health tests: a clean Redis breaker, spare MongoDB servers to break."""

import pytest

from devtools.servers import SecantusServer
from jobs_app import liveness
from sessions_app.services.reconcile import counters_reconcile


@pytest.fixture(autouse=True)
def _each_test_on_a_clean_redis_layer(clean_redis_layer):
    """Start every test with a closed breaker, whatever earlier tests did to it.

    ``clean_redis_layer`` (tests/conftest.py) restarts or resumes Redis and resets the breaker
    again afterwards.
    """


@pytest.fixture(autouse=True)
def reconcile_is_fresh(request, monkeypatch):
    """Record a real reconcile run and a real worker heartbeat: these tests are about MongoDB and
    Redis, not Celery, and /health reads both records.

    The records are written by the code beat's task and the worker run (``counters_reconcile``,
    ``worker_heartbeat_record``), so /health reads what production writes; every test gets the
    database for it (a reconcile that never ran would turn stale after two intervals of process
    age, mid-suite). Tests that check freshness themselves use the marker
    ``real_reconcile_freshness``.
    """
    if request.node.get_closest_marker("real_reconcile_freshness"):
        return
    request.getfixturevalue("db")
    assert not counters_reconcile().failed
    monkeypatch.setattr(liveness, "_last_heartbeat", 0.0)  # the per-process throttle
    liveness.worker_heartbeat_record()


@pytest.fixture(scope="session")
def _spare_mongo_process():
    server = SecantusServer().start()
    yield server
    server.kill()  # no graceful shutdown needed for a throwaway server (it takes about 2 s)
    server.stop()


@pytest.fixture
def spare_mongo(_spare_mongo_process, settings):
    """A MongoDB-compatible server of the test's own, which /health pings instead of the shared one.

    The session's server stays untouched (other tests need it); a pause or kill is undone afterwards.
    """
    settings.HEALTH_MONGODB_URI = _spare_mongo_process.uri
    yield _spare_mongo_process
    _spare_mongo_process.resume()
    if not _spare_mongo_process.running:
        _spare_mongo_process.start()


@pytest.fixture(scope="session")
def dead_mongo_uri():
    """The address of a MongoDB-compatible server that was started and then killed."""
    server = SecantusServer().start()
    server.kill()
    yield server.uri
    server.stop()


@pytest.fixture
def mongo_down(dead_mongo_uri, settings):
    """Point the health checks at the killed server."""
    settings.HEALTH_MONGODB_URI = dead_mongo_uri
    return dead_mongo_uri


@pytest.fixture
def staff_web_client(client, staff_user):
    """A browser signed in as staff: the only caller that sees (masked) error texts in health."""
    client.force_login(staff_user)
    return client
