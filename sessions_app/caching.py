"""Cache keys of the sessions app (the get-or-compute and invalidation rules: ``core.caching``)."""

from core.caching import STATS_KEY, cache_invalidate


def session_detail_key(session_id) -> str:
    return f"sessions:detail:{session_id}"


def session_cache_keys(session_id) -> list[str]:
    """The cached values a change to the session makes stale: its detail and the stats."""
    return [session_detail_key(session_id), STATS_KEY]


def session_cache_invalidate(session_id) -> None:
    """Forget the cached detail of a session and the stats (after any change to it)."""
    cache_invalidate(*session_cache_keys(session_id))
