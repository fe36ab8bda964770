"""MongoDB leases: one holder at a time, expiry, and take-over from a holder that died."""

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs_app.models import Lease
from jobs_app.services import lease_acquire, lease_holder_id, lease_release
from tests.celery_support import ROOT

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TAKE_AND_HANG = """
import django, os, sys, time
django.setup()
from jobs_app.services import lease_acquire
assert lease_acquire(name="job", ttl_seconds=300)
print("held", flush=True)
time.sleep(60)
"""


def test_one_holder_at_a_time_and_expiry():
    assert lease_acquire(name="job", ttl_seconds=60, holder="a:1")
    assert not lease_acquire(name="job", ttl_seconds=60, holder="b:2")
    Lease.objects.filter(name="job").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert lease_acquire(name="job", ttl_seconds=60, holder="b:2")
    lease_release(name="job", holder="b:2")
    assert lease_acquire(name="job", ttl_seconds=60)


def test_lease_of_a_killed_process_is_taken_over_not_of_a_live_one(worker_env):
    """A real process takes the lease and is killed with SIGKILL (as a Celery pool child can be)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", TAKE_AND_HANG], cwd=ROOT, env=worker_env,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "held"
        assert not lease_acquire(name="job", ttl_seconds=60)  # alive: its lease stands
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert lease_acquire(name="job", ttl_seconds=60)  # dead: taken over long before the expiry
    assert Lease.objects.get(name="job").holder == lease_holder_id()


def test_a_thread_takes_back_its_own_unreleased_lease_but_not_anothers():
    """An earlier run of this thread that could not release (MongoDB gone) does not block it."""

    assert lease_acquire(name="job", ttl_seconds=300)  # never released
    assert lease_acquire(name="job", ttl_seconds=300)  # the same thread: its earlier run is over
    other = []
    thread = threading.Thread(
        target=lambda: other.append(lease_acquire(name="job", ttl_seconds=300))
    )
    thread.start()
    thread.join()
    assert other == [False]  # a live thread of a live process holds it
