"""Overload is not an outage: a MongoDB that answers, slowly, gets "busy", never fail-fast.

Real processes: the app's own SecantusDB (``own_mongo``) paused and resumed, failpoints in the
check-in path, and the live server's threads for admission control.
"""

import threading
import time

import httpx
import pytest
from pymongo import monitoring
from rest_framework.authtoken.models import Token

from core.failpoints import armed
from core.middleware import fail_fast
from tests.factories import participant_make, participants_make, session_make

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


class _ResumeWhenACommandTimesOut(monitoring.CommandListener):
    """Resume the paused server the moment one of the app's commands gives up on it.

    The command ran out of its deadline on a MongoDB that then answers at once: as slow as a
    saturated machine makes it, but not gone.
    """

    def __init__(self, server):
        self.server = server
        self.active = False
        self.timed_out = 0

    def started(self, event):
        pass

    def succeeded(self, event):
        pass

    def failed(self, event):
        if self.active and "timed out" in str(event.failure).lower() + repr(event.failure):
            self.timed_out += 1
            self.server.resume()


def _pymongo_listener(listener):
    monitoring.register(listener)  # pymongo has no unregister: the listener is switched off after


def test_a_mongodb_that_answers_after_the_deadline_gets_busy_not_fail_fast(
    staff_client, own_mongo, settings
):
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.0
    settings.MONGODB_FAIL_FAST_SECONDS = 30  # if it opened, the next request would be a 503
    listener = _ResumeWhenACommandTimesOut(own_mongo)
    _pymongo_listener(listener)  # before the first request: own_mongo's client is made by it
    try:
        assert staff_client.get("/api/sessions/").status_code == 200  # pooled connection ready
        own_mongo.pause()
        listener.active = True
        response = staff_client.get("/api/sessions/")
    finally:
        listener.active = False
        own_mongo.resume()
    assert listener.timed_out >= 1, "no command timed out: the test did not stall MongoDB"
    assert response.status_code == 503
    assert response.json()["reason"] == "busy"
    assert int(response["Retry-After"]) >= 1
    assert not fail_fast.needs_probe()
    assert staff_client.get("/api/sessions/").status_code == 200  # served, not failed fast


def test_a_request_held_past_its_deadline_while_mongodb_answers_gets_busy(staff_client, settings):
    """The request's own clock ran out (pymongo then sends nothing): MongoDB answers a ping."""
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 0.5
    settings.MONGODB_FAIL_FAST_SECONDS = 30
    session, person = session_make(), participant_make()
    with armed("check_in.after_claim", lambda name: time.sleep(0.7)):
        response = staff_client.post(
            f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)}, format="json"
        )
    assert (response.status_code, response.json()["reason"]) == (503, "busy")
    assert response["Retry-After"]
    assert not fail_fast.needs_probe()
    assert staff_client.get(f"/api/sessions/{session.pk}/").status_code == 200


def test_a_timeout_on_a_mongodb_that_does_not_answer_still_opens_fail_fast(
    staff_client, own_mongo, settings
):
    """The control of the two above: the ping does not answer, so it is an outage."""
    settings.MONGODB_REQUEST_TIMEOUT_SECONDS = 1.0
    settings.MONGODB_FAIL_FAST_SECONDS = 30
    assert staff_client.get("/api/sessions/").status_code == 200
    own_mongo.pause()
    try:
        first = staff_client.get("/api/sessions/")
        second = staff_client.get("/api/sessions/")
    finally:
        own_mongo.resume()
    assert (first.status_code, first.json()["reason"]) == (503, "database_unavailable")
    assert (second.status_code, second.json()["reason"]) == (503, "database_unavailable")
    assert fail_fast.is_open()


def test_writes_beyond_the_concurrency_limit_are_answered_busy_at_once(
    live_server, staff_user, settings
):
    """One slot per process: while one check-in holds it, the others get "busy" (no 500)."""
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_ADMISSION_WAIT_SECONDS = 0.05
    session = session_make(capacity=50)
    first, *others = participants_make(4)
    headers = {"Authorization": f"Token {Token.objects.create(user=staff_user).key}"}
    url = f"{live_server.url}/api/sessions/{session.pk}/check-in/"
    entered, release = threading.Event(), threading.Event()

    def hold_the_first(name):
        if not entered.is_set():
            entered.set()
            release.wait(30)

    held: list[httpx.Response] = []

    def post_first():
        held.append(
            httpx.post(url, json={"participant": str(first.pk)}, headers=headers, timeout=60)
        )

    with armed("check_in.after_claim", hold_the_first):
        holder = threading.Thread(target=post_first)
        holder.start()
        try:
            assert entered.wait(30), "the first check-in never reached its failpoint"
            excess = [
                httpx.post(url, json={"participant": str(p.pk)}, headers=headers, timeout=60)
                for p in others
            ]
        finally:
            release.set()
            holder.join(60)
    assert [(r.status_code, r.json()["reason"]) for r in excess] == [(503, "busy")] * 3
    assert all(r.headers["Retry-After"] for r in excess)
    assert (held[0].status_code, held[0].json()["reason"]) == (201, "checked_in")
    again = httpx.post(url, json={"participant": str(others[0].pk)}, headers=headers, timeout=60)
    assert (again.status_code, again.json()["reason"]) == (201, "checked_in")  # the slot is free
