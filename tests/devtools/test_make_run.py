"""`make run` end to end: the whole system starts, serves admin and API, restarts a killed Celery
worker or beat and a killed embedded redis-server or SecantusDB, and Ctrl-C leaves nothing."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis
from pymongo import MongoClient
from websockets.sync.client import connect

from devtools.servers import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow
PAGES = ("/door/", "/board/", "/admin/", "/api/", "/health")  # every page, in the ready line


def _wait_for_line(log: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} not seen:\n" + log.read_text(errors="replace")[-3000:])


def _celery_process(run: subprocess.Popen, role: str) -> psutil.Process | None:
    """Return the live Celery ``role`` ("worker" or "beat") main process that make run started."""
    for child in psutil.Process(run.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if role in child.cmdline() and "celery" in " ".join(child.cmdline()):
                return child
    return None


def _server_process(port: str) -> psutil.Process:
    """Return the embedded server process listening on ``port`` (its command line names it)."""
    for process in psutil.process_iter(["cmdline"]):
        # redis-server rewrites its title ("redis-server 127.0.0.1:6379"); secantusd has --port.
        if re.search(rf"[ :]{port}\b", " ".join(process.info["cmdline"] or [])):
            return process
    raise AssertionError(f"no server process on port {port}")


def _kill_celery_and_see_it_back(proc: subprocess.Popen, log: Path) -> None:
    """The supervisor: a Celery worker or beat killed with SIGKILL is started again."""
    for role in ("worker", "beat"):
        victim = _celery_process(proc, role)
        os.kill(victim.pid, signal.SIGKILL)
        _wait_for_line(log, f"{role} exited (signal SIGKILL); starting it again", proc, timeout=10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _celery_process(proc, role) is None:
            time.sleep(0.3)
        assert _celery_process(proc, role) not in (None, victim), role
    _wait_for_line(log, "celery@", proc, timeout=60)


def _kill_servers_and_see_them_back(proc: subprocess.Popen, log: Path, env: dict) -> None:
    """The embedded servers are supervised too: killed, they are said to be and come back."""
    redis_port, mongo_port = env["EMBEDDED_REDIS_PORT"], env["EMBEDDED_MONGODB_PORT"]
    for name, port in (("redis-server", redis_port), ("secantusd", mongo_port)):
        victim = _server_process(port)
        os.kill(victim.pid, signal.SIGKILL)
        _wait_for_line(log, f"embedded {name} on 127.0.0.1:{port} exited (signal SIGKILL); starting it again", proc, timeout=10)  # fmt: skip
        _wait_for_line(log, f"embedded {name} on 127.0.0.1:{port} is back", proc, timeout=60)
        assert _server_process(port).pid != victim.pid
    assert redis.Redis(port=int(redis_port), socket_timeout=5).ping()
    with MongoClient(port=int(mongo_port), serverSelectionTimeoutMS=10000) as mongo:
        assert mongo.admin.command("ping")["ok"] == 1


def _live_snapshot(port: int, token: str) -> dict:
    """Open the ASGI server's occupancy WebSocket with a token; return its first snapshot."""
    deadline = time.monotonic() + 30
    while True:
        try:
            ws = connect(
                f"ws://127.0.0.1:{port}/ws/occupancy/",
                subprotocols=["checkin", f"token.{token}"], open_timeout=5, legacy=True,
            )  # fmt: skip
            break
        except OSError:
            assert time.monotonic() < deadline, "the ASGI server never answered"
            time.sleep(0.3)
    try:
        while True:
            message = json.loads(ws.recv(timeout=10))
            if message["type"] == "snapshot":
                return message
    finally:
        ws.close()


def test_run_starts_everything_and_ctrl_c_stops_every_process(tmp_path):
    web_port, live_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "REDIS_URL", "CELERY_BROKER_URL", "MONGODB_NAME", "DJANGO_SETTINGS_MODULE")}  # fmt: skip
    env.update(
        RUN_DATA_DIR=str(tmp_path / "var"),
        EMBEDDED_MONGODB_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        RUN_ADDR=f"127.0.0.1:{web_port}",
        RUN_LIVE_ADDR=f"127.0.0.1:{live_port}",
    )
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.run"], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_line(log, "[make run] ready", proc, timeout=120)
        # "ready" means the pages answer: no retry for the first request.
        assert httpx.get(f"http://127.0.0.1:{web_port}/health/live", timeout=10).status_code == 200
        _wait_for_line(log, "celery@", proc, timeout=60)
        credentials = (tmp_path / "var" / "admin-credentials.txt").read_text()
        password = credentials.split("password: ")[1].strip()
        base = f"http://127.0.0.1:{web_port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            token = client.post(
                "/api/auth/token/", data={"username": "admin", "password": password}
            )
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Token {token.json()['token']}"}
            sessions = client.get("/api/sessions/", headers=headers)
            assert sessions.status_code == 200 and sessions.json()["count"] >= 1  # demo data
            assert client.get("/admin/login/").status_code == 200
            api_root = client.get("/api/", headers={**headers, "Accept": "text/html"})
            assert api_root.status_code == 200 and b"Api Root" in api_root.content
            # The live board's WebSockets: the ASGI server runs, with the demo's open sessions.
            opened = _live_snapshot(live_port, token.json()["token"])["sessions"]
            assert opened and {state["status"] for state in opened} == {"open"}
        _kill_celery_and_see_it_back(proc, log)
        ready = next(line for line in log.read_text().splitlines() if "[make run] ready" in line)
        assert all(f"127.0.0.1:{web_port}{page}" in ready for page in PAGES), ready

        _kill_servers_and_see_them_back(proc, log, env)

        family = [proc.pid] + [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(family) >= 6  # run.py, web, live, worker (+ its pool), beat; servers: own groups
        servers = [p for p in psutil.process_iter(["cmdline"]) if str(env["EMBEDDED_REDIS_PORT"]) in " ".join(p.info["cmdline"] or []) or str(env["EMBEDDED_MONGODB_PORT"]) in " ".join(p.info["cmdline"] or [])]  # fmt: skip
        assert len(servers) >= 2

        os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C delivers
        proc.wait(timeout=60)
        time.sleep(0.5)
        leftovers = [pid for pid in family + [s.pid for s in servers] if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
        assert leftovers == [], log.read_text(errors="replace")[-2000:]
        assert "all processes stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
