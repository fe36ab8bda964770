"""A real ASGI server process (uvicorn, config.asgi) and a WebSocket client that keeps a view.

Used by tests/live_app and tests/browser: the server runs in its own process on a free port,
against the test run's MongoDB database and Redis (tests/plugin.py), as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from devtools.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


class AsgiServer:
    """uvicorn serving config.asgi on a free port, with the test database and Redis."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.env = env
        self.log_path = Path(tempfile.mkdtemp(prefix="checkin-asgi-")) / "uvicorn.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> AsgiServer:
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="config.settings.test",
            MONGODB_NAME=connection.settings_dict["NAME"],  # the test database
            **self.env,
        )
        argv = [sys.executable, "-m", "uvicorn", "config.asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off",
                "--ws", "websockets-sansio", "--ws-max-size", "65536", "--no-access-log"]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_for_port(self.port, timeout=60, proc=self.proc)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def version_regressions(received: list[tuple[str, str, int]]) -> list[str]:
    """Return, for messages received in order, every state that broke the hub's ordering promise.

    ``received`` holds ``(kind, session id, version)`` per state, in the order they arrived
    (``kind`` is ``"snapshot"`` or ``"session"``). The hub never sends a state older than one it
    sent before (a snapshot may repeat the version last sent: a resync), and never sends a
    ``session`` change that is not newer than what the client last received.
    """
    last: dict[str, int] = {}
    broken: list[str] = []
    for kind, session_id, version in received:
        before = last.get(session_id)
        if before is not None and (version < before or (kind == "session" and version == before)):
            broken.append(f"{kind} {session_id} v{version} after v{before}")
        last[session_id] = max(version, before if before is not None else version)
    return broken


class LiveView:
    """A WebSocket client that applies messages as the board does and records what it received.

    Per session, a state is applied only if its version is newer than the one shown (as the board
    does). Every state received, applied or not, is kept in ``received`` in arrival order, so that
    ``assert_versions_never_decrease`` checks what the server sent, not what the client kept.
    """

    def __init__(self, ws) -> None:
        self.ws = ws
        self.sessions: dict[str, dict] = {}
        self.modes: list[str] = []
        self.received: list[tuple[str, str, int]] = []
        self.messages: list[dict] = []

    @classmethod
    def open(cls, url: str, *, token: str | None = None, **kwargs) -> LiveView:
        protocols = ["checkin", f"token.{token}"] if token else None
        return cls(connect(url, subprotocols=protocols, open_timeout=10, legacy=True, **kwargs))

    @property
    def mode(self) -> str | None:
        return self.modes[-1] if self.modes else None

    def _apply_state(self, state: dict, *, snapshot: bool) -> None:
        self.received.append(("snapshot" if snapshot else "session", state["id"], state["version"]))
        have = self.sessions.get(state["id"])
        newer = have is None or state["version"] > have["version"]
        if newer or (snapshot and state["version"] == have["version"]):
            self.sessions[state["id"]] = state

    def handle(self, message: dict) -> None:
        self.messages.append(message)
        kind = message["type"]
        if kind == "mode":
            self.modes.append(message["mode"])
        elif kind == "snapshot":
            ids = {state["id"] for state in message["sessions"]}
            for gone in set(self.sessions) - ids:
                del self.sessions[gone]
            for state in message["sessions"]:
                self._apply_state(state, snapshot=True)
        elif kind == "session":
            self._apply_state(message["session"], snapshot=False)
        elif kind == "removed":
            self.sessions.pop(message["id"], None)

    def wait_for(self, predicate, *, timeout: float) -> float:
        """Read messages until ``predicate(self)``; return the seconds it took (fail at timeout)."""
        started = time.monotonic()
        deadline = started + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"not within {timeout} s; last messages: {self.messages[-5:]}, mode {self.mode}"
                )
            try:
                raw = self.ws.recv(timeout=remaining)
            except TimeoutError:
                continue
            self.handle(json.loads(raw))
        return time.monotonic() - started

    def count(self, session_id) -> int | None:
        state = self.sessions.get(str(session_id))
        return None if state is None else state["check_in_count"]

    def assert_versions_never_decrease(self) -> None:
        """Fail if the server sent, per session, a state older than one it sent before."""
        assert self.received, "no state received at all"
        broken = version_regressions(self.received)
        assert not broken, f"states out of order: {broken}; received {self.received}"

    def close_code(self, *, timeout: float = 5.0) -> int | None:
        """Read until the server closes; return its close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.handle(json.loads(self.ws.recv(timeout=deadline - time.monotonic())))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            return None
        return None

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def asgi_server(django_db_setup, django_db_blocker):
    """A real uvicorn process serving config.asgi against the test database and Redis."""
    with django_db_blocker.unblock():
        server = AsgiServer().start()
    yield server
    server.stop()
    # Bad input, refusals and Redis faults were all answered: nothing crashed in the server.
    assert "Traceback" not in server.log(), server.log()[-3000:]
