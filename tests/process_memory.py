"""How much of a forked process's memory is its own: for the tests that check the pages a
master or a Celery main process loaded stay shared with its children."""

import subprocess
import time
from pathlib import Path


def own_share(pid: int) -> float:
    """The share of a process's resident memory that is its own (written since the fork)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[key] = int(value.split()[0])
    return (fields["Private_Dirty"] + fields["Private_Clean"]) / fields["Rss"]


def children(pid: int, count: int, timeout: float = 30.0) -> list[int]:
    """The ``count`` child processes of ``pid``, once it has them all (it forks them after it
    starts: a gunicorn master after it binds its port, a Celery worker after it connects)."""
    deadline = time.monotonic() + timeout
    while True:
        found = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, found
            return [int(p) for p in found]
        time.sleep(0.1)
