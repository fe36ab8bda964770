"""Notice a Redis that restarted, or a Sentinel failover, as an outage, until MongoDB rebuilt it.

Two events leave Redis answering normally with admission sets that cannot be trusted: a Redis
that restarted between two calls (it came back empty) and, under Sentinel, a failover (the
promoted replica is not empty but not current: it may lack the last writes of the old master).
Both show in the server's ``run_id``: every new connection reads it (one INFO per connection, not
per command) and compares it with the one this process saw last for the same server — for a
plain Redis its address, under Sentinel the master's name, whatever address it has now. A change
while the breaker is closed fails the connection with a ConnectionError, so the breaker opens and
the prober runs the recovery callbacks (the admission state rebuilt from MongoDB) before Redis is
trusted again. Until that rebuild finished, every new connection fails the same way, so no call
reaches the stale sets meanwhile: MongoDB decides.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import redis
from redis import exceptions as redis_errors

from .breaker import State
from .process_breaker import get_breaker

_lock = threading.Lock()
# The run_id of each Redis server this process has connected to, by address (or master name).
_run_ids: dict[tuple, str] = {}
# Restarts and failovers seen, and how many of them a finished rebuild covers: while they
# differ the admission state is not rebuilt yet.
_changes = 0
_rebuilt = 0
# Under Sentinel: each master name's current address, and when this process saw it fail over.
_masters: dict[str, tuple[str, int]] = {}
_failovers: dict[str, datetime] = {}


def _parse_run_id(info: bytes | str) -> str | None:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    return None


def _master_name(connection: redis.Connection) -> str | None:
    """Return the Sentinel master name of a connection to the master, else None."""
    pool = getattr(connection, "connection_pool", None)
    if pool is None or not getattr(pool, "is_master", False):
        return None
    return getattr(pool, "service_name", None)


def server_seen(key: tuple, run_id: str, *, master: str | None = None, address=None) -> str:
    """Record the run_id a new connection found; return "same", "first" or "changed".

    ``key`` names the server (its address, or ("sentinel", master name)). A change marks the
    admission state as untrusted until ``rebuild_done()``; under Sentinel it is a failover.
    """
    global _changes  # noqa: PLW0603 - one count per process
    with _lock:
        previous = _run_ids.get(key)
        _run_ids[key] = run_id
        if master is not None and address is not None:
            _masters[master] = address
        if previous is None:
            return "first"
        if previous == run_id:
            return "same"
        _changes += 1
        if master is not None:
            _failovers[master] = datetime.now(UTC)
        return "changed"


def on_connect(connection: redis.Connection) -> None:
    """Initialise a new connection; treat a restart or failover nobody noticed as an outage.

    redis-py silently replaces a pooled connection whose server went away (and under Sentinel
    connects to whichever server the Sentinels call master now), so a Redis that restarted empty
    or a promoted replica would be trusted without the recovery callbacks. While the breaker is
    closed and such a change is not rebuilt yet, the connection fails with a ConnectionError: the
    breaker opens and the next probe runs the recovery callbacks.
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
    master = _master_name(connection)
    key = ("sentinel", master) if master is not None else address
    server_seen(key, run_id, master=master, address=address[:2])
    if get_breaker().state is not State.CLOSED or not rebuild_pending():
        return
    if master is not None:
        raise redis_errors.ConnectionError(
            "Redis master changed (Sentinel failover, new run_id): rebuilding before use"
        )
    raise redis_errors.ConnectionError("Redis restarted since it was last used (new run_id)")


def changes_seen() -> int:
    """Return how many restarts and failovers this process has seen (the prober's mark)."""
    return _changes


def rebuild_done(mark: int) -> None:
    """The recovery callbacks, begun after ``changes_seen()`` returned ``mark``, finished.

    The changes seen up to ``mark`` are rebuilt; one seen later (by a connection the callbacks
    opened) still needs the next probe.
    """
    global _rebuilt  # noqa: PLW0603
    with _lock:
        _rebuilt = max(_rebuilt, mark)


def rebuild_pending() -> bool:
    """Tell whether a restart or failover was seen and no rebuild since covers it."""
    return _changes != _rebuilt


def sentinel_masters() -> dict[str, dict]:
    """Return, per Sentinel master name, its address as last connected and the last failover seen."""
    with _lock:
        return {
            name: {"address": address, "last_failover_at": _failovers.get(name)}
            for name, address in _masters.items()
        }


def forget_run_ids() -> None:
    """Forget the servers seen (tests start over)."""
    global _changes, _rebuilt  # noqa: PLW0603
    with _lock:
        _run_ids.clear()
        _masters.clear()
        _failovers.clear()
        _changes = _rebuilt = 0
