"""Reconcile capacity counters with the CheckIn records, which are the truth.

Run every RECONCILE_INTERVAL_SECONDS by beat (``sessions_app.reconcile_counters``), by
``manage.py reconcile_counters`` and by the "reconcile now" admin action / API endpoint.

For every open session: count the records inside, repair the session's MongoDB counter if it
drifted, and reseed Redis's admission set when Redis is available (only the Redis part is skipped
when it is not). One bad session never aborts the run. A MongoDB lease keeps two runs from
overlapping (Redis may be down exactly when this matters).

Why downward repairs wait: an admission increments the counter and then writes its record, and a
check-out marks its record and then decrements. Caught between those two writes, a counter looks
one too high although it is right. Lowering it then would let one person too many in. So a
counter that is above the records is lowered only if it still shows the same drift, unchanged,
after RECONCILE_SETTLE_SECONDS, and only by a conditional update on the value observed. A counter
below the records (never produced by the services) is raised at once: higher is the safe side.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from bson import ObjectId
from django.conf import settings

from core.failpoints import failpoint
from jobs_app.services import job_run_record, lease_acquire, lease_release
from redis_fallback import get_redis

from ..admission import SEEDED_MARKER, admission_key, admission_reseed
from ..caching import session_cache_invalidate
from ..models import Session
from ..selectors import session_inside_participant_ids

logger = logging.getLogger(__name__)

JOB_NAME = "reconcile_counters"
LEASE_NAME = "reconcile_counters"


@dataclass
class ReconcileSummary:
    """What one reconcile run saw and did."""

    sessions: int = 0
    repaired: int = 0
    reseeded: int = 0
    failed: int = 0
    failed_sessions: list[str] = field(default_factory=list)
    redis_skipped: bool = False
    lease_busy: bool = False
    duration_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _observe(session_id: ObjectId) -> tuple[int, list[str]]:
    """Return the session's stored counter and the ids of the participants inside (the truth)."""
    count = Session.objects.filter(pk=session_id).values_list("check_in_count", flat=True).get()
    inside = session_inside_participant_ids(session_ids=[session_id])[str(session_id)]
    return int(count), inside


def _counter_set(session_id: ObjectId, observed: int, truth: int) -> bool:
    return bool(
        Session.objects.filter(pk=session_id, check_in_count=observed).update(check_in_count=truth)
    )


def _repair(session_id: ObjectId, observed: int, truth: int, summary: ReconcileSummary) -> None:
    if _counter_set(session_id, observed, truth):
        summary.repaired += 1
        session_cache_invalidate(session_id)


def _redis_in_sync(session_id: ObjectId, inside: list[str]) -> bool:
    members = get_redis().smembers(admission_key(session_id))
    expected = {SEEDED_MARKER, *inside}
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members} == expected


def _reseed_redis(session_id: ObjectId, inside: list[str], summary: ReconcileSummary) -> None:
    # Once Redis failed in this run, skip it for the rest; the first call may be the breaker's
    # probe, so do not ask is_redis_available() first (that would never probe).
    if summary.redis_skipped or _redis_in_sync(session_id, inside):
        return
    if admission_reseed(session_id=session_id, participant_ids=inside) is None:
        summary.redis_skipped = True  # Redis went away during the run
        return
    summary.reseeded += 1


def counters_reconcile(*, settle_seconds: float | None = None) -> ReconcileSummary:
    """Reconcile every open session's counters with its CheckIn records; return the summary.

    Never raises for one session's failure (it is counted and named in the summary). Returns at
    once with ``lease_busy`` if another run holds the lease.
    """
    settle = settings.RECONCILE_SETTLE_SECONDS if settle_seconds is None else settle_seconds
    started = time.monotonic()
    summary = ReconcileSummary()
    if not lease_acquire(name=LEASE_NAME, ttl_seconds=settings.RECONCILE_LEASE_SECONDS):
        summary.lease_busy = True
        logger.info("Reconcile skipped: another run holds the lease")
        return summary
    try:
        session_ids = list(
            Session.objects.filter(status=Session.Status.OPEN).values_list("pk", flat=True)
        )
        summary.sessions = len(session_ids)
        suspects: dict[ObjectId, tuple[int, int]] = {}

        def fail(session_id: ObjectId, exc: Exception) -> None:
            summary.failed += 1
            summary.failed_sessions.append(f"{session_id}: {type(exc).__name__}")

        for session_id in session_ids:
            try:
                count, inside = _observe(session_id)
                if count > len(inside):
                    suspects[session_id] = (count, len(inside))
                    continue  # lowered (and reseeded) only if still the same after the settle
                if count < len(inside):
                    _repair(session_id, count, len(inside), summary)
                _reseed_redis(session_id, inside, summary)
            except Exception as exc:
                fail(session_id, exc)

        if suspects:
            time.sleep(settle)
        for session_id, observed in suspects.items():
            try:
                count, inside = _observe(session_id)
                failpoint("reconcile.after_observe")
                if (count, len(inside)) == observed:
                    _repair(session_id, count, len(inside), summary)
                _reseed_redis(session_id, inside, summary)
            except Exception as exc:
                fail(session_id, exc)
    finally:
        lease_release(name=LEASE_NAME)
    summary.duration_ms = round(1000 * (time.monotonic() - started), 1)
    logger.info(
        "Reconcile: sessions=%d repaired=%d reseeded=%d failed=%d redis=%s duration_ms=%.0f%s",
        summary.sessions, summary.repaired, summary.reseeded, summary.failed,
        "skipped" if summary.redis_skipped else "ok", summary.duration_ms,
        f" failed_sessions={summary.failed_sessions}" if summary.failed_sessions else "",
    )  # fmt: skip
    job_run_record(name=JOB_NAME, success=True, summary=summary.as_dict())
    return summary
