"""`make run`: start the whole system on embedded defaults and stop all of it on Ctrl-C.

Starts SecantusDB (data under var/mongo, kept across runs) unless MONGODB_URI is set, and a
redis-server unless REDIS_URL is set; migrates; bootstraps (staff user once, demo data, periodic
tasks); then runs the web server, the ASGI server of the live board's WebSockets (uvicorn,
``RUN_LIVE_ADDR``, default 127.0.0.1:8001), a Celery worker and Celery beat until Ctrl-C, and stops
every process it started. It supervises the Celery worker, beat, the ASGI server and the embedded
servers: one that exits (a crash, kill -9, or the worker's own liveness watchdog, exit code 70) is
reported at once (what exited, with its exit code or signal) and started again (the servers on the
same port and data directory), up to ``RESTART_LIMIT`` times a minute; the web server exiting stops
everything (usually a set-up error, such as its port being taken). ``--no-restart-servers`` (or
``CHECKIN_RUN_RESTART_SERVERS=0``) leaves a dead embedded server dead, to demonstrate an outage.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from devtools.servers import RedisServer, SecantusServer, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("RUN_DATA_DIR", ROOT / "var"))
# Prometheus multiprocess mode (docs/metrics.md): every process writes its metrics here, /metrics
# sums them. Emptied at each start, so that counts begin at zero with the run.
METRICS_DIR = VAR / "metrics"
RESTARTED = ("worker", "beat", "live")  # supervised: started again when they exit
RESTART_LIMIT = 5  # restarts per process within RESTART_WINDOW seconds, then give up
RESTART_WINDOW = 60.0


def _log(message: str) -> None:
    # The terminal may be gone (closed window, dead pipe): never let a log line stop the clean-up.
    with contextlib.suppress(OSError, ValueError):
        print(f"[make run] {message}", flush=True)


def describe_exit(returncode: int | None) -> str:
    """Say how a process ended: ``exit code 1`` or ``signal SIGKILL``."""
    if returncode is not None and returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _spawn(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    _log(f"starting {name}: {' '.join(argv[1:])}")
    # Own process group: Ctrl-C reaches us, and we stop each child with its own children.
    return subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)


def _stop_all(procs: list[subprocess.Popen], *, timeout: float = 15.0) -> None:
    """SIGTERM every process group at once, wait for all, SIGKILL what is left at the deadline."""
    running = [proc for proc in procs if proc.poll() is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _may_restart(history: deque[float]) -> bool:
    """Record a restart now; False if there were already RESTART_LIMIT within the window."""
    now = time.monotonic()
    while history and now - history[0] > RESTART_WINDOW:
        history.popleft()
    if len(history) >= RESTART_LIMIT:
        return False
    history.append(now)
    return True


def metrics_dir_prepare(path: Path) -> Path:
    """Create the metrics directory, emptied of a previous run's files; return it."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    return path


def _start_servers(env: dict[str, str], servers: list) -> None:
    """Start the embedded MongoDB and Redis unless their URLs are set; point ``env`` at them.

    Each server goes into ``servers`` as soon as it runs, so a later failure still stops it.
    """
    if not env.get("MONGODB_URI"):
        port = int(env.get("EMBEDDED_MONGODB_PORT", "27017"))
        mongo = SecantusServer(
            port=port, storage_path=VAR / "mongo", log_path=VAR / "log" / "secantus.log"
        )
        _log(f"starting embedded MongoDB-compatible server on 127.0.0.1:{port} (data: var/mongo)")
        servers.append(mongo.start())
        env["MONGODB_URI"] = mongo.uri
    if not env.get("REDIS_URL"):
        port = int(env.get("EMBEDDED_REDIS_PORT", "6379"))
        redis = RedisServer(port=port, log_path=VAR / "log" / "redis.log")
        _log(f"starting embedded redis-server on 127.0.0.1:{port}")
        servers.append(redis.start())
        env["REDIS_URL"] = redis.url


def _check_servers(servers: list, restarts: dict[str, deque[float]], *, restart: bool) -> None:
    """Report an embedded server that exited, once, and start it again (same port, same data)."""
    for server in servers:
        if server.running or getattr(server, "_reported", False):
            continue
        how = describe_exit(server.proc.returncode if server.proc else None)
        where = f"127.0.0.1:{server.port}"
        history = restarts.setdefault(server.name, deque())
        if not restart or not _may_restart(history):
            why = "--no-restart-servers" if not restart else "restarted too often"
            _log(
                f"embedded {server.name} on {where} exited ({how}); not starting it again ({why}): the system runs degraded"
            )
            server._reported = True  # say it once
            continue
        _log(f"embedded {server.name} on {where} exited ({how}); starting it again")
        try:
            server.start()
            _log(f"embedded {server.name} on {where} is back")
        except (OSError, RuntimeError, TimeoutError) as exc:
            _log(f"embedded {server.name} on {where} did not start again: {exc}")


