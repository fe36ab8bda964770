"""gunicorn's threaded worker, whose main thread never waits on a client to close its connection.

gunicorn 26+ closes a connection after its response "gracefully" (RFC 9112 section 9.6): it
half-closes its side, then reads until the client closes its own or 2 s have passed, so that
request bytes it never read (a body left unread by a refusal) do not make the kernel reset the
connection and drop the response before the client reads it. The threaded worker does this on
its main thread, the one that accepts connections and hands them to the threads, and blocks
there: every connection closed waits for the client's FIN, one after another. With no keep-alive
(``config/gunicorn.py``) that is every request, so a worker served at most one request per round
trip to its slowest door (a door on Wi-Fi 150 ms away: 6-7 requests a second), and one client that
read its answer and kept the connection open stopped the worker for 2 s each time: measured, a
client that closed 200 ms late made every other request to that worker take 191 ms instead of 1.

Here the main thread half-closes and moves on; the connection lingers in the worker's poller, read
without blocking and closed when the client closes it, when ``LINGER_SECONDS`` have passed or
``LINGER_MAX_BYTES`` were drained (gunicorn's own bounds). A lingering connection holds no thread
and no connection slot; at most ``LINGER_MAX_CONNECTIONS`` linger at once, the oldest closed
outright beyond that (what gunicorn up to 25 did with every connection), so a client that never
closes cannot pile up sockets. Everything else is gunicorn's ``gthread`` worker.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from collections import OrderedDict
from functools import partial

from gunicorn import util
from gunicorn.workers import gthread

LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 65536
LINGER_MAX_CONNECTIONS = 256
_CHUNK = 4096


class ThreadWorker(gthread.ThreadWorker):
    """``gthread`` with the close's linger moved off the main thread (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # socket -> [deadline, bytes drained]; in the order they began, which is deadline order.
        self.lingering: OrderedDict[socket.socket, list] = OrderedDict()

    def finish_request(self, conn, fs):
        if fs.cancelled() or fs.exception() is not None or self.cfg.is_ssl:
            return super().finish_request(conn, fs)
        result = fs.result()
        if result is gthread._DEFER or result:  # waits for data, or kept alive: gunicorn's
            return super().finish_request(conn, fs)
        self.nr_conns -= 1
        self.linger(conn.sock)
        return None

    def linger(self, sock: socket.socket) -> None:
        """Half-close ``sock`` and leave it to the poller to drain and close (main thread)."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            util.close(sock)
            return
        while len(self.lingering) >= LINGER_MAX_CONNECTIONS:
            self.linger_end(next(iter(self.lingering)))
        self.lingering[sock] = [time.monotonic() + LINGER_SECONDS, 0]
        try:
            self.poller.register(sock, selectors.EVENT_READ, partial(self.linger_readable, sock))
        except (OSError, ValueError):
            self.linger_end(sock)

    def linger_readable(self, sock: socket.socket, _fileobj=None) -> None:
        """Drain what the client sent; close once it has closed its side or sent too much."""
        entry = self.lingering.get(sock)
        if entry is None:
            return
        while True:
            try:
                data = sock.recv(_CHUNK)
            except BlockingIOError:
                return  # all drained for now; the client has not closed yet
            except OSError:
                break
            if not data:
                break  # the client closed its side
            entry[1] += len(data)
            if entry[1] >= LINGER_MAX_BYTES:
                break
        self.linger_end(sock)

    def linger_end(self, sock: socket.socket) -> None:
        self.lingering.pop(sock, None)
        with contextlib.suppress(KeyError, OSError, ValueError):  # not registered; poller gone
            self.poller.unregister(sock)
        util.close(sock)

    def linger_expire(self, *, force: bool = False) -> None:
        now = time.monotonic()
        while self.lingering:
            sock, (deadline, _drained) = next(iter(self.lingering.items()))
            if deadline > now and not force:
                break
            self.linger_end(sock)

    # The main loop sweeps expired connections after every wait of its poller (at most 1 s), and
    # closes every one when the worker stops: the lingering ones are swept with them.
    def murder_pending(self):
        super().murder_pending()
        self.linger_expire()

    def murder_keepalived(self, force=False):
        super().murder_keepalived(force=force)
        if force:
            self.linger_expire(force=True)
