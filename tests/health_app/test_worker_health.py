"""/health reports a Celery worker that stays up but no longer consumes (real worker and beat)."""

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from health_app import probes
from jobs_app.models import JobRun
from jobs_app.schedule import HEARTBEAT_JOB, OUTBOX_TASK, RECONCILE_TASK, periodic_tasks_ensure
from tests.celery_support import ROOT, wait_until
from tests.jobs_app.probe_tasks import probe_events, probe_release

pytestmark = [pytest.mark.django_db, pytest.mark.real_reconcile_freshness, pytest.mark.slow]


def test_worker_freshness_fresh_stale_and_never(settings, monkeypatch):
    settings.RECONCILE_INTERVAL_SECONDS = 30
    JobRun.objects.create(
        name=HEARTBEAT_JOB, last_success_at=timezone.now() - timedelta(seconds=50)
    )
    assert probes.worker_freshness().ok
    JobRun.objects.filter(name=HEARTBEAT_JOB).update(
        last_success_at=timezone.now() - timedelta(seconds=61)
    )
    stale = probes.worker_freshness()
    assert not stale.ok
    assert "task started by a worker" in stale.error
    JobRun.objects.all().delete()
    monkeypatch.setattr(probes, "_STARTED_AT", probes.time.monotonic())
    assert probes.worker_freshness().ok  # just started: grace period
    monkeypatch.setattr(probes, "_STARTED_AT", probes.time.monotonic() - 61)
    assert not probes.worker_freshness().ok


@pytest.fixture
def fast_beat(settings, worker_env, tmp_path):
    """Beat queueing the reconcile and the outbox flush every 2 s; /health: stale after 4 s."""

    periodic_tasks_ensure()
    fast, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task__in=[RECONCILE_TASK, OUTBOX_TASK]).update(
        interval=fast, expire_seconds=2
    )
    settings.RECONCILE_INTERVAL_SECONDS = 2
    log = open(tmp_path / "beat.log", "ab")  # noqa: SIM115 - owned by the process
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "INFO",
         "-s", str(tmp_path / "beat-schedule"), "--max-interval", "1"],
        cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield beat
    beat.terminate()
    beat.wait(timeout=15)
    log.close()


def _celery(client) -> dict:
    body = client.get("/health").json()
    return {**body["celery"], "status": body["status"]}


def test_health_reports_a_worker_that_stopped_consuming(
    client, redis_server, celery_worker_factory, worker_env, fast_beat
):
    """The issue's hang, for real: kombu's own transport, an ack Redis missed, no watchdog."""
    worker_env.update(CELERY_BROKER_TRANSPORT="redis", CELERY_WORKER_STUCK_SECONDS="0")
    worker = celery_worker_factory("hangs").start(pool="prefork")
    fresh = wait_until(
        lambda: (c := _celery(client))["lastTaskStarted"] and not c["workerStale"], timeout=30
    )
    assert fresh, worker.log()[-3000:]

    token = uuid.uuid4().hex
    current_app.send_task("tests.probe_gate", args=[token])
    assert wait_until(lambda: probe_events(token), timeout=30)
    redis_server.pause()
    try:
        probe_release(token)
        assert wait_until(lambda: "Couldn't ack" in worker.log(), timeout=20)
    finally:
        redis_server.resume()

    # Both show: the last task a worker started, and the last reconcile it finished.
    stale = wait_until(
        lambda: (c := _celery(client))["workerStale"] and c["reconcileStale"] and c, timeout=20
    )
    assert stale, worker.log()[-3000:]
    assert stale["status"] == "degraded"
    assert worker.proc.poll() is None  # up, and useless: what health must show

    worker.kill()  # what a supervisor does with a worker that exited; here, by hand
    celery_worker_factory("replacement").start(pool="prefork")
    assert wait_until(lambda: not _celery(client)["workerStale"], timeout=30)
