"""A request gives up on a hung or dead MongoDB within its deadline and answers 503 (real server)."""

import time

import pytest
from django.db import connection
from pymongo import monitoring

from core.middleware import PROBE_SECONDS, fail_fast

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _timed_get(client, path):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_paused_mongodb_answers_503_within_the_request_deadline(staff_client, own_mongo, settings):
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.5
    settings.MONGODB_FAIL_FAST_SECONDS = 0  # this test is about the deadline alone
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
    # The deadline (1.5 s), not the client's 10 s socket timeout: a lower bound, and an upper one
    # far from the failure.
    assert 1.4 < seconds < 5.0

    response, _ = _timed_get(staff_client, "/api/sessions/")  # recovered, nothing restarted
    assert response.status_code == 200


def test_killed_mongodb_answers_503_within_the_request_deadline(staff_client, own_mongo, settings):
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.5
    settings.MONGODB_FAIL_FAST_SECONDS = 0
    options = connection.settings_dict["OPTIONS"]
    original = options["serverSelectionTimeoutMS"]
    connection.close_pool()
    options["serverSelectionTimeoutMS"] = 10000  # without the deadline: 10 s of server selection
    try:
        own_mongo.kill()
        response, seconds = _timed_get(staff_client, "/api/sessions/")
    finally:
        options["serverSelectionTimeoutMS"] = original
        connection.close_pool()
    assert (response.status_code, response.json()["reason"]) == (503, "database_unavailable")
    assert seconds < 5.0  # the 1.5 s deadline, far from the 10 s it would otherwise take

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
    """The control: the deadline is what makes the difference (client socket timeout: 6 s)."""
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 0
    settings.MONGODB_FAIL_FAST_SECONDS = 0
    options = connection.settings_dict["OPTIONS"]
    original = options["socketTimeoutMS"]
    connection.close_pool()
    options["socketTimeoutMS"] = 6000
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
    assert seconds > 5.0  # held past every bound the tests above allow


def test_after_a_failure_requests_fail_fast_for_a_moment_then_ping_first(
    staff_client, client, own_mongo, settings
):
    """Requests arriving while MongoDB hangs do not each hold a web worker for the deadline."""

    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.5
    settings.MONGODB_FAIL_FAST_SECONDS = 1.0
    own_mongo.pause()
    try:
        first, slow = _timed_get(staff_client, "/api/sessions/")
        # From here a request that waited would wait 5 s: the bounds below stay far from that.
        settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 5.0
        second, fast = _timed_get(staff_client, "/api/sessions/")
        health = client.get("/health/live")  # health endpoints are never failed fast
        time.sleep(1.0)  # the moment is over: the next request pings first, briefly
        third, probed = _timed_get(staff_client, "/api/sessions/")
    finally:
        own_mongo.resume()
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 503)
    assert second.json()["reason"] == "database_unavailable"
    assert slow > 1.4  # the first waited out its deadline
    assert fast < 2.5  # failed fast, not held for the 5 s deadline
    assert PROBE_SECONDS - 0.1 < probed < 2.5  # the ping's wait, not the 5 s deadline
    assert health.status_code == 200
    time.sleep(1.0)  # MongoDB answers the next ping again: the request goes on
    assert staff_client.get("/api/sessions/").status_code == 200


class _Pings(monitoring.CommandListener):
    def __init__(self):
        self.max_time_ms: list[int | None] = []

    def started(self, event):
        if event.command_name == "ping":
            self.max_time_ms.append(event.command.get("maxTimeMS"))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_the_probe_after_a_failure_counts_against_the_requests_own_deadline(staff_client, settings):
    """A probe MongoDB answers slowly must not add to the request's deadline.

    The probe ran before the request's deadline began: a probe answered after ~0.5 s left the
    view its whole deadline on top. Now the probe runs inside the deadline, so
    with a deadline shorter than the probe's own 0.5 s, pymongo sends the ping with at most that
    deadline (``maxTimeMS``).
    """
    pings = _Pings()
    monitoring.register(pings)  # applies to clients created from now on
    connection.close_pool()
    try:
        settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 0.45
        fail_fast.trip()
        fail_fast._open_until = time.monotonic()  # the moment is over: the next request probes
        response = staff_client.get("/api/sessions/")
    finally:
        fail_fast.reset()
        connection.close_pool()
    assert pings.max_time_ms, "the request did not probe MongoDB"
    assert all(ms is not None and ms <= 450 for ms in pings.max_time_ms), pings.max_time_ms
    assert response.status_code == 200


def test_a_scan_log_write_that_finds_mongodb_gone_opens_fail_fast(own_mongo, settings):
    """The scan log's writes swallow their errors (the verdict stands), but not the news.

    Chaos, seed 37: requests that reached their verdict before MongoDB was killed spent their whole
    deadline on the scan log without opening fail-fast, so the next ones did too, and the health
    checks queued behind them never reported the outage.
    """
    import pymongo  # noqa: PLC0415 - only this test sets its own deadline
    from bson import ObjectId  # noqa: PLC0415

    from sessions_app.models import Session  # noqa: PLC0415
    from sessions_app.services.scans import Attempt, scan_record  # noqa: PLC0415

    settings.MONGODB_FAIL_FAST_SECONDS = 30
    attempt = Attempt(session=Session(pk=ObjectId(), title="Hall A"), direction="in", source="api")
    own_mongo.kill()
    assert not fail_fast.needs_probe()
    with pymongo.timeout(1.0):
        scan_record(attempt=attempt, participant=None, reason="unknown_ticket")  # does not raise
    assert fail_fast.is_open()
