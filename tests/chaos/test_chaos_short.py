"""The chaos suite's short form, run as a subprocess so it shows (and fails) in pytest's summary.

It starts its own stack (SecantusDB, redis-server, gunicorn, a supervised Celery worker and beat),
drives door traffic while killing/pausing/flushing Redis, stalling a web worker mid-request until
a reconcile has run, pausing MongoDB, killing beat and restarting gunicorn workers, and cutting
two door devices' network for random stretches (they admit on leased places offline and sync),
and checks the invariants in MongoDB, and that a WebSocket client of the ASGI server followed
MongoDB's counts.
Under two minutes; deselect with ``-m "not chaos"`` for a quick local run.
"""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 240  # the short form takes about 105 s on two cores; this is only its hard bound


@pytest.mark.chaos
def test_chaos_short_form_holds_every_invariant():
    proc = subprocess.Popen(
        [sys.executable, "-m", "chaos", "--short"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM first: the suite turns it into a clean stop of every process it started.
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        pytest.fail(f"chaos short form still running after {TIMEOUT} s:\n{output[-6000:]}")
    print(output)  # pytest shows it with the failure; the run's logs stay in var/chaos/
    start = output.find("=== short form: faults injected")
    report = output[start:] if start >= 0 else output
    assert proc.returncode == 0, f"chaos short form exited {proc.returncode}:\n{report[-6000:]}"
    for fault in ("web_stall", "mongo_pause", "celery_beat_kill", "redis_pause", "redis_kill"):
        assert f" {fault} " in report, f"the short form no longer injects {fault}"
    assert "PASS  live view (WebSocket) equals MongoDB" in report, "no live view in the run"
    # Door devices that went offline, decided scans on their leases and synced them.
    assert "offline doors decided" in report, "no offline doors in the run"
    assert "PASS  every lease returned at the end" in report
