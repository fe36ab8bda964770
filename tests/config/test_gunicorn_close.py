"""A worker's connections, on a real gunicorn with the image's config (config/gunicorn.py).

With no keep-alive every request is a connection of its own. Its close lingers for the client's
own close (so a body left unread does not turn into a reset that drops the response), and that
linger must not hold up the worker's other requests: gunicorn's threaded worker waited for it on
its main thread, so one door that kept its connection open after its answer stopped the whole
worker for up to 2 s. Likewise a connection that sends nothing must not take a thread while it
says nothing (config/gunicorn_worker.py).
"""

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from config.gunicorn_worker import WAITING_MAX_CONNECTIONS
from devtools.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HOLD_S = 2.5  # the late client keeps its end open this long (gunicorn's own linger: at most 2 s)

APP = '''
import hashlib


def app(environ, start_response):
    """Answers at once and never reads a request body; at /echo, the body's length and digest."""
    out = b"ok"
    if environ["PATH_INFO"] == "/echo":
        body = environ["wsgi.input"].read()
        out = b"%d %s ok" % (len(body), hashlib.sha256(body).hexdigest().encode())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
'''


@pytest.fixture
def gunicorn_port(tmp_path):
    (tmp_path / "tinyapp.py").write_text(APP)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [
            gunicorn, "--config", str(ROOT / "config" / "gunicorn.py"), "--pythonpath",
            str(ROOT), "--chdir", str(tmp_path), "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "tinyapp:app",
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield port
        # No control socket (config/gunicorn.py): gunicorn would have put it in $HOME/.gunicorn.
        assert list(home.iterdir()) == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _request(port: int, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST / HTTP/1.1\r\nHost: door\r\nContent-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode() + body)
    return sock


def _answer(sock: socket.socket) -> bytes:
    received = b""
    while not received.endswith(b"ok"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def test_a_door_that_keeps_its_connection_open_does_not_hold_up_the_others(gunicorn_port):
    # A warm-up: the worker's first request pays for its imports.
    warm = _request(gunicorn_port)
    assert _answer(warm).startswith(b"HTTP/1.1 200")
    warm.close()

    late = _request(gunicorn_port)
    assert _answer(late).startswith(b"HTTP/1.1 200")  # answered; it keeps its end open meanwhile
    seconds = []
    try:
        for _ in range(5):
            began = time.monotonic()
            other = _request(gunicorn_port)
            assert _answer(other).startswith(b"HTTP/1.1 200")
            other.close()
            seconds.append(time.monotonic() - began)
    finally:
        threading.Timer(HOLD_S, late.close).start()
    # Each is answered in about a millisecond (the bounds leave room for a loaded machine).
    assert max(seconds) < 1.5, seconds  # gunicorn's gthread: 2.0 (its linger's bound)


def test_a_body_left_unread_is_drained_not_reset(gunicorn_port):
    """The close still lingers: the unread body is drained and the connection ends in order.

    A close with unread bytes makes the kernel answer with a reset, which on a real network can
    overtake the answer and drop it; on loopback the answer has arrived already, so what shows is
    how the connection ended: the client's next read sees the end (a FIN), not a reset.
    """
    sock = _request(gunicorn_port, body=b"x" * 32768)
    time.sleep(0.3)  # the worker has answered and closed by now; the body is still unread
    try:
        assert _answer(sock).startswith(b"HTTP/1.1 200")
        assert sock.recv(4096) == b""  # a reset raises ConnectionResetError here
    finally:
        sock.close()


def _idle(port: int, count: int) -> list[socket.socket]:
    """Connections that send nothing: a door stuck mid-request, or someone holding the port."""
    return [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]


def _timed_request(port: int) -> float:
    began = time.monotonic()
    sock = _request(port)
    try:
        assert _answer(sock).startswith(b"HTTP/1.1 200")
    finally:
        sock.close()
    return time.monotonic() - began


def test_connections_that_send_nothing_do_not_take_the_threads(gunicorn_port):
    """As many idle connections as the worker has threads (8): a door's request is answered.

    gunicorn's threaded worker gave each accepted connection a thread that waited 5 s for its
    request, and accepted no more meanwhile: the door's request waited 4.8 s.
    """
    _timed_request(gunicorn_port)  # warm
    idle = _idle(gunicorn_port, 8)
    try:
        time.sleep(0.2)  # accepted by now
        assert _timed_request(gunicorn_port) < 2.5  # gunicorn's gthread: 4.8
    finally:
        for sock in idle:
            sock.close()


def test_idle_connections_beyond_the_cap_are_closed_oldest_first(gunicorn_port):
    _timed_request(gunicorn_port)  # warm
    idle = _idle(gunicorn_port, WAITING_MAX_CONNECTIONS + 40)
    try:
        time.sleep(0.5)
        assert _timed_request(gunicorn_port) < 2.5  # gunicorn's gthread: timed out
        # The worker closed the oldest ones (a read sees the end) and keeps the newest waiting.
        idle[0].settimeout(5)
        assert idle[0].recv(1) == b""
        idle[-1].settimeout(0.2)
        with pytest.raises(TimeoutError):
            idle[-1].recv(1)
    finally:
        for sock in idle:
            sock.close()


def _closed_by_the_worker(sock: socket.socket, *, within: float) -> bool:
    """The worker closed it: a read sees its end, or the reset of a send after its close."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _trickle(sock: socket.socket, data: bytes, gap: float, stop: threading.Event) -> None:
    for byte in data:
        if stop.wait(gap):
            return
        try:
            sock.send(bytes([byte]))
        except OSError:
            return  # closed by the worker


def test_requests_sent_a_byte_at_a_time_do_not_take_the_threads(gunicorn_port):
    """Eight connections sending their request a byte every 0.5 s (slowloris): a door's request
    is answered at once, and the worker closes them once they have not finished within 5 s.

    gunicorn's threaded worker gave each a thread that read the request as it came: a request
    behind eight of them (a byte a second) waited 25.5 s.
    """
    _timed_request(gunicorn_port)  # warm
    stop = threading.Event()
    slow = _idle(gunicorn_port, 8)
    request = b"POST / HTTP/1.1\r\nHost: door\r\nContent-Length: 0\r\n\r\n"
    threads = [threading.Thread(target=_trickle, args=(s, request, 0.5, stop)) for s in slow]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # each has begun its request by now
        assert _timed_request(gunicorn_port) < 2.5  # gunicorn's gthread: 25.5 s at a byte a second
        # Not whole 5 s after its accept (REQUEST_WAIT_SECONDS): closed, unanswered.
        for sock in slow:
            assert _closed_by_the_worker(sock, within=10)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for sock in slow:
            sock.close()


def test_a_request_that_arrives_in_pieces_is_served_whole(gunicorn_port):
    """A slow door's request, head and body in pieces 0.2 s apart, read whole by the app."""
    body = os.urandom(3000)
    head = f"POST /echo HTTP/1.1\r\nHost: door\r\nContent-Length: {len(body)}\r\n\r\n"
    pieces = [head[:10].encode(), head[10:].encode(), body[:1000], body[1000:]]
    sock = socket.create_connection(("127.0.0.1", gunicorn_port), timeout=10)
    try:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.2)
        answer = _answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert answer.endswith(f"{len(body)} {hashlib.sha256(body).hexdigest()} ok".encode())


def test_a_chunked_body_and_an_expect_100_continue_are_served(gunicorn_port):
    body = os.urandom(5000)
    digest = hashlib.sha256(body).hexdigest()
    chunked = socket.create_connection(("127.0.0.1", gunicorn_port), timeout=10)
    try:
        chunked.sendall(
            b"POST /echo HTTP/1.1\r\nHost: door\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(body)
            + body
            + b"\r\n0\r\n\r\n"
        )
        assert _answer(chunked).endswith(f"{len(body)} {digest} ok".encode())
    finally:
        chunked.close()
    # The client sends its body only after "100 Continue": the head alone goes to a thread.
    expect = socket.create_connection(("127.0.0.1", gunicorn_port), timeout=1.0)
    try:
        expect.sendall(
            b"POST /echo HTTP/1.1\r\nHost: door\r\nExpect: 100-continue\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
        )
        assert expect.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        expect.settimeout(10)
        expect.sendall(body)
        assert _answer(expect).endswith(f"{len(body)} {digest} ok".encode())
    finally:
        expect.close()
