"""Fixtures for the config tests: a MongoDB server of the test's own, to pause or kill."""

import pytest
from django.db import connection

from devtools.servers import SecantusServer


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
