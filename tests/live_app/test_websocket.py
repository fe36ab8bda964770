"""The WebSocket endpoints against a real ASGI server process, real Redis and MongoDB.

Check-ins go through the HTTP API in this (another) process; the ASGI server's hub hears of them
through Redis pub/sub, or, while Redis is killed or paused, by polling MongoDB.
"""

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.exceptions import InvalidStatus

from redis_fallback import is_redis_available
from tests.factories import participants_make, session_make
from tests.live_support import AsgiServer, LiveView

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# How long a test waits for something to arrive: generous, for a loaded 2-core machine. How fast
# it arrives is measured by the benchmark (python -m bench.websockets), not asserted here.
WAIT_SECONDS = 10


def _check_in(client, session, person) -> float:
    """Check ``person`` in through the API; return when the answer came (monotonic)."""
    response = client.post(
        f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )
    assert response.status_code == 201, response.content
    return time.monotonic()


def _delivered_after(view: LiveView, session, count: int, answered_at: float, *, timeout) -> float:
    view.wait_for(lambda v: v.count(session.pk) == count, timeout=timeout)
    return time.monotonic() - answered_at


def test_snapshot_then_each_check_in_as_it_happens(asgi_server, token_client, staff_token):
    session = session_make(capacity=4, title="Keynote")
    first, second = participants_make(2)
    view = LiveView.open(f"{asgi_server.url}/ws/sessions/{session.pk}/", token=staff_token)
    try:
        view.wait_for(
            lambda v: v.mode == "live" and str(session.pk) in v.sessions, timeout=WAIT_SECONDS
        )
        snap = view.sessions[str(session.pk)]
        assert snap == {
            "id": str(session.pk), "title": "Keynote", "location": session.location,
            "starts_at": session.starts_at.isoformat(), "status": "open", "capacity": 4,
            "check_in_count": 0, "fill_percent": 0.0, "version": snap["version"],
        }  # fmt: skip
        assert view.ws.subprotocol == "checkin"

        lag = _delivered_after(
            view, session, 1, _check_in(token_client, session, first), timeout=WAIT_SECONDS
        )
        lag2 = _delivered_after(
            view, session, 2, _check_in(token_client, session, second), timeout=WAIT_SECONDS
        )
        state = view.sessions[str(session.pk)]
        assert state["fill_percent"] == 50.0
        assert state["version"] == snap["version"] + 2  # one per change, bumped by the write
        view.assert_versions_never_decrease()
        print(f"live delivery after the API's answer: {lag:.3f} s, {lag2:.3f} s")
    finally:
        view.close()


