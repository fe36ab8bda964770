"""Notice a Redis that restarted between two calls (and came back empty) as an outage."""

from __future__ import annotations

import threading

import redis
from redis import exceptions as redis_errors

from .breaker import State
from .process_breaker import get_breaker

_lock = threading.Lock()
# The run_id of each Redis server this process has connected to, by address.
_run_ids: dict[tuple, str] = {}


def _parse_run_id(info: bytes | str) -> str | None:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    return None


def on_connect(connection: redis.Connection) -> None:
    """Initialise a new connection; treat a Redis restart nobody noticed as an outage.

    redis-py silently replaces a pooled connection whose server went away, so a Redis that
    restarted (empty) between two calls would be trusted without the recovery callbacks. Every
    new connection therefore compares the server's run_id with the one this process saw last:
    if it changed while the breaker is closed, the connection fails with a ConnectionError, the
    breaker opens, and the next probe runs the recovery callbacks. Costs one INFO per new
    connection, not per command.
    """
    connection.on_connect()
    try:
        connection.send_command("INFO", "server")
        run_id = _parse_run_id(connection.read_response())
    except redis_errors.ResponseError:
        return  # INFO refused (ACL, rename-command): restarts between calls go unnoticed
    if run_id is None:
        return
    address = tuple(getattr(connection, name, None) for name in ("host", "port", "path"))
    with _lock:
        previous = _run_ids.get(address)
        _run_ids[address] = run_id
    if previous not in (None, run_id) and get_breaker().state is State.CLOSED:
        raise redis_errors.ConnectionError("Redis restarted since it was last used (new run_id)")


def forget_run_ids() -> None:
    """Forget the servers seen (tests start over)."""
    with _lock:
        _run_ids.clear()
