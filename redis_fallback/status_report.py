"""The per-process connection status as a plain dict (for health checks and operators)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .breaker import State
from .breaker_calls import connected
from .process_breaker import get_breaker


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
    }
