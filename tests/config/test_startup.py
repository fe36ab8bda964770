"""Start-up touches neither Redis nor MongoDB: check passes and gunicorn serves with both gone."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from devtools.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _env_without_backends() -> dict[str, str]:
    env = dict(os.environ)
    # Ports where nothing listens: any connection attempt would fail or hang the command.
    env["MONGODB_URI"] = f"mongodb://127.0.0.1:{free_port()}/"
    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    return env


def test_manage_check_passes_with_redis_and_mongodb_down():
    env = _env_without_backends()
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    # Well under MongoDB's 3 s server-selection timeout: nothing tried to connect.
    assert time.monotonic() - started < 15


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
        response = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=5)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_compose_file_defines_the_stack_with_healthchecks():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"mongo", "redis", "web", "worker", "beat"}
    for name in ("mongo", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], name
    assert "--replSet" in services["mongo"]["command"]
    assert services["mongo"]["image"] == "mongo:7"
    assert services["redis"]["image"] == "redis:7"
