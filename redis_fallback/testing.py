"""Test hooks: put the layer back to a fresh process's state. Imported by tests only.

The app never imports this module (an import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from . import guard
from .connection import drop_raw_redis
from .restarts import forget_run_ids
from .state import get_breaker


def reset_for_tests() -> None:
    """Stop the prober, close the breaker, clear status, fallbacks and the raw client; keep callbacks."""
    guard._prober.stop()
    get_breaker().reset()
    guard.connected.update(cache=True, client=True)
    forget_run_ids()
    drop_raw_redis()
    guard._reset_fallbacks()


def unregister_recovery_callback(fn: Callable[[redis.Redis], None]) -> None:
    """Remove a recovery callback; unknown functions are ignored."""
    with guard._hooks_lock:
        if fn in guard._recovery_callbacks:
            guard._recovery_callbacks.remove(fn)
