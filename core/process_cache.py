"""Short-lived copies of hot MongoDB reads, kept in each process's memory (no network at all).

The door's hot path reads the same few documents on every request: the API token and its user,
the session, the participant. Each is kept here for a few seconds (Django's LocMemCache: per
process, thread-safe, values pickled, so every caller gets its own copy). Staleness is bounded
and harmless where it is used:

- a change saved in this process drops the copy at once (post_save/post_delete signals);
- other processes see it within the entry's lifetime (the setting named at each use);
- the admission protocol never trusts a copy for a decision: its conditional writes re-check the
  session's status, capacity and epoch in MongoDB, and the participant is re-read after the claim.

Nothing here is shared between processes; Redis is not involved (it may be down).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import caches

PROCESS_CACHE = "process"
T = TypeVar("T")
_MISSING = object()


def process_cache_get_or_load(key: str, load: Callable[[], T], *, seconds: float) -> T:
    """Return the copy under ``key``, or ``load()`` it and keep it for ``seconds`` (0: never kept)."""
    if seconds <= 0:
        return load()
    cache = caches[PROCESS_CACHE]
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = load()
        cache.set(key, value, seconds)
    return value


def process_cache_drop(*keys: str) -> None:
    """Forget the copies under ``keys`` in this process."""
    caches[PROCESS_CACHE].delete_many(keys)


def process_cache_clear() -> None:
    """Forget every copy in this process."""
    caches[PROCESS_CACHE].clear()
