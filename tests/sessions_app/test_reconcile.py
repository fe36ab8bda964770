"""Counter reconciliation: the CheckIn records are the truth, MongoDB first, Redis when it is up."""

import logging

import pytest
from django.core.management import call_command

from jobs_app.models import JobRun
from jobs_app.services import lease_acquire
from redis_fallback import get_redis
from sessions_app.admission import SEEDED_MARKER, admission_count, admission_key
from sessions_app.selectors import reconcile_last_success_at
from sessions_app.services import counters_reconcile, session_check_in
from sessions_app.services.reconcile import LEASE_NAME
from tests.factories import (
    participants_make,
    session_counter,
    session_counter_corrupt,
    session_make,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_with_three_inside():
    session = session_make(capacity=5)
    for person in participants_make(3):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    return session


def test_repairs_counters_too_high_and_too_low_in_mongodb_and_redis(session_with_three_inside):
    session = session_with_three_inside
    other = session_make(capacity=5)
    session_counter_corrupt(session, 5)  # too high: would refuse two people who have room
    session_counter_corrupt(other, 0)
    get_redis().srem(admission_key(session.pk), *[m for m in get_redis().smembers(admission_key(session.pk)) if m != SEEDED_MARKER.encode()][:2])  # fmt: skip

    summary = counters_reconcile(settle_seconds=0.05)

    assert session_counter(session) == 3
    assert admission_count(session_id=session.pk) == 3
    assert summary.sessions == 2
    assert summary.repaired == 1
    assert summary.reseeded >= 1
    assert summary.failed == 0 and not summary.redis_skipped


def test_counter_below_records_is_raised(session_with_three_inside):
    session_counter_corrupt(session_with_three_inside, 1)
    summary = counters_reconcile(settle_seconds=0)
    assert session_counter(session_with_three_inside) == 3
    assert summary.repaired == 1


def test_with_redis_down_repairs_mongodb_skips_redis_logs_one_line(
    session_with_three_inside, redis_server, caplog
):
    session_counter_corrupt(session_with_three_inside, 4)
    redis_server.kill()
    with caplog.at_level(logging.INFO, logger="sessions_app.services.reconcile"):
        summary = counters_reconcile(settle_seconds=0.05)
    assert session_counter(session_with_three_inside) == 3
    assert summary.repaired == 1
    assert summary.redis_skipped
    lines = [r for r in caplog.records if r.name == "sessions_app.services.reconcile"]
    assert len(lines) == 1
    assert "repaired=1" in lines[0].getMessage() and "redis=skipped" in lines[0].getMessage()


def test_a_failing_session_is_reported_and_the_others_are_reconciled(session_with_three_inside):
    broken = session_make(capacity=5)
    session_counter_corrupt(broken, "not a number")
    session_counter_corrupt(session_with_three_inside, 5)

    summary = counters_reconcile(settle_seconds=0.05)

    assert summary.failed == 1
    assert str(broken.pk) in summary.failed_sessions[0]
    assert session_counter(session_with_three_inside) == 3
    assert summary.repaired == 1


def test_redis_wrong_type_under_a_session_key_fails_only_that_session(session_with_three_inside):
    other = session_make(capacity=5)
    get_redis().delete(admission_key(other.pk))
    get_redis().set(admission_key(other.pk), "not a set")
    summary = counters_reconcile(settle_seconds=0)
    assert summary.failed == 1 and str(other.pk) in summary.failed_sessions[0]
    assert admission_count(session_id=session_with_three_inside.pk) == 3


def test_a_drift_that_changes_during_the_settle_time_is_left_alone(session_with_three_inside):
    """A counter caught between an admission's two writes must not be lowered."""
    session = session_with_three_inside
    session_counter_corrupt(session, 4)  # looks like drift now...
    import threading

    def admission_completes():  # ...but the record it was waiting for arrives meanwhile
        session_counter_corrupt(session, 4)
        person = participants_make(1)[0]
        from sessions_app.models import CheckIn

        CheckIn.objects.create(session=session, participant=person)

    timer = threading.Timer(0.1, admission_completes)
    timer.start()
    summary = counters_reconcile(settle_seconds=0.5)
    timer.join()
    assert session_counter(session) == 4  # untouched: records and counter agree at 4 now
    assert summary.repaired == 0


def test_second_run_at_once_is_refused_by_the_lease(session_with_three_inside):
    assert lease_acquire(name=LEASE_NAME, ttl_seconds=60, holder="someone-else")
    summary = counters_reconcile(settle_seconds=0)
    assert summary.lease_busy
    assert summary.sessions == 0


def test_run_records_last_success_for_health(session_with_three_inside, client):
    assert reconcile_last_success_at() is None
    counters_reconcile(settle_seconds=0)
    assert reconcile_last_success_at() is not None
    assert JobRun.objects.get().last_summary["sessions"] == 1
    body = client.get("/health").json()
    assert body["celery"]["lastReconcile"] is not None


def test_management_command(session_with_three_inside, capsys):
    session_counter_corrupt(session_with_three_inside, 5)
    call_command("reconcile_counters", "--settle", "0.05")
    out = capsys.readouterr().out
    assert "repaired=1" in out
    assert session_counter(session_with_three_inside) == 3
