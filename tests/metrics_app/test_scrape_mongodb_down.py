"""The scrape with MongoDB killed (a server of the test's own): it answers within a bound,
without the outbox, and says so in checkin_scrape_errors."""

import time

import pytest

from health_app import selectors as health_selectors
from jobs_app.models import OutboxMessage

from .conftest import value_of

pytestmark = pytest.mark.slow  # a server killed

SCRAPE_BOUND_SECONDS = 3.0


def _timed(scraper):
    started = time.monotonic()
    samples = scraper()
    return samples, time.monotonic() - started


def test_mongodb_killed_the_scrape_answers_without_the_outbox(db, own_mongo, scraper):
    # This thread opens the connection to the test's server first (the fixture closes this
    # thread's client at the end); the scrape's probe threads are new, so they share it instead
    # of keeping the client own_mongo closed (tests/conftest.py).
    assert OutboxMessage.objects.count() == 0
    stale, health_selectors._pool = health_selectors._pool, None
    if stale is not None:
        stale[1].shutdown(wait=False)
    assert value_of(scraper(), "checkin_scrape_errors", source="outbox") == 0
    own_mongo.kill()
    samples, took = _timed(scraper)
    assert took < SCRAPE_BOUND_SECONDS
    assert value_of(samples, "checkin_scrape_errors", source="outbox") == 1
    assert ("checkin_outbox_pending", frozenset()) not in samples
    assert value_of(samples, "checkin_scrape_errors", source="broker") == 0
