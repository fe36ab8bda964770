"""A task published while the Sentinels fail the Redis master over is sent once they promote the
replica (real redis-servers and Sentinels; the app's own Celery settings, in a subprocess).

Chaos seed 61 (two nodes): beat's reconcile tick sent during a Redis failover failed after
~1.7 s ("Couldn't apply scheduled task ... Connection refused") and the reconcile waited for the
next tick. The publish retry policy (10 retries, ~15 s with one Redis) gave ~1.3 s under
Sentinel: kombu takes the broker URL's Sentinels as alternate hosts, counts a retry per host and
sleeps only once it has tried them all, so 10 retries over 3 Sentinels sleep three times.
"""

import os
import subprocess
import sys
from pathlib import Path

from devtools.servers import redis_command

ROOT = Path(__file__).resolve().parents[2]
DOWN_AFTER_MS = 3000  # the replica is promoted no sooner than 3 s after the kill

PUBLISHER = """
import sys, time
import django
django.setup()
from config.celery import app
app.send_task("jobs_app.outbox_flush")  # connected, the queue exists
print("ready", flush=True)
sys.stdin.readline()  # the test kills the master meanwhile
started = time.monotonic()
try:
    app.send_task("jobs_app.outbox_flush")
    print(f"sent after {time.monotonic() - started:.1f} s", flush=True)
except Exception as exc:
    print(f"failed after {time.monotonic() - started:.1f} s: {type(exc).__name__}: {exc}", flush=True)
"""


def test_a_task_published_during_a_failover_is_sent_to_the_new_master(sentinel_set):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": sentinel_set.url,
    }
    env.pop("CELERY_BROKER_URL", None)  # the Redis of REDIS_URL, in kombu's sentinel:// form
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER], cwd=ROOT, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert publisher.stdout.readline().strip() == "ready", publisher.stderr.read()
        old = sentinel_set.master_port()
        queued_before = redis_command(old, "LLEN", "celery")
        sentinel_set.kill_master()
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        outcome = publisher.stdout.readline().strip()
        new = sentinel_set.wait_for_new_master(old)
    finally:
        publisher.kill()
        publisher.wait(timeout=10)
    assert outcome.startswith("sent after"), outcome
    # On the promoted master: the message published before the kill (replicated) and this one.
    assert redis_command(new, "LLEN", "celery") == queued_before + 1
