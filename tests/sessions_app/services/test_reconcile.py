"""Counter reconciliation: the CheckIn records are the truth, MongoDB first, Redis when it is up."""

import datetime as dt
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs_app.models import JobRun
from jobs_app.schedule import RECONCILE_JOB
from jobs_app.services import lease_acquire
from redis_fallback import get_redis
from sessions_app.admission import SEEDED_MARKER, admission_key
from sessions_app.models import CheckIn
from sessions_app.selectors import reconcile_last_success_at
from sessions_app.services import counters_reconcile, session_check_in
from tests.factories import (
    admission_count,
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

    summary = counters_reconcile()

    assert session_counter(session) == 3
    assert admission_count(session) == 3
    assert summary.sessions == 2
    assert summary.repaired == 1
    assert summary.reseeded >= 1
    assert summary.failed == 0 and not summary.redis_skipped


def test_counter_below_records_is_raised(session_with_three_inside):
    session_counter_corrupt(session_with_three_inside, 1)
    summary = counters_reconcile()
    assert session_counter(session_with_three_inside) == 3
    assert summary.repaired == 1


def test_with_redis_down_repairs_mongodb_skips_redis_logs_one_line(
    session_with_three_inside, redis_server, caplog
):
    session_counter_corrupt(session_with_three_inside, 4)
    redis_server.kill()
    with caplog.at_level(logging.INFO, logger="sessions_app.services.reconcile"):
        summary = counters_reconcile()
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

    summary = counters_reconcile()

    assert summary.failed == 1
    assert str(broken.pk) in summary.failed_sessions[0]
    assert session_counter(session_with_three_inside) == 3
    assert summary.repaired == 1
    # Not a success for health; the job record names the failed session.
    assert reconcile_last_success_at() is None
    run = JobRun.objects.get()
    assert run.last_failure_at is not None
    assert str(broken.pk) in run.last_error


def test_redis_wrong_type_under_a_session_key_fails_only_that_session(session_with_three_inside):
    other = session_make(capacity=5)
    get_redis().delete(admission_key(other.pk))
    get_redis().set(admission_key(other.pk), "not a set")
    summary = counters_reconcile()
    assert summary.failed == 1 and str(other.pk) in summary.failed_sessions[0]
    assert admission_count(session_with_three_inside) == 3


def test_an_operation_in_flight_is_counted_and_a_stale_one_is_ended(session_with_three_inside):
    """Records entering or leaving hold their place; once stale, their operation is ended."""
    session = session_with_three_inside
    young, old = participants_make(2)
    now = timezone.now()
    CheckIn.objects.create(session=session, participant=young, state="entering", op="a" * 24,
                           op_started_at=now)  # fmt: skip
    CheckIn.objects.create(session=session, participant=old, state="entering", op="b" * 24,
                           op_started_at=now - dt.timedelta(minutes=5))  # fmt: skip
    session_counter_corrupt(session, 5)  # both admissions had taken their place

    summary = counters_reconcile()

    assert summary.ended_ops == 1  # the old one (never admitted before: its record is removed)
    assert not CheckIn.objects.filter(participant=old).exists()
    assert CheckIn.objects.get(participant=young).state == "entering"
    assert session_counter(session) == 4  # three inside + one admission still in flight
    assert summary.repaired == 1
    assert set(_redis_members(session)) == {
        *[str(c.participant_id) for c in CheckIn.objects.filter(session=session)]
    }


def _redis_members(session):
    members = get_redis().smembers(admission_key(session.pk))
    return {m.decode() for m in members} - {SEEDED_MARKER}


def test_second_run_at_once_is_refused_by_the_lease(session_with_three_inside):
    assert lease_acquire(name=RECONCILE_JOB, ttl_seconds=60, holder="someone-else")
    summary = counters_reconcile()
    assert summary.lease_busy
    assert summary.sessions == 0


def test_run_records_last_success_for_health(session_with_three_inside, client):
    assert reconcile_last_success_at() is None
    counters_reconcile()
    assert reconcile_last_success_at() is not None
    assert JobRun.objects.get().last_summary["sessions"] == 1
    body = client.get("/health").json()
    assert body["celery"]["lastReconcile"] is not None


def test_management_command(session_with_three_inside, capsys):
    session_counter_corrupt(session_with_three_inside, 5)
    call_command("reconcile_counters", "--stale", "0")
    out = capsys.readouterr().out
    assert "repaired=1" in out
    assert session_counter(session_with_three_inside) == 3
