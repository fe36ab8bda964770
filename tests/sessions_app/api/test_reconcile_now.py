"""Reconcile now (API and admin) stays prompt with the broker down; beat runs reconcile for real."""

import subprocess
import sys
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from jobs_app.models import OutboxMessage
from jobs_app.schedule import RECONCILE_TASK, periodic_tasks_ensure
from redis_fallback import get_redis
from redis_fallback.testing import reset_for_tests
from sessions_app.admission import admission_key
from sessions_app.selectors import reconcile_last_success_at
from sessions_app.services import session_check_in
from tests.celery_support import ROOT, wait_until
from tests.factories import (
    admission_count,
    participants_make,
    session_counter,
    session_counter_corrupt,
    session_make,
)

pytestmark = pytest.mark.django_db


def test_reconcile_now_requires_staff(api_client, door_client):
    assert api_client.post("/api/reconcile/").status_code == 401
    assert door_client.post("/api/reconcile/").status_code == 403


def test_reconcile_now_with_broker_up_publishes(staff_client):
    response = staff_client.post("/api/reconcile/")
    assert response.status_code == 202
    assert response.json()["reason"] == "published"


@pytest.mark.slow  # a real worker (and beat)
def test_reconcile_now_with_broker_killed_is_prompt_then_runs_after_restart(
    staff_client, redis_server, celery_worker_factory
):
    session = session_make(capacity=5)
    for person in participants_make(2):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    session_counter_corrupt(session, 5)
    redis_server.kill()

    started = time.monotonic()
    response = staff_client.post("/api/reconcile/")
    elapsed = time.monotonic() - started
    assert response.status_code == 202
    assert response.json()["reason"] == "queued_in_outbox"
    # ~0.3 s; kombu's retries would take 5.2 s (tests/jobs_app/test_outbox.py): 3 s is between.
    assert elapsed < 3.0, f"reconcile-now took {elapsed:.2f} s with the broker down"
    assert OutboxMessage.objects.filter(task_name=RECONCILE_TASK, published_at=None).count() == 1

    redis_server.start()
    reset_for_tests()
    worker = celery_worker_factory().start()  # publishes the outbox when ready, runs the task
    assert wait_until(lambda: session_counter(session) == 2, timeout=40), worker.log()[-3000:]
    assert OutboxMessage.objects.get().published_at is not None


def test_admin_action_reconcile_now(client, staff_user, redis_server):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    session = session_make()
    redis_server.kill()
    started = time.monotonic()
    response = client.post(
        "/admin/sessions_app/session/",
        {"action": "reconcile_now", "_selected_action": [str(session.pk)]},
        follow=True,
    )
    assert time.monotonic() - started < 3.0  # as above
    assert response.status_code == 200
    assert b"kept in the outbox" in response.content
    assert OutboxMessage.objects.filter(task_name=RECONCILE_TASK).count() == 1


@pytest.mark.slow  # a real worker (and beat)
def test_beat_and_worker_reconcile_on_schedule(celery_worker_factory, worker_env, tmp_path):
    """A real beat (DatabaseScheduler, 2 s interval) and worker repair MongoDB and Redis."""

    session = session_make(capacity=5)
    for person in participants_make(3):
        session_check_in(session_id=session.pk, participant_id=person.pk)
    periodic_tasks_ensure()  # RECONCILE_INTERVAL_SECONDS is 2 in worker_env, 30 here: fix it up

    fast, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=RECONCILE_TASK).update(interval=fast)
    session_counter_corrupt(session, 5)
    get_redis().delete(admission_key(session.pk))
    get_redis().sadd(
        admission_key(session.pk), "~seeded", "bogus-1", "bogus-2", "bogus-3", "x4", "x5"
    )

    celery_worker_factory().start()
    log = open(tmp_path / "beat.log", "ab")  # noqa: SIM115
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "INFO",
         "-s", str(tmp_path / "beat-schedule"), "--max-interval", "1"],
        cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        repaired = wait_until(
            lambda: session_counter(session) == 3 and admission_count(session) == 3,
            timeout=45,
        )
        assert repaired, (tmp_path / "beat.log").read_text()[-2000:]
        # The repaired state can be visible a moment before the run records its success.
        first = wait_until(reconcile_last_success_at, timeout=10)
        assert first is not None
        # And it keeps running on schedule.
        assert wait_until(lambda: reconcile_last_success_at() > first, timeout=20)
    finally:
        beat.terminate()
        beat.wait(timeout=15)
        log.close()
