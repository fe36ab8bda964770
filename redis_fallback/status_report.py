"""The per-process connection status as a plain dict (for health checks and operators)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .breaker import State
from .breaker_calls import connected
from .masking import mask_text
from .process_breaker import get_breaker
from .raw_client import sentinel_config
from .restarts import rebuild_pending, sentinel_masters


def sentinel_status() -> dict[str, Any] | None:
    """Under Sentinel: the master's name, its address as last connected (masked: ``***:6379``)
    and when this process last saw it fail over; None for one Redis. No network I/O."""
    config = sentinel_config()
    if config is None:
        return None
    name = config["master_name"]
    seen = sentinel_masters().get(name, {})
    address = seen.get("address")
    return {
        "master_name": name,
        "sentinels": len(config["sentinels"]),
        "master": mask_text(f"{address[0]}:{address[1]}") if address else None,
        "last_failover_at": _iso(seen.get("last_failover_at")),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def connection_status() -> dict[str, Any]:
    """Return this process's view of Redis; no network I/O.

    ``cache_connected`` / ``client_connected``: the breaker is closed and the latest Redis call
    of the cache backend / of the client did not fail (both start True: nothing has failed yet).
    ``using_fallback``: the breaker is open or half-open, so calls are served by the fallback.
    ``since``: when the current state began: the outage's start while Redis is unavailable
    (probes do not move it), the recovery (or the process's start) while connected;
    ``outage_since``: the outage's start, None while connected. ``last_error`` has host and
    credentials masked. ``reconnect_attempts``: probes of the current outage, 0 while connected.
    ``fallback_calls``: calls answered by the fallback during the current outage.
    ``rebuild_pending``: a restart or failover was seen and the admission state is not rebuilt
    from MongoDB yet (Redis is not trusted meanwhile). ``sentinel``: ``sentinel_status()``.
    """
    snap = get_breaker().snapshot()
    closed = snap.state is State.CLOSED
    return {
        "cache_connected": closed and connected["cache"],
        "client_connected": closed and connected["client"],
        "using_fallback": not closed,
        "breaker_state": snap.state.value,
        "since": snap.since.isoformat(),
        "last_error": snap.last_error,
        "last_error_time": _iso(snap.last_error_time),
        "reconnect_attempts": snap.reconnect_attempts,
        "outage_since": _iso(snap.outage_since),
        "fallback_calls": snap.fallback_calls,
        "rebuild_pending": rebuild_pending(),
        "sentinel": sentinel_status(),
    }
