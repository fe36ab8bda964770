"""Multiprocess mode under gunicorn as the image runs it (``--preload``, two workers): every
scrape sums the counters of all workers, whichever worker answers it; a worker killed with
SIGKILL keeps its counts in the sum and its gauges leave it; the sampler runs in each worker."""

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from django.db import connection

from devtools.run import metrics_dir_prepare
from devtools.servers import free_port, wait_for_port

from .conftest import SCRAPE_TOKEN, samples_of, value_of

pytestmark = pytest.mark.slow  # a real gunicorn with two workers

ROOT = Path(__file__).resolve().parents[2]
LIVE = {"view": "health-live", "method": "GET", "status": "2xx"}


@pytest.fixture
def gunicorn(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="test-metrics-only",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        MONGODB_NAME=connection.settings_dict["NAME"],
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        METRICS_TOKEN=SCRAPE_TOKEN,
    )
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", "--preload",
         "-b", f"127.0.0.1:{port}", "-w", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield proc, f"http://127.0.0.1:{port}", metrics_dir
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _scrape(base: str) -> dict:
    response = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}, timeout=30
    )
    assert response.status_code == 200
    return samples_of(response.text)


def _workers(proc) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children()


def _counter_files(metrics_dir: Path) -> set[str]:
    return {os.path.basename(name) for name in glob.glob(str(metrics_dir / "counter_*.db"))}


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_every_scrape_sums_every_worker_and_a_killed_one_keeps_its_counts(gunicorn, db):
    proc, base, metrics_dir = gunicorn
    _wait_for(lambda: len(_workers(proc)) == 2)
    served = 0
    # New connections until both workers (and the master's file from --preload) have counted.
    while len(_counter_files(metrics_dir)) < 3 or served < 20:
        assert httpx.get(f"{base}/health/live", timeout=30).status_code == 200
        served += 1
        assert served < 500, _counter_files(metrics_dir)

    totals = [value_of(_scrape(base), "checkin_http_requests_total", **LIVE) for _ in range(8)]
    assert totals == [served] * 8  # whichever worker answered

    samples = _scrape(base)
    # The master and both workers sample their breakers: three processes, all closed.
    assert value_of(samples, "checkin_redis_breaker_state", state="closed") == 3
    assert value_of(samples, "checkin_scrape_errors", source="outbox") == 0

    victim = _workers(proc)[0]
    victim.send_signal(signal.SIGKILL)
    _wait_for(
        lambda: victim.pid not in {w.pid for w in _workers(proc)} and len(_workers(proc)) == 2
    )
    after = _scrape(base)
    assert value_of(after, "checkin_http_requests_total", **LIVE) == served  # nothing lost
    # The killed worker's gauges are gone, its replacement samples: still three processes.
    _wait_for(lambda: value_of(_scrape(base), "checkin_redis_breaker_state", state="closed") == 3)


def test_a_directory_that_cannot_be_written_leaves_the_process_counting_in_memory(tmp_path):
    """A wrong PROMETHEUS_MULTIPROC_DIR must never keep a web process or a worker from starting."""
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    child = (
        "from core import metrics; from prometheus_client import values;"
        "metrics.scan_verdict_count(direction='in', reason='checked_in', source='api');"
        "print(metrics.MULTIPROCESS_DIR == '', values.ValueClass is values.MutexValue)"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(not_a_directory)}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
    assert "not a writable directory" in done.stderr


def test_make_run_starts_with_an_empty_metrics_directory(tmp_path):
    stale = tmp_path / "metrics" / "counter_host-1-abcd.db"
    stale.parent.mkdir()
    stale.write_bytes(b"x")
    assert metrics_dir_prepare(tmp_path / "metrics") == tmp_path / "metrics"
    assert list((tmp_path / "metrics").iterdir()) == []
