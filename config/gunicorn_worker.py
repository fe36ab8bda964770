"""gunicorn's threaded worker, whose threads and main thread never wait on a client's network.

Two waits of gunicorn's ``gthread`` worker (27.0) are moved into the worker's poller, where
waiting costs nothing; everything else is gunicorn's. With no keep-alive (``config/gunicorn.py``)
every request is a connection of its own, so both happened on every request.

**The close.** gunicorn 26+ closes a connection after its response "gracefully" (RFC 9112 section
9.6): it half-closes its side, then reads until the client closes its own or 2 s have passed, so
that request bytes it never read (a body left unread by a refusal) do not make the kernel reset the
connection and drop the response before the client reads it. ``gthread`` does this on its main
thread, the one that accepts connections and hands them to the threads, and blocks there: each
close waited for that client's FIN, one after another. A worker served at most about one request
per round trip to its doors, and a client that read its answer and kept the connection open
stopped the worker for 2 s: measured, a client that closed 200 ms late made every other request
to that worker take 191 ms instead of 1. Here the main thread half-closes and moves on; the
connection lingers in the poller, read without blocking and closed when the client closes it, when
``LINGER_SECONDS`` have passed or ``LINGER_MAX_BYTES`` were drained (gunicorn's own bounds).

**The request.** ``gthread`` hands each accepted connection to a thread at once, and the thread
waits up to 5 s for the request to begin, then reads it as it comes, however slowly. A worker has
as many connections as threads (8), so eight connections that send nothing (a door stuck
mid-request, or anyone who can reach the port) took every thread and stopped the worker from
accepting (measured: a request behind them waited 4.8 s; 300 froze the worker past a 30 s
timeout), and eight that send their request a byte a second held every thread for the length of
the request (a request behind them waited 25.5 s). Here a connection's request arrives in the
poller, read as it comes without blocking, and goes to a thread once it is whole: its head and
its body by ``Content-Length`` (``_request_whole``), or ``REQUEST_MAX_BUFFERED`` bytes of it,
which is at once for a door (the request comes with the connection). One that is not whole
within ``REQUEST_WAIT_SECONDS`` of its accept is closed, as gunicorn closes one that has not
begun by then. A worker whose threads are all busy stops accepting, as before, so the excess
waits in the kernel's backlog, where another worker may take it.

Waiting connections and lingering ones hold no thread and no slot; at most
``WAITING_MAX_CONNECTIONS`` and ``LINGER_MAX_CONNECTIONS`` of each at once, the oldest closed
outright beyond that, so that idle clients cannot pile up sockets (one who wants to shut out a
door's request must now open hundreds of connections faster than that door sends its request).
TLS connections (``cfg.is_ssl``; the balancer terminates TLS here), HTTP/2 by prior knowledge and
uWSGI are left to gunicorn entirely.
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import socket
import time
from collections import OrderedDict, deque
from functools import partial

from gunicorn import http, util
from gunicorn.workers import gthread

REQUEST_MAX_BUFFERED = 65536
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 65536
LINGER_MAX_CONNECTIONS = 256
REQUEST_WAIT_SECONDS = gthread.DEFAULT_WORKER_DATA_TIMEOUT  # 5 s, gunicorn's own
WAITING_MAX_CONNECTIONS = 256
_READ_CHUNK = 16384


class ThreadWorker(gthread.ThreadWorker):
    """``gthread`` with its two waits on the network moved to the poller (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # socket -> what the poller holds it for; each in the order its wait began, which is the
        # order of the deadlines. Accepted, its request not whole yet:
        self.waiting: OrderedDict[socket.socket, _Held] = OrderedDict()
        # Answered and half-closed, the client's close awaited:
        self.lingering: OrderedDict[socket.socket, _Held] = OrderedDict()
        # Connections whose request has arrived while every thread was busy (first come first).
        self.ready: deque[gthread.TConn] = deque()

    def hold(
        self, held: OrderedDict[socket.socket, _Held], most: int, sock: socket.socket,
        entry: _Held, readable,
    ) -> None:  # fmt: skip
        """Leave ``sock`` to the poller (``readable(sock)`` when it is), the oldest beyond
        ``most`` closed outright."""
        while len(held) >= most:
            self.end(held, next(iter(held)))
        held[sock] = entry
        try:
            self.poller.register(sock, selectors.EVENT_READ, partial(readable, sock))
        except (OSError, ValueError):
            self.end(held, sock)

    def end(self, held: OrderedDict[socket.socket, _Held], sock: socket.socket, *, close=True):
        """Take ``sock`` back from the poller, and close it unless it goes on to a thread."""
        held.pop(sock, None)
        with contextlib.suppress(KeyError, OSError, ValueError):  # not registered; poller gone
            self.poller.unregister(sock)
        if close:
            util.close(sock)

    # --- the request ------------------------------------------------------------------------

    def accept(self, listener):
        if (
            self.cfg.is_ssl
            or getattr(self.cfg, "protocol", "http") != "http"
            or _h2_preface(self.cfg)
        ):
            return super().accept(listener)
        try:
            sock, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return None
        conn = gthread.TConn(self.cfg, sock, address, listener.getsockname())  # non-blocking
        arriving = _Held(time.monotonic() + REQUEST_WAIT_SECONDS, conn)
        whole = self.request_read(sock, arriving)
        if whole:  # the usual case: it came with the connection
            self.hand_over(arriving.conn, arriving.received)
        elif whole is None:
            self.hold(self.waiting, WAITING_MAX_CONNECTIONS, sock, arriving, self.request_readable)
        else:
            util.close(sock)
        return None

    def request_readable(self, sock: socket.socket, _fileobj=None) -> None:
        arriving = self.waiting.get(sock)
        if arriving is None:
            return
        whole = self.request_read(sock, arriving)
        if whole is not None:
            self.end(self.waiting, sock, close=not whole)
        if whole:
            self.hand_over(arriving.conn, arriving.received)

    @staticmethod
    def request_read(sock: socket.socket, arriving: _Held) -> bool | None:
        """Read what has arrived: True once the request is whole (``_request_whole``), False if
        the client closed or failed first, None while it is still arriving."""
        while True:
            try:
                data = sock.recv(_READ_CHUNK)
            except BlockingIOError:
                return None
            except OSError:
                return False
            if not data:
                return False
            arriving.received += data
            if _request_whole(arriving.received):
                return True

    def hand_over(self, conn: gthread.TConn, received: bytearray) -> None:
        """To a thread, or next in line for one; its parser reads what arrived, then the socket."""
        conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(received))
        conn.data_ready = True  # the thread reads from the buffer; it waits for nothing more
        self.ready.append(conn)
        self.dispatch_ready()

    def dispatch_ready(self) -> None:
        # A slot per thread, as gunicorn counts them: all busy, and run() stops accepting.
        while self.ready and self.nr_conns < self.worker_connections:
            self.nr_conns += 1
            self.enqueue_req(self.ready.popleft())

    # --- the close --------------------------------------------------------------------------

    def finish_request(self, conn, fs):
        try:
            if fs.cancelled() or fs.exception() is not None or self.cfg.is_ssl:
                return super().finish_request(conn, fs)
            result = fs.result()
            if result is gthread._DEFER or result:  # waits for data, or kept alive: gunicorn's
                return super().finish_request(conn, fs)
            self.nr_conns -= 1
            self.linger(conn.sock)
            return None
        finally:
            self.dispatch_ready()  # a thread is free

    def linger(self, sock: socket.socket) -> None:
        """Half-close ``sock`` and leave it to the poller to drain and close (main thread)."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            util.close(sock)
            return
        entry = _Held(time.monotonic() + LINGER_SECONDS)
        self.hold(self.lingering, LINGER_MAX_CONNECTIONS, sock, entry, self.linger_readable)

    def linger_readable(self, sock: socket.socket, _fileobj=None) -> None:
        """Drain what the client sent; close once it has closed its side or sent too much."""
        entry = self.lingering.get(sock)
        if entry is None:
            return
        while True:
            try:
                data = sock.recv(_READ_CHUNK)
            except BlockingIOError:
                return  # all drained for now; the client has not closed yet
            except OSError:
                break
            if not data:
                break  # the client closed its side
            entry.drained += len(data)
            if entry.drained >= LINGER_MAX_BYTES:
                break
        self.end(self.lingering, sock)

    # --- the sweeps -------------------------------------------------------------------------

    def expire(self, *, force: bool = False) -> None:
        now = time.monotonic()
        for held in (self.waiting, self.lingering):
            while held:
                sock, entry = next(iter(held.items()))
                if entry.deadline > now and not force:
                    break
                self.end(held, sock)

    # run() calls these after every wait of its poller (at most 1 s), and murder_keepalived with
    # force=True when the worker stops: the waiting and lingering connections are swept with them.
    def murder_pending(self):
        super().murder_pending()
        self.expire()

    def murder_keepalived(self, force=False):
        super().murder_keepalived(force=force)
        if force:
            self.expire(force=True)


def _h2_preface(cfg) -> bool:
    """HTTP/2 by prior knowledge is on: its thread reads the preface itself (gunicorn's way)."""
    return getattr(cfg, "http2_cleartext", None) in ("prior-knowledge", "both")


class _Held:
    """What the poller holds a connection for: until ``deadline``; a request's connection and its
    bytes so far (``received``), or the bytes drained from a lingering one (``drained``)."""

    __slots__ = ("conn", "deadline", "drained", "received")

    def __init__(self, deadline: float, conn: gthread.TConn | None = None):
        self.deadline = deadline
        self.conn = conn
        self.received = bytearray()
        self.drained = 0


_EXPECT = re.compile(rb"\nexpect:", re.IGNORECASE)
_CONTENT_LENGTH = re.compile(rb"\ncontent-length:[ \t]*(\d{1,12})[ \t]*\r?(?:\n|$)", re.IGNORECASE)


def _request_whole(received: bytearray) -> bool:
    """Whether a thread can take the request without waiting on the client: its head has ended
    and its body (by ``Content-Length``) is all there, or ``REQUEST_MAX_BUFFERED`` bytes are.

    A head without a length (no body, or a chunked one), or with ``Expect: 100-continue`` (the
    client sends its body only once gunicorn has answered that), is whole at its end: the thread
    reads the body as gunicorn does. What the head says is gunicorn's to judge (a malformed one
    is answered 400 by its parser); this only decides when to hand it over.
    """
    if len(received) >= REQUEST_MAX_BUFFERED:
        return True
    end = received.find(b"\r\n\r\n")
    if end < 0:
        return False
    if _EXPECT.search(received, 0, end + 2):
        return True  # the client waits for gunicorn's "100 Continue" before its body
    length = _CONTENT_LENGTH.search(received, 0, end + 2)
    return length is None or len(received) >= end + 4 + int(length.group(1))
