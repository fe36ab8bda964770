"""Short-lived copies of hot MongoDB reads, kept in each process's memory (no network at all).

The door's hot path reads the same few documents on every request: the API token and its user,
the session, the participant. Each is kept here for a few seconds (a locked dict of this
process). Staleness is bounded and harmless where it is used:

- a change saved in this process drops the copy at once (post_save/post_delete signals);
- other processes see it within the entry's lifetime (the setting named at each use);
- the admission protocol never trusts a copy for a decision: its conditional writes re-check the
  session's status, capacity and epoch in MongoDB, and the participant is re-read after the claim.

Nothing here is shared between processes; Redis is not involved (it may be down).

``process_cache_get_or_load_shared`` keeps the object itself, not a pickle (Django's LocMemCache
kept them before): no unpickling per read (the API token's user with its permission caches cost
about 0.2 ms of CPU a request to unpickle) and no pickling per load (a participant's first scan),
and every caller gets the same object, so a caller copies what it hands on (``model_copy``: a
copy as pickling gives, without pickling).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db.models import Model

# The shared copies (API tokens, sessions, participants; each a few seconds): past this many,
# the expired go, then all.
SHARED_MAX_ENTRIES = 20_000
T = TypeVar("T")
M = TypeVar("M", bound=Model)
_shared: dict[str, tuple[float, object]] = {}
_shared_lock = threading.Lock()


def process_cache_get_or_load_shared(key: str, load: Callable[[], T], *, seconds: float) -> T:
    """Return the object kept under ``key``, or ``load()`` it and keep it for ``seconds``.

    Not pickled: every caller gets the same object and must not change it (copy it first).
    """
    if seconds <= 0:
        return load()
    now = time.monotonic()
    entry = _shared.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    value = load()
    with _shared_lock:
        if len(_shared) >= SHARED_MAX_ENTRIES:
            for stale in [k for k, (until, _) in _shared.items() if until <= now]:
                del _shared[stale]
            if len(_shared) >= SHARED_MAX_ENTRIES:
                _shared.clear()
        _shared[key] = (now + seconds, value)
    return value


def process_cache_replace_shared(key: str, replace: Callable[[T], T | None]) -> None:
    """Keep ``replace(kept)`` instead of the object kept under ``key``, until the same expiry.

    Nothing happens if nothing unexpired is kept, or if ``replace`` returns None. ``replace``
    runs under the lock and must not change the kept object (return a copy).
    """
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return
        value = replace(entry[1])
        if value is not None:
            _shared[key] = (entry[0], value)


def model_copy(instance: M) -> M:
    """Return a copy of a model instance as pickling would give (its own attributes, state,
    field cache and sets), without pickling and without ``copy``'s generic machinery.

    Shared with the original: the attribute values other than sets (a ``frozenset`` is shared:
    it cannot change), and the related instances in the field cache.
    """
    attrs = instance.__dict__.copy()
    kept_state = instance._state
    state = object.__new__(type(kept_state))
    state.__dict__.update(kept_state.__dict__)
    state.fields_cache = dict(kept_state.fields_cache)
    attrs["_state"] = state
    for name, value in attrs.items():
        if type(value) is set:
            attrs[name] = set(value)
    copied = object.__new__(type(instance))
    copied.__dict__.update(attrs)
    return copied


def process_cache_drop(*keys: str) -> None:
    """Forget the copies under ``keys`` in this process."""
    with _shared_lock:
        for key in keys:
            _shared.pop(key, None)


def process_cache_clear() -> None:
    """Forget every copy in this process."""
    with _shared_lock:
        _shared.clear()
