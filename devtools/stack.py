"""Start the whole system as real processes on loopback free ports, and stop all of it again.

Used by the chaos suite (``python -m chaos``) and the benchmark (``python -m bench``): SecantusDB,
redis-server, one or more gunicorn servers (``config.wsgi``, several threaded workers), optionally a
Celery worker and beat, and an ASGI server (uvicorn, ``config.asgi``: the live WebSockets). Every process runs in its own process group, so a fault can hit exactly one
process (and ``stop`` takes a process's children with it). ``Stack.stop`` is idempotent and is
also registered with atexit; callers wrap their work in try/finally.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from devtools.servers import (
    LAUNCHER,
    RedisServer,
    SecantusServer,
    SentinelSet,
    free_port,
    wait_for_port,
)
from devtools.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[1]
CHAOS_SETTINGS = "chaos.settings"

_CREATE_TOKEN = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username="chaos-driver")
user.is_staff = True
user.is_superuser = True
user.set_unusable_password()
user.save()
token, _ = Token.objects.get_or_create(user=user)
print("TOKEN=" + token.key)
"""


def _log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(
        self, name: str, argv: list[str], *, env: dict[str, str], log_path: Path,
        root: Path = ROOT,
    ):  # fmt: skip
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.root = root  # the code it runs (another checkout: bench.cpu_split --baseline)
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> Process:
        """Start the process (does not wait for readiness); again after an exit, same log."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - open for the process's lifetime
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def log_count(self, pattern: str) -> int:
        """Return how many lines of the process's log match the regular expression."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return 0
        return len(re.findall(pattern, text, flags=re.MULTILINE))

    def log_contains(self, text: str) -> bool:
        """Tell whether the process's log contains ``text`` (used as a readiness signal)."""
        try:
            return text in self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return False

    def wait_for_log(self, text: str, *, timeout: float) -> float:
        """Wait until ``text`` is in the log; return the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.log_contains(text):
                return time.monotonic() - started
            if not self.running:
                raise RuntimeError(
                    f"{self.name} exited (code {self.proc.returncode}); see {self.log_path}"
                )
            time.sleep(0.1)
        raise TimeoutError(f"{self.name}: no {text!r} in {self.log_path} after {timeout:.0f} s")

    def stop(self, *, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; also reap leftovers."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGCONT)
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # Orphans of the group (e.g. workers of a master that was killed) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


def _gunicorn_config(root: Path) -> list[str]:
    """The checkout's gunicorn config file; none for one from before config/gunicorn.py (it ran
    gunicorn's default sync workers)."""
    return ["--config", "config/gunicorn.py"] if (root / "config" / "gunicorn.py").exists() else []


