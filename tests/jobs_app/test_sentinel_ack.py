"""An ack the Sentinel-managed master does not answer does not stop the worker (real processes).

Chaos seed 69 (two nodes, broker through Sentinel): the master was SIGSTOPped for ~1.1 s while
a `-c 1` worker acknowledged a task; it logged ``Couldn't ack …, reason:network:TimeoutError``
and took no task for 17 s after Redis answered again, until a Redis restart closed its
connection. The worker had reconnected earlier through a failed attempt, and kombu's failover to
the next Sentinel URL had replaced the project's transport with kombu's own (see
jobs_app/celery_broker.py): a fresh worker does not show it, so the test reconnects it first.
The same fault on a plain ``redis://`` broker: tests/jobs_app/test_worker_resilience.py.
"""

import time
import uuid

import pytest
import redis
from celery import current_app

from tests.celery_support import wait_until

from .probe_tasks import probe_events, probe_release

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Far above the pause: the Sentinels never see the master down, so there is no failover.
DOWN_AFTER_MS = 20_000
# The chaos run's pause was ~1.1 s; the ack waits one broker socket timeout (1 s) to fail.
PAUSE_SECONDS = 1.0
# Plain redis:// broker: ~0.1 s. A loaded 2-core machine; the chaos run's worker stayed deaf 17 s.
CONSUMES_WITHIN_SECONDS = 5.0


def _finished(token):
    return [e for e in probe_events(token) if e["event"] == "finish"]


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_worker_on_sentinel_consumes_again_after_a_reconnect_and_an_ack_timed_out(
    sentinel_set, celery_worker_factory, worker_env, pool
):
    """As in the chaos run: the worker reconnected once (the master restarted, the first attempts
    failed), then the master hangs exactly while the worker acknowledges a task."""
    worker_env["REDIS_URL"] = sentinel_set.url
    worker_env.pop("CELERY_BROKER_URL", None)  # the default follows REDIS_URL: sentinel://…
    worker = celery_worker_factory(f"sentinel-{pool}").start(pool=pool)
    master = sentinel_set.master()
    # The test sends straight to the master the worker's Sentinels name (the same Redis).
    broker_url = f"redis://127.0.0.1:{master.port}/0"

    def send(name, *args):
        with current_app.connection_for_write(broker_url) as connection:
            current_app.send_task(name, args=list(args), connection=connection)

    warmup = uuid.uuid4().hex
    send("tests.probe_sleep", warmup)
    assert wait_until(lambda: _finished(warmup), timeout=40), worker.log()[-3000:]

    master.kill()  # the worker loses its connection; its reconnect attempts fail meanwhile
    assert wait_until(lambda: "Broker unreachable" in worker.log(), timeout=20), worker.log()[
        -3000:
    ]
    master.start()
    assert wait_until(lambda: "re-established" in worker.log(), timeout=20), worker.log()[-3000:]
    assert sentinel_set.master_port() == master.port  # no failover: the same master, restarted

    token = uuid.uuid4().hex
    send("tests.probe_gate", token)
    assert wait_until(lambda: probe_events(token), timeout=30), worker.log()[-3000:]

    master.pause()
    paused = time.monotonic()
    try:
        probe_release(token)  # the task returns now; its ack meets a master that does not answer
        assert wait_until(lambda: _finished(token), timeout=10)
        assert wait_until(lambda: "Couldn't ack" in worker.log(), timeout=20), worker.log()[-3000:]
        time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - paused)))
    finally:
        master.resume()
    answered = time.monotonic()
    lost_before = worker.log().count("Connection to broker lost")

    after = uuid.uuid4().hex
    send("tests.probe_sleep", after)
    assert wait_until(lambda: _finished(after), timeout=20), worker.log()[-3000:]
    took = time.monotonic() - answered
    print(f"\n{pool}: took the next task {took:.2f} s after the master answered")
    assert took < CONSUMES_WITHIN_SECONDS, (
        f"took the next task {took:.1f} s after the master answered"
    )
    assert worker.proc.poll() is None  # recovered in place, not by a restart
    assert worker.log().count("Connection to broker lost") == lost_before  # nor by a reconnect
    broker = redis.Redis(port=master.port)
    assert wait_until(lambda: broker.zcard("unacked_index") == 0, timeout=5), worker.log()[-3000:]
