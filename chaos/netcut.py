"""A door's own network link that the chaos suite can cut: a TCP relay on loopback.

Each offline-capable chaos door reaches the API through a relay of its own (127.0.0.1:<port> to
the gunicorn's port), so its network can fail on its own while every other door stays connected.
Cut, the relay carries nothing in either direction, like a pulled cable or a dead Wi-Fi: a request
already on its way may reach the server (it was forwarded before the cut) and its answer is
dropped; a new connection is accepted by the kernel and then hears nothing, so the door gives up on
its own timeout. ``cut_after_request`` cuts the link as soon as the next request has been forwarded
whole: the server decides it, the door never hears the answer (a lost sync answer, on purpose).

Not a network namespace: the stack listens on the host's loopback, and a door in its own namespace
would need a veth pair and addresses the stack does not bind to. The relay cuts the door's real TCP
connections instead, which is what the door sees of a network cut.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass(eq=False)  # kept in a set, by identity
class _Pipe:
    """One client connection and its upstream connection; dead once cut (carries nothing)."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    dead: bool = False
    fired: int | None = None  # this pipe's request fired ``cut_after_request``: its number


@dataclass
class CuttableLink:
    """A TCP relay from ``url`` to ``target`` (host, port) that drops everything while cut."""

    name: str
    target: tuple[str, int]
    clock: object = None  # run clock (seconds), for the cut windows
    cuts: list[list[float]] = field(default_factory=list)  # [start, end] on the run clock
    # The answers a ``cut_after_request`` kept from its door, by the cut's number (``fired``):
    # the bytes the server sent back, which the door never got.
    dropped: dict[int, bytes] = field(default_factory=dict)
    fired: int = 0  # how many ``cut_after_request`` cuts have fired
    # Applied to every chunk the server sends back (chaos/redis_links.py rewrites the Sentinels'
    # answers so a node reaches the master through its own link too).
    rewrite: object = None
    _server: asyncio.Server | None = None
    _pipes: set = field(default_factory=set)
    _cut: bool = False
    _cut_after_request: bool = False

    @property
    def url(self) -> str:
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def is_cut(self) -> bool:
        return self._cut

    async def start(self) -> CuttableLink:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        """Stop listening and close every connection (end of the run)."""
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            self._drop(pipe)

    def cut(self) -> None:
        """Cut the link: every open connection goes dead; new ones hear nothing."""
        if self._cut:
            return
        self._cut = True
        self.cuts.append([self._now(), float("inf")])
        for pipe in self._pipes:
            pipe.dead = True

    def cut_after_request(self) -> None:
        """Cut the link as soon as the next request has been forwarded to the server."""
        self._cut_after_request = True

    def disarm(self) -> None:
        """Forget a ``cut_after_request`` that has not fired (its request never left)."""
        self._cut_after_request = False

    def restore(self) -> None:
        """Carry traffic again: new connections work; the dead ones are closed."""
        self._cut_after_request = False
        if not self._cut:
            return
        self._cut = False
        self.cuts[-1][1] = self._now()
        for pipe in [p for p in self._pipes if p.dead and p.fired is None]:
            self._drop(pipe)  # a fired pipe stays until the server is done: its answer is kept

    def _now(self) -> float:
        return self.clock() if callable(self.clock) else 0.0

    def _drop(self, pipe: _Pipe) -> None:
        self._pipes.discard(pipe)
        for writer in (pipe.client, pipe.upstream):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pipe = _Pipe(client=writer, dead=self._cut)
        self._pipes.add(pipe)
        if pipe.dead:
            return  # accepted by the kernel, then silence: the door times out
        try:
            up_reader, pipe.upstream = await asyncio.open_connection(*self.target)
        except OSError:
            self._drop(pipe)
            return
        await asyncio.gather(
            self._carry(reader, pipe.upstream, pipe, upward=True),
            self._carry(up_reader, writer, pipe, upward=False),
        )
        if not pipe.dead or pipe.fired is not None:
            self._drop(pipe)

    async def _carry(self, reader, writer, pipe: _Pipe, *, upward: bool) -> None:
        """Copy bytes one way until EOF; once the pipe is dead, read and drop them."""
        try:
            while data := await reader.read(CHUNK):
                if pipe.dead:
                    if pipe.fired is not None and not upward:  # kept for the checks only
                        kept = self.dropped.get(pipe.fired, b"")
                        self.dropped[pipe.fired] = (kept + data)[:CHUNK]
                    continue  # cut: the bytes go nowhere
                if not upward and self.rewrite is not None:
                    data = self.rewrite(data)
                writer.write(data)
                await writer.drain()
                if upward and self._cut_after_request and _request_complete(data):
                    self._cut_after_request = False
                    self.fired += 1
                    pipe.fired = self.fired
                    self.cut()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # The end of one side is passed on, as TCP does, unless the link is cut: a server that
            # closed (a Redis killed) is a closed connection to its client, not a silent one.
            if not pipe.dead:
                end = pipe.upstream if upward else pipe.client
                if end is not None:
                    with contextlib.suppress(Exception):
                        end.write_eof()


def answer_status(raw: bytes) -> tuple[int | None, bytes]:
    """Return the status and the body of a raw HTTP/1.1 answer (None: no status line yet)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b"\r\n", 1)[0].split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return status, body


def _request_complete(data: bytes) -> bool:
    """Tell whether ``data`` ends an HTTP request (its body is all there, by Content-Length).

    The chaos client sends each request's head and small JSON body in one or two writes; a chunk
    that carries no header block is the body's end.
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return True
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return True
