"""Start-up touches neither Redis nor MongoDB: check passes and gunicorn serves with both gone."""

import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devtools.servers import free_port, wait_for_port
from tests.process_memory import children, own_share

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


@contextmanager
def _gunicorn_without_backends(*args: str, workers: int = 1):
    """gunicorn serving config.wsgi (production settings) with Redis and MongoDB nowhere; yields
    its process and port once the port is open (the master binds it before it forks)."""
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
        [str(gunicorn), *args, "config.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield proc, port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_gunicorn_serves_liveness_with_redis_and_mongodb_down():
    with _gunicorn_without_backends() as (_proc, port):
        # The port opens when the master binds; the worker may still be loading Django on a
        # loaded machine: a generous read timeout (the point is the answer, not its speed).
        response = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=30)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


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


def test_preloaded_workers_keep_the_applications_pages_shared():
    """With ``--preload`` (the Dockerfile) the master freezes the application before it forks
    (``when_ready``): no collection in a worker writes to those objects, so their pages stay
    shared. Measured: 9 % of a worker's memory its own, 51 % when each worker froze after a
    ``gc.collect()`` of its own that walked them all."""
    with _gunicorn_without_backends("--config", "config/gunicorn.py", "--preload", workers=2) as (
        proc,
        port,
    ):
        workers = children(proc.pid, 2)
        with httpx.Client(timeout=30) as client:
            for _ in range(40):  # each request on a fresh connection, to either worker
                assert client.get(f"http://127.0.0.1:{port}/health/live").status_code == 200
        shares = [own_share(pid) for pid in workers]
        assert max(shares) < 0.25, shares
