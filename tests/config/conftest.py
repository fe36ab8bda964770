"""Fixtures for the config tests: a MongoDB server of the test's own, to pause or kill."""

import pytest
from django.db import connection

from devtools.servers import SecantusServer
from health_app import selectors as health_selectors


@pytest.fixture(autouse=True)
def _probe_threads_follow_the_client():
    """Give /health fresh probe threads after a test that closed the process's MongoClient.

    django-mongodb-backend shares one MongoClient per process; ``close_pool()`` (own_mongo and
    the outage tests here) closes it, but every other thread's connection keeps the closed one.
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
