"""The scrape under real failures: Redis killed or paused (SIGSTOP), MongoDB killed. It always
answers, within a bound, with what it could read; the breaker's state and the time in fallback
follow Redis."""

import time

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from redis_fallback import is_redis_available
from tests.factories import participants_make, session_make

from .conftest import value_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # servers killed and paused

# The scrape's own budget is METRICS_SCRAPE_TIMEOUT_SECONDS (0.5 s); a hung source without it
# would hold the scrape for the broker client's 1 s timeout per attempt or MongoDB's 3-10 s.
SCRAPE_BOUND_SECONDS = 3.0


def _timed(scraper):
    started = time.monotonic()
    samples = scraper()
    return samples, time.monotonic() - started


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_redis_killed_opens_the_breaker_and_the_scrape_still_answers(
    redis_server, scraper, staff_user
):
    door = APIClient()
    door.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    session = session_make(capacity=5)
    (person,) = participants_make(1)
    assert value_of(scraper(), "checkin_redis_breaker_state", state="closed") == 1

    redis_server.kill()
    url = f"/api/sessions/{session.pk}/check-in/"
    assert door.post(url, {"participant": str(person.pk)}, format="json").status_code == 201
    samples, took = _timed(scraper)

    assert took < SCRAPE_BOUND_SECONDS
    assert value_of(samples, "checkin_redis_breaker_state", state="open") == 1
    assert value_of(samples, "checkin_redis_breaker_state", state="closed") == 0
    assert value_of(samples, "checkin_scrape_errors", source="broker") == 1
    assert ("checkin_broker_queue_length", frozenset({("queue", "celery")})) not in samples
    assert value_of(samples, "checkin_scrape_errors", source="outbox") == 0
    assert value_of(samples, "checkin_outbox_pending") == 0
    fallback = value_of(samples, "checkin_redis_fallback_seconds_total")
    time.sleep(1.0)
    assert value_of(scraper(), "checkin_redis_fallback_seconds_total") >= fallback + 0.9

    redis_server.start()
    _wait_for(is_redis_available)  # the prober closes the breaker
    samples = scraper()
    assert value_of(samples, "checkin_redis_breaker_state", state="closed") == 1
    assert value_of(samples, "checkin_scrape_errors", source="broker") == 0
    later = value_of(samples, "checkin_redis_fallback_seconds_total")
    time.sleep(0.5)
    assert value_of(scraper(), "checkin_redis_fallback_seconds_total") == later  # stopped


def test_redis_paused_the_scrape_answers_within_its_budget(redis_server, scraper):
    scraper()  # a first scrape opens the broker connection while Redis answers
    redis_server.pause()
    samples, took = _timed(scraper)
    assert took < SCRAPE_BOUND_SECONDS
    assert value_of(samples, "checkin_scrape_errors", source="broker") == 1
    assert value_of(samples, "checkin_scrape_errors", source="outbox") == 0
    samples, took = _timed(scraper)  # again, with the hung reads of the first still out
    assert took < SCRAPE_BOUND_SECONDS
    assert value_of(samples, "checkin_scrape_errors", source="broker") == 1
