"""Cached detail and stats: fresh after every write, and a cache failure never fails a request."""

import pytest
from django.core.cache import cache

from core.caching import STATS_KEY
from redis_fallback import get_redis
from sessions_app.caching import session_detail_key
from sessions_app.services import session_check_in, session_check_out
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


def test_detail_is_cached_and_invalidated_by_check_in_and_out(staff_client):
    session, person = session_make(), participant_make()
    url = f"/api/sessions/{session.pk}/"
    assert staff_client.get(url).json()["check_in_count"] == 0
    assert cache.get(session_detail_key(session.pk))["check_in_count"] == 0
    session_check_in(session_id=session.pk, participant_id=person.pk)
    assert staff_client.get(url).json()["check_in_count"] == 1
    session_check_out(session_id=session.pk, participant_id=person.pk)
    assert staff_client.get(url).json()["check_in_count"] == 0


def test_stats_are_cached_and_invalidated_by_writes(staff_client):
    session, person = session_make(), participant_make()
    assert staff_client.get("/api/sessions/stats/").json()["checked_in_now"] == 0
    assert cache.get(STATS_KEY) is not None
    session_check_in(session_id=session.pk, participant_id=person.pk)
    assert staff_client.get("/api/sessions/stats/").json()["checked_in_now"] == 1
    staff_client.patch(f"/api/sessions/{session.pk}/", {"status": "closed"}, format="json")
    assert staff_client.get("/api/sessions/stats/").json()["sessions"]["by_status"]["closed"] == 1


def test_participant_detail_is_invalidated_by_edits(staff_client):
    person = participant_make(full_name="Old Name")
    url = f"/api/participants/{person.pk}/"
    assert staff_client.get(url).json()["full_name"] == "Old Name"
    staff_client.patch(url, {"full_name": "New Name"}, format="json")
    assert staff_client.get(url).json()["full_name"] == "New Name"


def test_a_broken_cache_entry_does_not_fail_the_request(staff_client):
    """A real Redis error (WRONGTYPE under the cache key) is a miss, not a 500."""
    session = session_make()
    key = cache.make_key(session_detail_key(session.pk))
    get_redis().sadd(key, "not-a-pickled-value")
    get_redis().sadd(cache.make_key(STATS_KEY), "x")
    response = staff_client.get(f"/api/sessions/{session.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(session.pk)
    assert staff_client.get("/api/sessions/stats/").status_code == 200
    person = participant_make()
    verdict = session_check_in(session_id=session.pk, participant_id=person.pk)
    assert verdict.reason == "checked_in"
    # The check-in's invalidation removed the broken entry: the next read caches a fresh one.
    assert get_redis().scard(key) == 0  # the set written above is gone
    assert staff_client.get(f"/api/sessions/{session.pk}/").json()["check_in_count"] == 1
    assert cache.get(session_detail_key(session.pk))["check_in_count"] == 1


def test_reads_and_writes_work_with_redis_killed(staff_client, redis_server):
    session, person = session_make(), participant_make()
    redis_server.kill()
    assert staff_client.get(f"/api/sessions/{session.pk}/").status_code == 200
    assert staff_client.get("/api/sessions/stats/").status_code == 200
    response = staff_client.post(
        f"/api/sessions/{session.pk}/check-in/", {"participant": str(person.pk)}, format="json"
    )
    assert response.status_code == 201
    assert staff_client.get(f"/api/sessions/{session.pk}/").json()["check_in_count"] == 1