def test_occupancy_follows_edits_and_signs_in_with_the_staff_cookie(
    asgi_server, staff_user, staff_client
):
    keynote = session_make(capacity=10, title="Keynote")
    draft = session_make(capacity=10, title="Draft", status="draft")
    browser = Client()
    browser.force_login(staff_user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    view = LiveView.open(
        f"{asgi_server.url}/ws/occupancy/",
        additional_headers={"Cookie": cookie, "Origin": "http://localhost:8000"},
    )
    try:
        view.wait_for(lambda v: str(keynote.pk) in v.sessions, timeout=WAIT_SECONDS)
        assert str(draft.pk) not in view.sessions  # open sessions only
        url = f"/api/sessions/{keynote.pk}/"
        assert staff_client.patch(url, {"capacity": 20}, format="json").status_code == 200
        view.wait_for(lambda v: v.sessions[str(keynote.pk)]["capacity"] == 20, timeout=WAIT_SECONDS)
        assert staff_client.patch(url, {"status": "closed"}, format="json").status_code == 200
        view.wait_for(lambda v: str(keynote.pk) not in v.sessions, timeout=WAIT_SECONDS)
        draft_url = f"/api/sessions/{draft.pk}/"
        assert staff_client.patch(draft_url, {"status": "open"}, format="json").status_code == 200
        view.wait_for(lambda v: str(draft.pk) in v.sessions, timeout=WAIT_SECONDS)
        view.assert_versions_never_decrease()
    finally:
        view.close()


def _breaker_closed(timeout: float = 5.0) -> None:
    """Wait until this (web) process's Redis breaker has closed again after an outage."""
    deadline = time.monotonic() + timeout
    while not is_redis_available():
        assert time.monotonic() < deadline, "this process's Redis breaker stayed open"
        time.sleep(0.05)


def test_redis_killed_polling_then_live_again(asgi_server, token_client, staff_token, redis_server):
    session = session_make(capacity=10)
    people = participants_make(3)
    view = LiveView.open(f"{asgi_server.url}/ws/occupancy/", token=staff_token)
    try:
        view.wait_for(
            lambda v: v.mode == "live" and str(session.pk) in v.sessions, timeout=WAIT_SECONDS
        )
        redis_server.kill()
        noticed = view.wait_for(lambda v: v.mode == "polling", timeout=WAIT_SECONDS)
        lag = _delivered_after(
            view, session, 1, _check_in(token_client, session, people[0]), timeout=WAIT_SECONDS
        )

        redis_server.start()
        view.wait_for(lambda v: v.mode == "live", timeout=WAIT_SECONDS)
        _breaker_closed()
        lag2 = _delivered_after(
            view, session, 2, _check_in(token_client, session, people[1]), timeout=WAIT_SECONDS
        )
        lag3 = _delivered_after(
            view, session, 3, _check_in(token_client, session, people[2]), timeout=WAIT_SECONDS
        )
        assert view.modes[-2:] == ["polling", "live"]
        view.assert_versions_never_decrease()  # nothing sent twice or out of order
        assert view.ws.protocol.state.name == "OPEN"  # the outage never disconnected the client
        print(f"killed: noticed in {noticed:.2f} s; polling lag {lag:.3f} s; "
              f"live again {lag2:.3f} s, {lag3:.3f} s")  # fmt: skip
    finally:
        view.close()


def test_redis_paused_is_noticed_by_the_unanswered_ping(
    asgi_server, token_client, staff_token, redis_server
):
    session = session_make(capacity=10)
    first, second = participants_make(2)
    view = LiveView.open(f"{asgi_server.url}/ws/sessions/{session.pk}/", token=staff_token)
    try:
        view.wait_for(lambda v: v.mode == "live", timeout=WAIT_SECONDS)
        redis_server.pause()
        noticed = view.wait_for(lambda v: v.mode == "polling", timeout=WAIT_SECONDS)
        lag = _delivered_after(
            view, session, 1, _check_in(token_client, session, first), timeout=WAIT_SECONDS
        )
        redis_server.resume()
        view.wait_for(lambda v: v.mode == "live", timeout=WAIT_SECONDS)
        _breaker_closed()
        lag2 = _delivered_after(
            view, session, 2, _check_in(token_client, session, second), timeout=WAIT_SECONDS
        )
        view.assert_versions_never_decrease()
        print(f"paused: noticed in {noticed:.2f} s; polling lag {lag:.3f} s; live {lag2:.3f} s")
    finally:
        view.close()


def test_refusals_have_close_codes_the_page_understands(asgi_server, db):
    session = session_make()
    anonymous = LiveView.open(f"{asgi_server.url}/ws/occupancy/")
    assert anonymous.close_code() == 4401
    assert LiveView.open(f"{asgi_server.url}/ws/occupancy/", token="0" * 40).close_code() == 4401

    nobody = get_user_model().objects.create_user(username="visitor", password="x-pass-123456")
    from rest_framework.authtoken.models import Token  # noqa: PLC0415 - only this test

    no_rights = Token.objects.create(user=nobody).key
    assert LiveView.open(f"{asgi_server.url}/ws/occupancy/", token=no_rights).close_code() == 4403
    staff = get_user_model().objects.create_user(username="s", password="x", is_staff=True)
    key = Token.objects.create(user=staff).key
    missing = "0" * 24
    assert (
        LiveView.open(f"{asgi_server.url}/ws/sessions/{missing}/", token=key).close_code() == 4404
    )
    view = LiveView.open(f"{asgi_server.url}/ws/sessions/{session.pk}/", token=key)
    try:  # the same account on a session that exists: admitted, so 4404 was about the id
        view.wait_for(lambda v: str(session.pk) in v.sessions, timeout=WAIT_SECONDS)
    finally:
        view.close()


def test_a_page_from_another_site_is_refused_at_the_handshake(asgi_server, staff_token):
    with pytest.raises(InvalidStatus) as refused:
        LiveView.open(
            f"{asgi_server.url}/ws/occupancy/",
            token=staff_token,
            additional_headers={"Origin": "https://evil.example"},
        )
    assert refused.value.response.status_code == 403


@pytest.fixture
def asgi_server_without_full_sync():
    """An ASGI server whose full read never comes: only the backstop poll can catch a change up."""
    server = AsgiServer(LIVE_FULL_SYNC_SECONDS="3600").start()
    yield server
    server.stop()


def test_a_notification_never_sent_is_caught_up_by_the_backstop_poll(
    asgi_server_without_full_sync, token_client, staff_token, settings
):
    session = session_make(capacity=10)
    warm_up, person = participants_make(2)
    url = f"{asgi_server_without_full_sync.url}/ws/sessions/{session.pk}/"
    view = LiveView.open(url, token=staff_token)
    try:
        view.wait_for(
            lambda v: v.mode == "live" and str(session.pk) in v.sessions, timeout=WAIT_SECONDS
        )
        _delivered_after(
            view, session, 1, _check_in(token_client, session, warm_up), timeout=WAIT_SECONDS
        )
        # The hub's start-up reads (a full read and a first poll) are over well before this; a
        # change after it can only be caught by the backstop poll (the next full read is in an
        # hour). Sleeping can only let the test pass less by chance, never fail by chance.
        time.sleep(1.0)
        # This web process publishes where no hub listens: the notification is lost, as when a
        # web process's breaker is open while the hub's subscription is fine.
        settings.LIVE_REDIS_CHANNEL = "checkin:nobody-listens"
        answered = _check_in(token_client, session, person)
        lag = _delivered_after(view, session, 2, answered, timeout=WAIT_SECONDS)
        assert view.mode == "live"
        print(f"caught up without a notification after {lag:.3f} s")
    finally:
        view.close()


def test_ping_is_answered_pong_and_other_messages_are_ignored(asgi_server, staff_token):
    view = LiveView.open(f"{asgi_server.url}/ws/occupancy/", token=staff_token)
    try:
        view.wait_for(lambda v: v.mode is not None, timeout=WAIT_SECONDS)
        view.ws.send('{"type": "hello"}')
        view.ws.send("not json at all")
        view.ws.send('{"type": "ping"}')
        view.wait_for(lambda v: {"type": "pong"} in v.messages, timeout=WAIT_SECONDS)
        assert [m for m in view.messages if m["type"] == "pong"] == [{"type": "pong"}]
        assert view.ws.protocol.state.name == "OPEN"  # the junk before did not close it
    finally:
        view.close()


def test_an_api_token_in_the_authorization_header_signs_in(asgi_server, staff_token):
    session = session_make()
    view = LiveView.open(
        f"{asgi_server.url}/ws/sessions/{session.pk}/",
        additional_headers={"Authorization": f"Token {staff_token}"},
    )
    try:
        view.wait_for(lambda v: str(session.pk) in v.sessions, timeout=WAIT_SECONDS)
    finally:
        view.close()
    refused = LiveView.open(
        f"{asgi_server.url}/ws/sessions/{session.pk}/",
        additional_headers={"Authorization": f"Token {'0' * 40}"},
    )
    assert refused.close_code(timeout=WAIT_SECONDS) == 4401


def test_a_session_closed_or_deleted_is_removed_from_the_occupancy_view(
    asgi_server, staff_token, staff_client
):
    closing, deleted = session_make(title="Closing"), session_make(title="Deleted")
    view = LiveView.open(f"{asgi_server.url}/ws/occupancy/", token=staff_token)
    try:
        both = {str(closing.pk), str(deleted.pk)}
        view.wait_for(lambda v: both <= set(v.sessions), timeout=WAIT_SECONDS)
        url = f"/api/sessions/{closing.pk}/"
        assert staff_client.patch(url, {"status": "closed"}, format="json").status_code == 200
        removed = {"type": "removed", "id": str(closing.pk)}
        view.wait_for(lambda v: removed in v.messages, timeout=WAIT_SECONDS)
        assert staff_client.delete(f"/api/sessions/{deleted.pk}/").status_code == 204
        removed = {"type": "removed", "id": str(deleted.pk)}
        view.wait_for(lambda v: removed in v.messages, timeout=WAIT_SECONDS)
        assert not both & set(view.sessions)
    finally:
        view.close()
