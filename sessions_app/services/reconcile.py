"""Reconcile capacity counters with the CheckIn records.

Run every RECONCILE_INTERVAL_SECONDS by beat (``sessions_app.reconcile_counters``), by
``manage.py reconcile_counters`` and by the "reconcile now" admin action / API endpoint.

For every open session, in one pass:

1. end the operations in flight for longer than ``CHECKIN_STALE_OP_SECONDS`` (a request whose
   process died between two writes; ``admission_protocol.op_end``);
2. read the counter (with its epoch), then the records holding a place (``entering``,
   ``inside``, ``leaving``): their number is the truth the counter must hold;
3. repair a counter above the truth, or below the records inside (never produced by the
   services: corruption), with a write conditional on the counter and epoch read in step 2;
4. reseed Redis's admission set with the holders when Redis is available (only this step is
   skipped when it is not).

Before the sessions, leases not renewed in time are settled (their unused places go back,
``leases.leases_settle_expired``); per session, the room of a lease that ended without giving it
back (a crash between two writes) is given back. A stale operation of an offline scan is resolved
toward holding more, not ended (``admission_protocol.lease_op_resolve``).

Why a repair is safe with requests in flight, and needs no waiting: see docs/door-protocol.md.
One bad session never aborts the run; a MongoDB lease keeps two runs from overlapping.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from core.metrics import reconcile_run_count
from jobs_app.schedule import RECONCILE_JOB
from jobs_app.services import job_run_record, lease_acquire, lease_release
from redis_fallback import get_redis

from ..admission import SEEDED_MARKER, admission_key
from ..caching import session_cache_invalidate
from ..models import Session
from . import admission_protocol
from .admission_sync import session_admission_rebuild
from .leases import leases_settle_expired, leases_settle_orphans
from .live_publish import session_change_publish

logger = logging.getLogger(__name__)


@dataclass
class ReconcileSummary:
    """What one reconcile run saw and did."""

    sessions: int = 0
    repaired: int = 0
    ended_ops: int = 0
    reseeded: int = 0
    leases_settled: int = 0
    failed: int = 0
    failed_sessions: list[str] = field(default_factory=list)
    redis_skipped: bool = False
    lease_busy: bool = False
    duration_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _redis_in_sync(session_id: ObjectId, holders: list[str]) -> bool:
    members = get_redis().smembers(admission_key(session_id))
    expected = {SEEDED_MARKER, *holders}
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members} == expected


def _reseed_redis(session_id: ObjectId, holders: list[str], summary: ReconcileSummary) -> None:
    # Once Redis failed in this run, skip it for the rest of the run.
    if summary.redis_skipped or _redis_in_sync(session_id, holders):
        return
    # Rebuilt from a read of its own, begun after Redis notes changes: the holders read above
    # may miss a request that wrote Redis since (docs/door-protocol.md, "Rebuilding the set").
    if session_admission_rebuild(session_id) is None:
        summary.redis_skipped = True  # Redis went away during the run
        return
    summary.reseeded += 1


def _reconcile_session(session_id: ObjectId, *, stale_before, summary: ReconcileSummary) -> None:
    lease_moved = False  # a stale lease operation resolved: its place may have moved (count)
    for record in admission_protocol.ops_started_before(session_id, stale_before):
        if admission_protocol.op_end(record):
            summary.ended_ops += 1
            lease_moved = lease_moved or bool(record.get("lease"))
    if lease_moved:
        session_cache_invalidate(session_id)
        session_change_publish(session_id=session_id)
    rooms = admission_protocol.lease_rooms_read(session_id)
    if rooms and leases_settle_orphans(session_id, rooms):
        session_change_publish(session_id=session_id)
    settled = admission_protocol.counter_settle(session_id)
    if settled is None:  # deleted since the list was read
        return
    repaired, holders = settled
    if repaired:
        summary.repaired += 1
        session_cache_invalidate(session_id)
        session_change_publish(session_id=session_id)
    _reseed_redis(session_id, [participant for participant, _ in holders], summary)


def counters_reconcile(*, stale_seconds: float | None = None) -> ReconcileSummary:
    """Reconcile every open session's counters with its CheckIn records; return the summary.

    ``stale_seconds`` (default ``CHECKIN_STALE_OP_SECONDS``) is how long an operation may be in
    flight before it is ended; 0 ends every one (safe at any age, see
    ``admission_protocol.op_end``: use it when no traffic runs). Never raises for one session's failure (it is counted and named in
    the summary). Returns at once with ``lease_busy`` if another run holds the lease.
    """
    stale = settings.CHECKIN_STALE_OP_SECONDS if stale_seconds is None else stale_seconds
    started = time.monotonic()
    summary = ReconcileSummary()
    if not lease_acquire(name=RECONCILE_JOB, ttl_seconds=settings.RECONCILE_LEASE_SECONDS):
        summary.lease_busy = True
        logger.info("Reconcile skipped: another run holds the lease")
        reconcile_run_count(outcome="lease_busy")
        return summary
    try:
        try:
            summary.leases_settled = leases_settle_expired()
        except Exception as exc:
            summary.failed += 1
            summary.failed_sessions.append(f"leases: {type(exc).__name__}")
        session_ids = list(
            Session.objects.filter(status=Session.Status.OPEN).values_list("pk", flat=True)
        )
        summary.sessions = len(session_ids)
        stale_before = timezone.now() - timedelta(seconds=stale)
        for session_id in session_ids:
            try:
                _reconcile_session(session_id, stale_before=stale_before, summary=summary)
            except Exception as exc:
                summary.failed += 1
                summary.failed_sessions.append(f"{session_id}: {type(exc).__name__}")
    finally:
        lease_release(name=RECONCILE_JOB)
    summary.duration_ms = round(1000 * (time.monotonic() - started), 1)
    logger.info(
        "Reconcile: sessions=%d repaired=%d ended_ops=%d reseeded=%d failed=%d redis=%s "
        "duration_ms=%.0f%s",
        summary.sessions, summary.repaired, summary.ended_ops, summary.reseeded, summary.failed,
        "skipped" if summary.redis_skipped else "ok", summary.duration_ms,
        f" failed_sessions={summary.failed_sessions}" if summary.failed_sessions else "",
    )  # fmt: skip
    reconcile_run_count(
        outcome="failed" if summary.failed else "ok",
        repaired=summary.repaired,
        ended_ops=summary.ended_ops,
        reseeded=summary.reseeded,
    )
    # A run in which a session failed is no success: health's "last reconcile" stays on the last
    # complete run (and turns stale if sessions keep failing), the admin's job list names them.
    job_run_record(
        name=RECONCILE_JOB,
        success=not summary.failed,
        summary=summary.as_dict(),
        error=f"{summary.failed} session(s) failed: {', '.join(summary.failed_sessions)}",
    )
    return summary
