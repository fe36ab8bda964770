"""Real Celery beat and worker processes through a Redis outage: their log has no password and
no traceback (issue 22.4; the LOGGING filters of config/settings/base.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from devtools.servers import RedisServer
from jobs_app.schedule import periodic_tasks_ensure
from tests.celery_support import ROOT, WorkerProcess, wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PASSWORD = "beat-horse-battery-5"


class CeleryProcess(WorkerProcess):
    """`celery beat` or `celery worker` as a subprocess with the test settings."""

    def start_role(self, role: str) -> CeleryProcess:
        if role == "worker":
            return self.start()
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "INFO",
             "-s", str(self.log_path.with_suffix(".schedule"))],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self


@pytest.fixture
def secured_redis():
    server = RedisServer(password=PASSWORD).start()
    yield server
    server.stop()


def test_beat_and_worker_log_a_redis_outage_without_password_or_traceback(
    secured_redis, worker_env, tmp_path, settings
):
    settings.RECONCILE_INTERVAL_SECONDS = 1
    periodic_tasks_ensure()  # beat's entries, due every second, in the test database
    env = dict(
        worker_env,
        REDIS_URL=secured_redis.url,
        CELERY_BROKER_URL=secured_redis.url,
        CELERY_TASK_PUBLISH_MAX_RETRIES="1",  # a failed send in ~1 s instead of ~15 s
    )
    beat = CeleryProcess(env, tmp_path / "beat.log").start_role("beat")
    worker = CeleryProcess(env, tmp_path / "worker.log").start_role("worker")
    try:
        assert wait_until(lambda: "Sending due task" in beat.log(), timeout=20), beat.log()
        assert wait_until(lambda: "ready." in worker.log(), timeout=20), worker.log()
        secured_redis.kill()
        # Beat fails to send its tasks; the worker loses the broker and tries to reconnect.
        assert wait_until(lambda: "Couldn't apply" in beat.log(), timeout=20), beat.log()
        assert wait_until(lambda: "Broker unreachable" in worker.log(), timeout=20), worker.log()
        time.sleep(3)  # a few more failed sends and reconnect attempts
    finally:
        beat.stop()
        worker.stop()
    for name, text in (("beat", beat.log()), ("worker", worker.log())):
        assert PASSWORD not in text, name
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"
        log_lines = [m.group(0) for m in re.finditer(r"^\d{4}-\d\d-\d\d .*$", text, re.M)]
        assert not [line for line in log_lines if "127.0.0.1" in line], name
    failed_sends = [line for line in beat.log().splitlines() if "Couldn't apply" in line]
    assert len(failed_sends) <= 2, failed_sends  # one per task, not one per try
    reconnects = [line for line in worker.log().splitlines() if "Broker unreachable" in line]
    assert len(reconnects) == 1, reconnects  # one line for the outage, not one per attempt
