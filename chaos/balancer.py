"""The chaos suite's load balancer in front of two app nodes: TCP, round robin, health-checked.

Each new client connection goes to the next node in turn that is *in* (its last health checks
passed); if that node refuses the connection, the next one is tried, so a node killed between two
health checks costs a door one retry, not an answer. A connection stays on its node for its life
(keep-alive), as with a TCP balancer in front of gunicorn; when a node dies its connections break
and the door's retry opens a new one, on the other node.

With no node in (every node failed its checks: MongoDB unreachable), every node is tried in turn.

Health: every ``interval`` seconds ``GET /health/ready`` on each node (``check_seconds`` timeout).
A node is taken out after ``fall`` failed checks in a row and put back after ``rise`` passed ones
(HAProxy's ``fall``/``rise``). Every change is kept in ``changes`` with the run clock, so the
checks and the report can say when a node was out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

CHUNK = 65536


@dataclass
class Backend:
    """One node as the balancer sees it."""

    name: str
    port: int
    host: str = "127.0.0.1"
    up: bool = True  # in rotation
    passes: int = 0  # checks passed in a row
    fails: int = 0  # checks failed in a row
    connections: int = 0  # client connections sent here in all

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


async def http_ready(backend: Backend, timeout: float) -> bool:
    """The health check: ``/health/ready`` answers 200 within ``timeout``."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answer = await client.get(f"{backend.url}/health/ready")
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


@dataclass
class Balancer:
    """Round robin over the backends that are in; ``start()``, then ``url`` for the clients."""

    backends: list[Backend]
    clock: Callable[[], float] | None = None
    interval: float = 0.5
    check_seconds: float = 1.5
    fall: int = 2
    rise: int = 2
    check: Callable[[Backend, float], Awaitable[bool]] = http_ready
    changes: list[tuple[float, str, str]] = field(default_factory=list)  # (t, node, "out"|"in")
    _next: int = 0
    _server: asyncio.Server | None = None
    _checker: asyncio.Task | None = None
    _writers: set = field(default_factory=set)

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def in_rotation(self) -> list[Backend]:
        return [backend for backend in self.backends if backend.up]

    def pick(self) -> list[Backend]:
        """Return the backends to try for a new connection: the next one in, then the others in;
        with none in, every one in turn (as nginx does): a MongoDB outage fails every node's
        /health/ready at once, and then the nodes' own 503 is the door's right answer, not a
        connection closed by the balancer."""
        count = len(self.backends)
        order = [self.backends[(self._next + step) % count] for step in range(count)]
        self._next = (self._next + 1) % count
        return [backend for backend in order if backend.up] or order

    def record(self, backend: Backend, passed: bool) -> None:
        """Count one health check's result; take the node out or put it back when due."""
        if passed:
            backend.passes, backend.fails = backend.passes + 1, 0
            if not backend.up and backend.passes >= self.rise:
                backend.up = True
                self.changes.append((self._now(), backend.name, "in"))
        else:
            backend.fails, backend.passes = backend.fails + 1, 0
            if backend.up and backend.fails >= self.fall:
                backend.up = False
                self.changes.append((self._now(), backend.name, "out"))

    def out_windows(self, end: float) -> dict[str, list[tuple[float, float]]]:
        """Return, per node, the run-clock windows it was out of rotation (open ones end at end)."""
        windows: dict[str, list[tuple[float, float]]] = {b.name: [] for b in self.backends}
        opened: dict[str, float] = {}
        for t, name, change in self.changes:
            if change == "out":
                opened[name] = t
            elif name in opened:
                windows[name].append((opened.pop(name), t))
        for name, t in opened.items():
            windows[name].append((t, end))
        return windows

    def _now(self) -> float:
        return self.clock() if self.clock else 0.0

    async def start(self) -> Balancer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._checker = asyncio.create_task(self._check_forever())
        return self

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def check_once(self) -> None:
        """Check every node once (at the same time) and record the results."""
        results = await asyncio.gather(
            *(self.check(backend, self.check_seconds) for backend in self.backends)
        )
        for backend, passed in zip(self.backends, results, strict=True):
            self.record(backend, passed)

    async def _check_forever(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self.interval)

    async def _connect(self):
        for backend in self.pick():
            try:
                reader, writer = await asyncio.open_connection(backend.host, backend.port)
            except OSError:
                continue  # refused (a dead node not yet checked out): the next one
            backend.connections += 1
            return reader, writer
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream = await self._connect()
        if upstream is None:  # no node in: the client sees a closed connection
            self._writers.discard(writer)
            writer.transport.abort()
            return
        up_reader, up_writer = upstream
        self._writers.add(up_writer)
        try:
            await asyncio.gather(_carry(reader, up_writer), _carry(up_reader, writer))
        finally:
            for end in (writer, up_writer):
                self._writers.discard(end)
                with contextlib.suppress(Exception):
                    end.transport.abort()


async def _carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes one way until EOF or an error; then end the other side's writing."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.write_eof()
