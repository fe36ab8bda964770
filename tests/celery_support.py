"""Real Celery worker processes for the tests that need one (fixtures in tests/conftest.py)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


class WorkerProcess:
    """A `celery worker` subprocess on the test servers and the test database."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, *extra: str, pool: str = "solo") -> "WorkerProcess":
        """Start the worker (``pool``: "solo", or "prefork" with one child, as deployed)."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        pool_args = ["-P", pool, "-c", "1"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "INFO",
             *pool_args, "-I", "tests.jobs_app.probe_tasks", "--without-mingle",
             "--without-gossip", "--without-heartbeat", *extra],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its children: a crash mid-task."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(predicate, *, timeout: float, interval: float = 0.1):
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture
def worker_env(tmp_path):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        MONGODB_NAME=connection.settings_dict["NAME"],  # the test database, not the dev one
        CELERY_VISIBILITY_TIMEOUT="3",
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        RECONCILE_INTERVAL_SECONDS="2",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def celery_worker_factory(worker_env, tmp_path):
    workers: list[WorkerProcess] = []

    def make(name: str = "worker") -> WorkerProcess:
        worker = WorkerProcess(worker_env, tmp_path / f"{name}-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.stop()
