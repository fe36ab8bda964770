"""The metrics move with what the system does: a real check-in (real MongoDB and Redis, the whole
middleware chain, a real API token) raises the verdict counter and the request histogram; a
reconcile run is counted. (Counting does no I/O: the MongoDB commands of a check-in stay as
tests/sessions_app/test_round_trips.py pins them.)"""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from metrics_app import collectors
from sessions_app.services import session_check_in, session_scan_undo
from sessions_app.services.reconcile import counters_reconcile
from tests.factories import participants_make, session_counter_corrupt, session_make

from .conftest import value_of

pytestmark = pytest.mark.django_db

CHECK_IN = {"view": "api:session-check-in", "method": "POST"}


@pytest.fixture
def door(staff_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    return client


def test_a_check_in_moves_the_verdict_counter_and_the_request_histogram(door, scraper):
    session = session_make(capacity=1)
    first, second = participants_make(2)
    url = f"/api/sessions/{session.pk}/check-in/"
    before = scraper()

    assert door.post(url, {"participant": str(first.pk)}, format="json").status_code == 201
    assert door.post(url, {"participant": str(second.pk)}, format="json").status_code == 409
    after = scraper()

    admitted = {"direction": "in", "reason": "checked_in", "source": "api"}
    full = {"direction": "in", "reason": "session_full", "source": "api"}
    for labels in (admitted, full):
        assert value_of(after, "checkin_scans_total", **labels) == (
            value_of(before, "checkin_scans_total", **labels) + 1
        ), labels
    count = "checkin_http_request_duration_seconds_count"
    assert value_of(after, count, **CHECK_IN) == value_of(before, count, **CHECK_IN) + 2
    for status in ("2xx", "4xx"):
        assert value_of(after, "checkin_http_requests_total", **CHECK_IN, status=status) == (
            value_of(before, "checkin_http_requests_total", **CHECK_IN, status=status) + 1
        ), status
    # Each observation landed in a bucket: the +Inf bucket counts them all.
    bucket = "checkin_http_request_duration_seconds_bucket"
    assert value_of(after, bucket, **CHECK_IN, le="+Inf") == value_of(after, count, **CHECK_IN)


def test_a_check_out_and_a_refusal_are_counted_by_direction(door, scraper):
    session = session_make(capacity=5)
    (person,) = participants_make(1)
    url = f"/api/sessions/{session.pk}/"
    before = scraper()
    assert door.post(f"{url}check-out/", {"participant": str(person.pk)}).status_code == 200
    after = scraper()
    refused = {"direction": "out", "reason": "not_checked_in", "source": "api"}
    assert value_of(after, "checkin_scans_total", **refused) == (
        value_of(before, "checkin_scans_total", **refused) + 1
    )


def test_a_replayed_nonce_is_counted_from_the_claimed_entry(door, scraper):
    """With a nonce the verdict is written by scan_claim_finish, not scan_record."""
    session = session_make(capacity=5)
    (person,) = participants_make(1)
    url = f"/api/sessions/{session.pk}/check-in/"
    labels = {"direction": "in", "reason": "checked_in", "source": "api"}
    before = value_of(scraper(), "checkin_scans_total", **labels)
    body = {"participant": str(person.pk), "nonce": "metrics-nonce-1"}
    assert door.post(url, body, format="json").status_code == 201
    assert value_of(scraper(), "checkin_scans_total", **labels) == before + 1


def test_reconcile_runs_and_repairs_are_counted(scraper):
    session = session_make(capacity=5)
    before = scraper()
    session_counter_corrupt(session, 3)  # nobody inside: the counter must go back to 0
    summary = counters_reconcile()
    assert summary.repaired == 1
    after = scraper()
    assert value_of(after, "checkin_reconcile_runs_total", outcome="ok") == (
        value_of(before, "checkin_reconcile_runs_total", outcome="ok") + 1
    )
    assert value_of(after, "checkin_reconcile_repairs_total", kind="counter") == (
        value_of(before, "checkin_reconcile_repairs_total", kind="counter") + 1
    )


def test_the_scrape_reads_the_outbox_and_the_broker_queues(scraper):
    samples = scraper()
    assert value_of(samples, "checkin_outbox_pending") == 0
    assert ("checkin_broker_queue_length", frozenset({("queue", "celery")})) in samples
    assert value_of(samples, "checkin_scrape_errors", source="outbox") == 0
    assert value_of(samples, "checkin_scrape_errors", source="broker") == 0
    assert value_of(samples, "checkin_redis_breaker_state", state="closed") == 1
    assert value_of(samples, "checkin_redis_breaker_state", state="open") == 0


def test_a_scrape_reads_each_source_once(scraper, monkeypatch):
    """Each reading is bounded by the budget once: read twice, a hung source cost two budgets."""
    reads = []
    for name in ("outbox_pending", "broker_queue_lengths"):
        original = getattr(collectors, name)
        monkeypatch.setattr(
            collectors, name, lambda *a, _f=original, _n=name: reads.append(_n) or _f(*a)
        )
    scraper()
    assert sorted(reads) == ["broker_queue_lengths", "outbox_pending"]


def test_an_undo_is_counted_as_annulled(scraper):
    session = session_make(capacity=1)
    (person,) = participants_make(1)
    kwargs = {"session_id": session.pk, "actor": "door"}
    assert session_check_in(participant_id=person.pk, nonce="n-undo", **kwargs).reason == (
        "checked_in"
    )
    annulled = {"direction": "out", "reason": "annulled", "source": "api"}
    before = value_of(scraper(), "checkin_scans_total", **annulled)
    assert session_scan_undo(nonce="n-undo", **kwargs).reason == "annulled"
    assert value_of(scraper(), "checkin_scans_total", **annulled) == before + 1
