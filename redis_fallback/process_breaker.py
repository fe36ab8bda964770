"""The process's one circuit breaker in front of Redis (shared by the cache, client and scripts)."""

from __future__ import annotations

from django.conf import settings

from .breaker import CircuitBreaker, register_fork_handler


def _reset_seconds() -> float:
    return float(settings.REDIS_BREAKER_RESET_SECONDS)


def _summary_seconds() -> float:
    return float(settings.REDIS_OUTAGE_SUMMARY_SECONDS)


_breaker = CircuitBreaker(
    reset_seconds=_reset_seconds, summary_seconds=_summary_seconds, name="Redis"
)
register_fork_handler(_breaker)


def get_breaker() -> CircuitBreaker:
    """Return the process's one circuit breaker."""
    return _breaker