class Gunicorn(Process):
    """A gunicorn master serving config.wsgi with ``workers`` threaded worker processes."""

    def __init__(
        self, name: str, *, workers: int, env: dict[str, str], logdir: Path, root: Path = ROOT
    ):
        self.port = free_port()
        self.workers = workers
        self.access_log = logdir / f"{name}-access.log"
        argv = [
            # Threaded workers, as the image runs them (config/gunicorn.py, WEB_THREADS).
            sys.executable, "-m", "gunicorn", *_gunicorn_config(root), "config.wsgi",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers),
            "--timeout", "30",
            "--graceful-timeout", "10",
            "--worker-tmp-dir", "/dev/shm" if Path("/dev/shm").is_dir() else "/tmp",
            "--no-control-socket",
            # Import the app once in the master: a replaced worker serves at once (forking, not a
            # 3 s import that took 10 s under the chaos load while the doors' requests queued).
            "--preload",
            "--access-logfile", str(self.access_log),
            # pid and duration per request, so a failure can be traced to a worker.
            "--access-logformat", '%(t)s pid=%(p)s "%(r)s" %(s)s %(M)sms',
        ]  # fmt: skip
        super().__init__(name, argv, env=env, log_path=logdir / f"{name}.log", root=root)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """Return the pids of the live worker processes (children of the master)."""
        if not self.running:
            return []
        try:
            children = psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []
        alive = []
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.status() != psutil.STATUS_ZOMBIE:
                    alive.append(child.pid)
        return sorted(alive)

    def stopped_worker_pids(self) -> list[int]:
        """Return the workers that are stopped (SIGSTOP: process state 'T')."""
        stopped = []
        for pid in self.worker_pids():
            with contextlib.suppress(psutil.NoSuchProcess):
                if psutil.Process(pid).status() == psutil.STATUS_STOPPED:
                    stopped.append(pid)
        return stopped

    def serving_worker_pid(self, *, timeout: float = 2.0) -> int | None:
        """Return a running worker that holds a client connection now (serving a request)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stopped = set(self.stopped_worker_pids())
            for pid in self.worker_pids():
                if pid in stopped:
                    continue
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    for conn in psutil.Process(pid).net_connections(kind="tcp"):
                        if conn.status == psutil.CONN_ESTABLISHED and conn.laddr.port == self.port:
                            return pid
            time.sleep(0.005)
        return None

    def wait_ready(self, *, timeout: float = 60.0) -> float:
        """Wait until all workers run and /health/live answers 200; return seconds waited."""
        started = time.monotonic()
        wait_for_port(self.port, timeout=timeout, proc=self.proc)
        while time.monotonic() - started < timeout:
            if len(self.worker_pids()) >= self.workers:
                try:
                    if httpx.get(f"{self.url}/health/live", timeout=5).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s; see {self.log_path}")

    def restart_worker(self, sig: int, *, timeout: float = 30.0) -> tuple[int, int | None, float]:
        """Send ``sig`` to one worker; return (old pid, new pid, seconds until replaced)."""
        before = self.worker_pids()
        stopped = set(self.stopped_worker_pids())
        candidates = [pid for pid in before if pid not in stopped]  # a stalled one is someone's
        if not candidates:
            raise RuntimeError(f"{self.name}: no running worker to signal")
        victim = candidates[0]
        started = time.monotonic()
        os.kill(victim, sig)
        while time.monotonic() - started < timeout:
            now = self.worker_pids()
            fresh = [pid for pid in now if pid not in before]
            if victim not in now and fresh and len(now) >= self.workers:
                return victim, fresh[0], time.monotonic() - started
            time.sleep(0.05)
        return victim, None, time.monotonic() - started


class Uvicorn(Process):
    """uvicorn serving config.asgi (the live WebSockets; HTTP too) with ``workers`` processes."""

    def __init__(self, name: str, *, env: dict[str, str], logdir: Path, workers: int = 1):
        self.port = free_port()
        argv = [
            sys.executable, "-m", "uvicorn", "config.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
            "--lifespan", "off", "--ws", "websockets-sansio", "--ws-max-size", "65536", "--no-access-log",
        ]  # fmt: skip
        super().__init__(name, argv, env=env, log_path=logdir / f"{name}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def wait_ready(self, *, timeout: float = 60.0) -> float:
        started = time.monotonic()
        wait_for_port(self.port, timeout=timeout, proc=self.proc)
        return time.monotonic() - started


@dataclass
class Stack:
    """The running system: servers, web servers, Celery; ``start_*`` then ``stop``."""

    logdir: Path
    settings: str = CHAOS_SETTINGS
    db_name: str = "checkin_chaos"
    extra_env: dict[str, str] = field(default_factory=dict)
    mongo: SecantusServer | None = None
    redis: RedisServer | None = None
    # With ``start_servers(sentinel=True)``: a master, a replica and three Sentinels; REDIS_URL is
    # then their redis+sentinel:// URL and CELERY_BROKER_URL is left unset, so it follows.
    sentinel: SentinelSet | None = None
    webs: dict[str, Gunicorn] = field(default_factory=dict)
    celery: list[Process] = field(default_factory=list)
    lives: dict[str, Uvicorn] = field(default_factory=dict)
    token: str | None = None
    supervisor: Supervisor = field(default_factory=Supervisor)
    # The checkout whose code the stack's manage.py and gunicorn run (SecantusDB and Redis are
    # this one's): another commit's, for a measurement side by side (bench.cpu_split --baseline).
    root: Path = ROOT
    # How SecantusDB is started: this checkout's launcher (devtools/secantusd.py), another's, or
    # None for SecantusDB's own unpatched ``secantusd-py``.
    stand_in: Path | None = LAUNCHER
    _stopped: bool = False

    def env(self, **overrides: str) -> dict[str, str]:
        """Return the environment for a child process of this stack."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"MONGODB_URI", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE=self.settings,
            MONGODB_URI=self.mongo.uri,
            MONGODB_NAME=self.db_name,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
            LOG_LEVEL=os.environ.get("STACK_LOG_LEVEL", "INFO"),
        )
        if self.sentinel is not None:
            env["REDIS_URL"] = self.sentinel.url  # the broker follows it (config/settings)
        else:
            env.update(REDIS_URL=self.redis.url, CELERY_BROKER_URL=self.redis.url)
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def redis_master(self) -> RedisServer:
        """Return the Redis server that is the master now (the only one without Sentinel)."""
        return self.sentinel.master() if self.sentinel is not None else self.redis

    def redis_servers(self) -> list[RedisServer]:
        return list(self.sentinel.servers) if self.sentinel is not None else [self.redis]

    def start_servers(self, *, sentinel: bool = False, down_after_ms: int = 1000) -> None:
        """Start SecantusDB and redis-server (or, with ``sentinel``, a master, a replica and three
        Sentinels), migrate, create the driver's staff user and token."""
        atexit.register(self.stop)
        self.logdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.mongo = SecantusServer(
            log_path=self.logdir / "secantus.log", launcher=self.stand_in
        ).start()
        if sentinel:
            self.sentinel = SentinelSet(log_dir=self.logdir, down_after_ms=down_after_ms).start()
            # A server started again (a fault) comes back as an empty master, whatever it was:
            # the Sentinels make it a replica of the master they name, as they would a restarted
            # node. Started with its first --replicaof it could replicate from a replica (the
            # old master after a failover): two replicas of each other, no master at all.
            for server in self.sentinel.servers:
                server.replica_of = None
            self.redis = self.sentinel.master()
            ports = [s.port for s in self.sentinel.sentinels]
            _log(
                f"secantusd on {self.mongo.port}, Redis master on {self.redis.port}, replica on "
                f"{self.sentinel.servers[1].port}, Sentinels on {ports}"
            )
        else:
            self.redis = RedisServer(log_path=self.logdir / "redis.log").start()
            _log(f"secantusd on {self.mongo.port}, redis-server on {self.redis.port}")
        self.manage("migrate", "--noinput", quiet=True)
        out = self.manage("shell", "-c", _CREATE_TOKEN, quiet=True)
        self.token = next(
            line.split("=", 1)[1] for line in out.splitlines() if line.startswith("TOKEN=")
        )
        # Door-staff group and beat's periodic tasks (reconcile, outbox), as a deployment has.
        # A throwaway admin password, so bootstrap writes no credentials file.
        self.manage(
            "bootstrap", "--no-demo", quiet=True, BOOTSTRAP_ADMIN_PASSWORD=secrets.token_urlsafe(18)
        )
        _log(f"migrated, bootstrapped, staff token created ({time.monotonic() - started:.1f} s)")

    def manage(self, *args: str, quiet: bool = False, timeout: float = 120.0, **env) -> str:
        """Run ``manage.py`` with the stack's environment; return stdout, raise on failure."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {args[0]} failed ({result.returncode}):\n{result.stderr[-3000:]}"
            )
        if not quiet and result.stdout.strip():
            print(result.stdout.rstrip(), flush=True)
        return result.stdout

    def has_command(self, name: str) -> bool:
        """Tell whether ``manage.py`` knows the management command ``name``."""
        return name in self.manage("help", "--commands", quiet=True).split()

    def start_web(self, name: str = "web", *, workers: int = 2, **env: str) -> Gunicorn:
        """Start a gunicorn (optionally with other settings via env) and wait until it serves."""
        web = Gunicorn(
            name, workers=workers, env=self.env(**env), logdir=self.logdir, root=self.root
        )
        self.webs[name] = web.start()
        seconds = web.wait_ready()
        _log(
            f"{name}: gunicorn on {web.port}, {workers} workers {web.worker_pids()} ({seconds:.1f} s)"
        )
        return web

    def start_celery(
        self, *, worker: bool = True, beat: bool = True, name: str = "celery-worker", **env: str
    ) -> None:
        """Start a Celery worker and/or beat (DatabaseScheduler), wait until they run, supervise.

        The supervisor starts either again when it exits (as compose's ``restart:`` would).
        Every worker writes to ``celery-worker.log`` (one file, appended to): what the workers of
        all nodes did, read as one (chaos/worker_log.py reads task ids, unique across workers).
        """
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        if worker:
            proc = Process(
                name,
                [
                    *celery,
                    "worker",
                    "-l",
                    "INFO",
                    "-c",
                    "1",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    # A second node's worker gets a name of its own (the first keeps celery@host).
                    *(["-n", f"{name}@%h"] if name != "celery-worker" else []),
                ],
                env=self.env(**env),
                log_path=self.logdir / "celery-worker.log",
            )
            ready = proc.log_count(r"ready\.") + 1  # the shared log may hold others' already
            self.celery.append(proc.start())
            started = time.monotonic()
            while proc.log_count(r"ready\.") < ready:
                if time.monotonic() - started > 60 or not proc.running:
                    raise RuntimeError(f"{name} not ready; see {proc.log_path}")
                time.sleep(0.1)
            _log(f"{name} ready ({time.monotonic() - started:.1f} s)")
            self.supervisor.watch(proc)
        if beat:
            scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
            proc = Process(
                "celery-beat",
                [*celery, "beat", "-l", "INFO", "-S", scheduler, "--pidfile="],
                env=self.env(),
                log_path=self.logdir / "celery-beat.log",
            ).start()
            self.celery.append(proc)
            _log(f"celery beat ready ({proc.wait_for_log('beat: Starting', timeout=60):.1f} s)")
            self.supervisor.watch(proc)

    def start_live(self, name: str = "live", *, workers: int = 1, **env: str) -> Uvicorn:
        """Start an ASGI server (uvicorn, config.asgi) and wait until it listens; supervise it."""
        live = Uvicorn(name, env=self.env(**env), logdir=self.logdir, workers=workers)
        self.lives[name] = live.start()
        _log(f"{name}: uvicorn on {live.port} ({live.wait_ready():.1f} s)")
        self.supervisor.watch(live)
        return live

    def celery_process(self, name: str) -> Process | None:
        """Return the supervised Celery process named ``celery-worker`` or ``celery-beat``."""
        return next((proc for proc in self.celery if proc.name == name), None)

    def processes_alive(self) -> dict[str, bool]:
        """Return whether each long-lived process of the stack still runs."""
        alive = {name: web.running for name, web in self.webs.items()}
        alive.update({proc.name: proc.running for proc in self.celery})
        alive.update({name: live.running for name, live in self.lives.items()})
        if self.mongo:
            alive["secantusd"] = self.mongo.running
        return alive

    def stop(self) -> None:
        """Stop every process this stack started (idempotent, safe after a partial start)."""
        if self._stopped:
            return
        self._stopped = True
        self.supervisor.stop()  # what is stopped now must stay stopped
        for proc in reversed(self.celery):
            proc.stop()
        for live in self.lives.values():
            live.stop()
        for web in reversed(list(self.webs.values())):
            web.stop()
        servers = [self.mongo] + ([] if self.sentinel is not None else [self.redis])
        for server in servers:
            if server is not None:
                server.resume()
                server.stop()
        if self.sentinel is not None:
            for server in self.sentinel.servers:
                server.resume()
            self.sentinel.stop()
        _log(f"all processes stopped (logs: {self.logdir})")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt so try/finally clean-up runs.

    Only for the synchronous phases (start-up, checks). Inside asyncio, use
    ``handle_signals_in_loop``: an exception raised from a signal handler in the middle of the
    event loop's own code can leave it spinning.
    """

    def _raise(signum, frame):
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and we must still clean up.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise)


def handle_signals_in_loop(graceful: Callable[[], None]) -> Callable[[], bool]:
    """Route SIGINT/SIGTERM/SIGHUP through the running loop: first ``graceful()``, then cancel.

    The first signal asks the work to wind down (bounded loops end, clean-up runs); a second one
    cancels the current task. Return a function telling whether a signal arrived.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def on_signal(sig: int) -> None:
        received.append(sig)
        if len(received) == 1:
            _log(f"{signal.Signals(sig).name}: winding down (again to cancel at once)")
            graceful()
        elif task is not None:
            task.cancel()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    return lambda: bool(received)