def _supervise(
    children: list[tuple[str, subprocess.Popen]],
    commands: dict[str, list[str]],
    env: dict,
    servers: list = (),
    *,
    restart_servers: bool = True,
) -> int:
    """Watch the children and the embedded servers until a child that is not restarted exits.

    ``children`` is updated in place, so the caller's clean-up stops the current processes.
    Returns the exit code.
    """
    restarts: dict[str, deque[float]] = {name: deque() for name in RESTARTED}
    server_restarts: dict[str, deque[float]] = {}
    while True:
        _check_servers(list(servers), server_restarts, restart=restart_servers)
        for index, (name, proc) in enumerate(children):
            if proc.poll() is None:
                continue
            how = describe_exit(proc.returncode)
            if name not in restarts or not _may_restart(restarts[name]):
                _log(f"{name} exited ({how}); stopping everything")
                return 1
            _log(f"{name} exited ({how}); starting it again")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # leftovers of its group (pool children)
            children[index] = (name, _spawn(name, commands[name], env))
        time.sleep(0.5)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description="Run the whole system.")
    parser.add_argument(
        "--no-restart-servers",
        dest="restart_servers",
        action="store_false",
        default=os.environ.get("CHECKIN_RUN_RESTART_SERVERS", "1") not in ("0", "false", "no"),
        help="leave a killed embedded redis-server or SecantusDB dead (to demonstrate an outage)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the system; return the exit code."""
    options = _arguments(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    env["RUN_DATA_DIR"] = str(VAR)
    env["PYTHONUNBUFFERED"] = "1"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir_prepare(METRICS_DIR))
    servers = []
    children: list[tuple[str, subprocess.Popen]] = []
    python = sys.executable
    stopping = False

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Install these explicitly: a shell that starts us in the background may have ignored SIGINT,
    # and a closed terminal (SIGHUP) must clean up like Ctrl-C.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        _start_servers(env, servers)

        manage = [python, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "bootstrap"], cwd=ROOT, env=env, check=True)

        web_addr = env.get("RUN_ADDR", "127.0.0.1:8000")
        live_host, _, live_port = env.get("RUN_LIVE_ADDR", "127.0.0.1:8001").rpartition(":")
        # The board (served on web_addr) opens its WebSocket on the ASGI server's port, same host.
        env.setdefault("LIVE_WEBSOCKET_URL", f":{live_port}")
        celery = [python, "-m", "celery", "-A", "config"]
        commands = {
            "web": [*manage, "runserver", "--noreload", web_addr],
            # Gossip and mingle coordinate worker clusters we do not use; without them a broker
            # outage also skips a Celery shutdown error in the Gossip step. Worker heartbeats
            # (events nobody reads here) are published from the consumer's own loop with retries:
            # while Redis hangs they held up acknowledgements and consumption, so they are off.
            "worker": [*celery, "worker", "-l", "INFO", "-c", "2", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            "beat": [*celery, "beat", "-l", "INFO"],
            # WebSockets of the live board (config.asgi): uvicorn, as in production.
            "live": [python, "-m", "uvicorn", "config.asgi:application", "--host", live_host, "--port", live_port, "--lifespan", "off", "--ws", "websockets-sansio", "--ws-max-size", "65536", "--no-access-log"],
        }  # fmt: skip
        children = [(name, _spawn(name, argv, env)) for name, argv in commands.items()]
        # "ready" only once the pages answer: a newcomer clicks the links at once.
        started = dict(children)
        for name, addr in (("web", web_addr), ("live", f"{live_host}:{live_port}")):
            bound, _, port = addr.rpartition(":")
            # A server bound to every address answers on loopback.
            host = "127.0.0.1" if bound in ("", "0.0.0.0") else bound
            wait_for_port(int(port), timeout=120, proc=started[name], host=host)
        pages = ("door/", "board/", "admin/", "api/", "health")
        _log(
            f"ready: {'  '.join(f'http://{web_addr}/{page}' for page in pages)}  (Ctrl-C stops everything)"
        )
        return _supervise(children, commands, env, servers, restart_servers=options.restart_servers)
    except KeyboardInterrupt:
        stopping = True
        return 0
    except (subprocess.CalledProcessError, RuntimeError, TimeoutError) as exc:
        _log(f"set-up step failed: {exc}")
        return 1
    finally:
        if stopping:
            _log("stopping")
        # A second Ctrl-C (or the terminal closing) must not cut the clean-up short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        _stop_all([proc for _name, proc in children])
        for server in reversed(servers):
            server.stop()
        _log("all processes stopped")


if __name__ == "__main__":
    sys.exit(main())
