"""Start-up touches neither Redis nor MongoDB: check passes and gunicorn serves with both gone."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devtools.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow  # real processes, killed or paused servers

ROOT = Path(__file__).resolve().parents[2]


def _env_without_backends() -> dict[str, str]:
    env = dict(os.environ)
    # Ports where nothing listens: any connection attempt would fail or hang the command.
    env["MONGODB_URI"] = f"mongodb://127.0.0.1:{free_port()}/"
    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    return env


def _listener() -> socket.socket:
    """A socket that listens but never answers: it shows whether anyone tried to connect."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def _was_connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def _run_beside_listeners(args: list[str], **env) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``python <args>`` with Redis and MongoDB pointed at listeners that never answer; return
    its result and, for each backend, whether anything connected to it (a timing bound could not
    tell)."""
    env = dict(os.environ, **env)
    mongo, redis = _listener(), _listener()
    env["MONGODB_URI"] = f"mongodb://127.0.0.1:{mongo.getsockname()[1]}/"
    env["REDIS_URL"] = f"redis://127.0.0.1:{redis.getsockname()[1]}/0"
    env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    try:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return result, {"MongoDB": _was_connected(mongo), "Redis": _was_connected(redis)}
    finally:
        mongo.close()
        redis.close()


def test_manage_check_touches_neither_redis_nor_mongodb():
    result, connected = _run_beside_listeners(
        ["manage.py", "check"], DJANGO_SETTINGS_MODULE="config.settings.dev"
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    assert connected == {"MongoDB": False, "Redis": False}


def test_gunicorn_serves_liveness_with_redis_and_mongodb_down():
    env = _env_without_backends()
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="test-startup-only",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
    )
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=30, proc=proc)
        # The port opens when the master binds; the worker may still be loading Django on a
        # loaded machine: a generous read timeout (the point is the answer, not its speed).
        response = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=30)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


_HOOK = """
import gc, sys
import django
django.setup()
from config import gunicorn
before = "sessions_app.api.views" in sys.modules
gunicorn.post_worker_init(None)
print(before, "sessions_app.api.views" in sys.modules, "door_app.views" in sys.modules,
      gc.get_freeze_count())
"""


def test_a_worker_imports_every_view_and_freezes_them_before_serving_touching_neither_backend():
    """config/gunicorn.py's post_worker_init, run as gunicorn runs it (Django set up by the WSGI
    module): the views imported (not on the first request), what lives as long as the worker
    frozen out of the collector's full collections, and no connection to Redis or MongoDB."""
    result, connected = _run_beside_listeners(
        ["-c", _HOOK],
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="test-startup-only",
        ALLOWED_HOSTS="127.0.0.1",
    )
    assert result.returncode == 0, result.stderr
    before, views, door, frozen = result.stdout.split()
    assert (before, views, door) == ("False", "True", "True")
    assert int(frozen) > 50_000  # Django, DRF, the apps: 150,000 objects measured
    assert connected == {"MongoDB": False, "Redis": False}


def _private_share(pid: int) -> float:
    """The share of a process's resident memory that is its own (written since the fork)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[key] = int(value.split()[0])
    return (fields["Private_Dirty"] + fields["Private_Clean"]) / fields["Rss"]


def _children(pid: int, count: int, timeout: float = 30.0) -> list[int]:
    """The ``count`` child processes of ``pid``, once it has them all."""
    deadline = time.monotonic() + timeout
    while True:
        found = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, found
            return [int(p) for p in found]
        time.sleep(0.1)


def test_preloaded_workers_keep_the_applications_pages_shared():
    """With ``--preload`` (the Dockerfile) the master freezes the application before it forks
    (``when_ready``): no collection in a worker writes to those objects, so their pages stay
    shared. Measured: 9 % of a worker's memory its own, 51 % when each worker froze after a
    ``gc.collect()`` of its own that walked them all."""
    env = _env_without_backends()
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="test-startup-only",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
    )
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "--config", "config/gunicorn.py", "config.wsgi:application",
         "-b", f"127.0.0.1:{port}", "-w", "2", "--preload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60, proc=proc)
        workers = _children(proc.pid, 2)  # the port opens before the master forks them
        with httpx.Client(timeout=30) as client:
            for _ in range(40):  # each request on a fresh connection, to either worker
                assert client.get(f"http://127.0.0.1:{port}/health/live").status_code == 200
        shares = [_private_share(pid) for pid in workers]
        assert max(shares) < 0.25, shares
    finally:
        proc.terminate()
        proc.wait(timeout=15)
