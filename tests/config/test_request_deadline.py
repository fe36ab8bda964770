"""A request gives up on a hung or dead MongoDB within its deadline and answers 503 (real server)."""

import time

import pytest
from django.db import connection

from devtools.servers import SecantusServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_mongo(settings):
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


def _timed_get(client, path):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_paused_mongodb_answers_503_within_the_request_deadline(staff_client, own_mongo, settings):
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.5
    response, _ = _timed_get(staff_client, "/api/sessions/")
    assert response.status_code == 200  # the server works; its database is simply empty

    own_mongo.pause()
    try:
        response, seconds = _timed_get(staff_client, "/api/sessions/")
    finally:
        own_mongo.resume()
    assert response.status_code == 503
    assert response.json()["reason"] == "database_unavailable"
    assert response["Retry-After"]
    assert 1.4 < seconds < 2.5  # the deadline, not the client's 10 s socket timeout

    response, _ = _timed_get(staff_client, "/api/sessions/")  # recovered, nothing restarted
    assert response.status_code == 200


def test_killed_mongodb_answers_503_within_the_request_deadline(staff_client, own_mongo, settings):
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.5
    own_mongo.kill()
    response, seconds = _timed_get(staff_client, "/api/sessions/")
    assert (response.status_code, response.json()["reason"]) == (503, "database_unavailable")
    assert seconds < 2.5  # was 3 s (server selection) before the deadline

    own_mongo.start()  # same port, as a restarted server would be
    ok = None
    for _ in range(30):
        ok = staff_client.get("/api/sessions/")
        if ok.status_code == 200:
            break
        time.sleep(0.2)
    assert ok.status_code == 200


def test_without_the_deadline_a_paused_mongodb_holds_the_request_longer(
    staff_client, own_mongo, settings
):
    """The control: the deadline is what makes the difference (client timeouts: 3 s)."""
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 0
    options = connection.settings_dict["OPTIONS"]
    original = options["socketTimeoutMS"]
    connection.close_pool()
    options["socketTimeoutMS"] = 3000
    try:
        staff_client.get("/api/sessions/")
        own_mongo.pause()
        try:
            response, seconds = _timed_get(staff_client, "/api/sessions/")
        finally:
            own_mongo.resume()
    finally:
        options["socketTimeoutMS"] = original
        connection.close_pool()
    assert response.status_code == 503
    assert seconds > 2.9
