"""Test hooks: put the layer back to a fresh process's state. Imported by tests only.

The app never imports this module (an import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from . import breaker_calls
from .process_breaker import get_breaker
from .raw_client import drop_raw_redis
from .restarts import forget_run_ids


def reset_for_tests() -> None:
    """Stop the prober, close the breaker, clear status, fallbacks and the raw client; keep callbacks."""
    breaker_calls._prober.stop()
    get_breaker().reset()
    breaker_calls.connected.update(cache=True, client=True)
    forget_run_ids()
    drop_raw_redis()
    breaker_calls._reset_fallbacks()


def unregister_recovery_callback(fn: Callable[[redis.Redis], None]) -> None:
    """Remove a recovery callback; unknown functions are ignored."""
    with breaker_calls._hooks_lock:
        if fn in breaker_calls._recovery_callbacks:
            breaker_calls._recovery_callbacks.remove(fn)
