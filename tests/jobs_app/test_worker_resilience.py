"""The worker survives broker outages and a task whose worker died is redelivered."""

import uuid

import pytest
from celery import current_app

from config.celery_consumer import backoff_delay
from tests.celery_support import wait_until

from .probe_tasks import probe_events

pytestmark = pytest.mark.django_db


def test_backoff_is_exponential_and_capped():
    delays = [backoff_delay(n) for n in range(1, 10)]
    assert delays[:5] == [0.1, 0.2, 0.4, 0.8, 1.6]
    assert max(delays) == 3.0
    assert delays == sorted(delays)


def _finished(token):
    return [e for e in probe_events(token) if e["event"] == "finish"]


def test_killed_worker_mid_task_leads_to_redelivery(redis_server, celery_worker_factory):
    token = uuid.uuid4().hex
    first = celery_worker_factory("first").start()
    current_app.send_task("tests.probe_sleep", args=[token, 30])
    started = wait_until(lambda: probe_events(token), timeout=30)
    assert started, first.log()[-3000:]
    first.kill()  # dies mid-task: the message was never acknowledged
    assert not _finished(token)

    second = celery_worker_factory("second").start()
    # Redelivered after the (shortened, 3 s) visibility timeout and run to the end this time.
    assert wait_until(lambda: _finished(token), timeout=40), second.log()[-3000:]
    starts = [e for e in probe_events(token) if e["event"] == "start"]
    assert len(starts) == 2


def test_worker_reconnects_by_itself_after_redis_restart(redis_server, celery_worker_factory):
    worker = celery_worker_factory().start()
    warmup = uuid.uuid4().hex
    current_app.send_task("tests.probe_sleep", args=[warmup])
    assert wait_until(lambda: _finished(warmup), timeout=30), worker.log()[-3000:]

    redis_server.kill()
    wait_until(lambda: "reconnect attempt" in worker.log(), timeout=15)
    redis_server.start()
    token = uuid.uuid4().hex
    current_app.send_task("tests.probe_sleep", args=[token])
    assert wait_until(lambda: _finished(token), timeout=30), worker.log()[-3000:]
    assert worker.proc.poll() is None  # the same worker process, still running
