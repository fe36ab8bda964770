"""Cache keys of the participants app (the rules: ``core.caching``)."""

from core.caching import STATS_KEY, cache_invalidate


def participant_detail_key(participant_id) -> str:
    return f"participants:detail:{participant_id}"


def participant_cache_invalidate(participant_id) -> None:
    """Forget the cached detail of a participant and the stats."""
    cache_invalidate(participant_detail_key(participant_id), STATS_KEY)
