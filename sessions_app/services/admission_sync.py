"""Keep Redis's admission sets in line with MongoDB (the CheckIn records are the truth)."""

from __future__ import annotations

import logging
import os
import socket
import time

from bson import ObjectId
from django.conf import settings

from core.failpoints import failpoint
from redis_fallback import is_redis_available, outage_began_at

from ..admission import (
    _decode,
    admission_forget,
    admission_missed_return,
    admission_missed_take,
    admission_rebuild_begin,
    admission_rebuild_commit,
    admission_reseed_lock,
)
from ..models import Session
from . import admission_protocol

logger = logging.getLogger(__name__)


def _holder_ids(session_id) -> list[str]:
    """The participants holding a place: one indexed query per session (an ``$in`` over several
    sessions, as the ORM writes it, makes the stand-in scan every CheckIn record)."""
    return [participant for participant, _ in admission_protocol.holders(session_id)]


def session_admission_rebuild(session_id, client=None, *, forget=()) -> int | None:
    """Rebuild the session's Redis set from the CheckIn records; return the number seeded.

    Begin (Redis notes every change from now on), read the holders, write them with the changes
    noted meanwhile: a check-in, a refusal or a check-out that a request wrote to Redis between
    the read and the write is kept, whenever its MongoDB write was. A reservation made just
    before the rebuild began is kept if its claim shows in MongoDB after the read (an admission
    with a reservation writes nothing more to Redis). Found by
    tests/sessions_app/services/test_admission_rebuilds.py. None when Redis was unavailable,
    ``SUPERSEDED`` when another rebuild began meanwhile (that one writes the set).
    """
    rebuild = admission_rebuild_begin(session_id=session_id, forget=forget, client=client)
    if rebuild is None:
        return None
    holders = _holder_ids(session_id)
    failpoint("admission_sync.after_read")
    reserved = set(rebuild.reserved) - set(holders)
    if reserved:  # claimed since the read? (most were admitted, or refused, before it)
        holders += sorted(reserved & set(_holder_ids(session_id)))
    return admission_rebuild_commit(
        session_id=session_id, token=rebuild.token, participant_ids=holders, client=client
    )


def admission_missed_rebuild() -> int:
    """Rebuild the sets of the sessions whose decisions Redis missed in this process.

    Run when the breaker has closed (a fallback reset, in the prober) and by a request that noted
    a miss after that: a decision made in MongoDB alone after the prober's rebuild had read its
    session would otherwise leave the set one entry off until the reconcile. Return how many.
    Never raises: a session not rebuilt is noted again for the next time.
    """
    if not is_redis_available():
        return 0
    done = 0
    for session_id, participants in admission_missed_take().items():
        try:
            seeded = _missed_rebuild_one(session_id, participants)
        except Exception:
            logger.exception("rebuilding the admission set of session %s failed", session_id)
            seeded = None
        if seeded is None:
            admission_missed_return(session_id, participants)
        else:
            done += 1
    return done


def _missed_rebuild_one(session_id: str, participants: set[str]) -> int | None:
    session = Session.objects.filter(pk=ObjectId(session_id)).first()
    if session is None:
        return 0
    if session.status != Session.Status.OPEN:
        admission_forget(session_id=session.pk)
        return 0
    return session_admission_rebuild(session.pk, forget=sorted(participants))


def session_admission_sync(*, session: Session, lock: bool = False) -> int | None:
    """Reseed the session's Redis set from MongoDB if it is open, drop it otherwise.

    With ``lock``, reseed only if no other request is reseeding this session right now (many
    requests discover an unseeded session at once). Return the number seeded, or None.
    """
    if session.status != Session.Status.OPEN:
        admission_forget(session_id=session.pk)
        return None
    if lock and not admission_reseed_lock(session_id=session.pk):
        return None
    return session_admission_rebuild(session.pk)


# --- the rebuild after an outage: one process for all ---------------------------------------------
#
# Every process of every node runs the recovery callback when Redis returns, at about the same
# moment. Each rebuilding every open session, paced, took 12-31 s per process under the chaos
# load (117 sessions), and the processes slowed one another: a node trusted Redis again 1 min 27 s
# after a FLUSHALL. Now the first takes a lock and rebuilds; when it is done it leaves a marker,
# "<Redis run_id> <when its rebuild began, Redis's clock>". A process whose outage began before
# that rebuild began needs no rebuild of its own: the rebuild read every decision MongoDB had by
# then, the Redis writes made during it are kept by each session's journal, and the decisions this
# process made alone since are its own notes (``admission_missed``), rebuilt once its breaker has
# closed. A new run_id (a restart, a failover) or a FLUSHALL (the marker goes with the sets) needs
# a rebuild of its own. Redis's sets are advisory (``admission.py``): a set left off by a process
# that died with notes costs MongoDB reads until the reconcile's reseed, never a wrong verdict.
RESEED_MARKER = "checkin:adm:reseeded"
RESEED_LOCK = "checkin:adm:reseeding"
_RESEED_POLL_SECONDS = 0.25
# The lock is renewed and given back only if it is still ours (it may have expired and be
# another's since).
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


def reseed_covers(marker: str, run_id: str, lost_at: float | None) -> bool:
    """Tell whether the rebuild a marker names covers a process that lost Redis at ``lost_at``
    (seconds since the epoch): the same Redis run, and a rebuild begun after the loss."""
    if not marker or not run_id or lost_at is None:
        return False
    marker_run, _, began = marker.partition(" ")
    try:
        return marker_run == run_id and float(began) >= lost_at
    except ValueError:
        return False


def _holder() -> str:
    """This process's name on the lock: a probe that failed midway finds the lock its own again
    (not a stranger's to wait for) when it probes next."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _lost_at() -> float | None:
    began = outage_began_at()
    return began.timestamp() if began is not None else None


def sessions_admission_reseed_all(client=None, *, lost_at: float | None = None) -> int:
    """Reseed every open session's Redis set from MongoDB; return how many sessions.

    Registered as the Redis recovery callback: it runs with the raw client before the breaker
    closes, so Redis admits again only with sets rebuilt from the CheckIn records. An exception
    propagates on purpose: the fallback layer then keeps Redis untrusted and retries later.
    With the client (the callback), one process rebuilds for all (above): this one returns 0
    when another's rebuild, begun after this process lost Redis (``lost_at``: by default when
    its breaker opened), covers it, waiting while one is in progress (its lock renewed after each
    session, ``ADMISSION_RESEED_LOCK_SECONDS``). Without a client (a caller of its own) it
    rebuilds.
    """
    if client is None:
        return _reseed_each(None)
    run_id = _decode(client.info("server").get("run_id") or "")
    if lost_at is None:
        lost_at = _lost_at()
    token = _holder()
    lock_ms = max(1, int(settings.ADMISSION_RESEED_LOCK_SECONDS * 1000))
    while True:
        if reseed_covers(_decode(client.get(RESEED_MARKER) or ""), run_id, lost_at):
            logger.info("Redis admission sets rebuilt from MongoDB by another process since this "
                        "one lost Redis: no rebuild of its own")  # fmt: skip
            return 0
        if client.set(RESEED_LOCK, token, nx=True, px=lock_ms):
            break
        if _decode(client.get(RESEED_LOCK) or "") == token:  # ours, from a probe that failed midway
            break
        time.sleep(_RESEED_POLL_SECONDS)  # another is rebuilding: its marker, or its lock gone
    seconds, micros = client.time()
    began = seconds + micros / 1_000_000
    try:
        count = _reseed_each(
            client, renew=lambda: client.eval(_RENEW, 1, RESEED_LOCK, token, lock_ms)
        )
        if run_id:
            client.set(
                RESEED_MARKER, f"{run_id} {began:.6f}", ex=settings.CHECKIN_ADMISSION_KEY_TTL
            )
    finally:
        client.eval(_RELEASE, 1, RESEED_LOCK, token)
    return count


def _reseed_each(client, *, renew=None) -> int:
    """Rebuild every open session's set (``renew()`` after each), paced by
    ``ADMISSION_RESEED_PACE``: every process rebuilt at once after an outage, and unpaced their
    reads took MongoDB from the doors (chaos: a burst of 503s while MongoDB was up)."""
    started = time.monotonic()
    session_ids = list(
        Session.objects.filter(status=Session.Status.OPEN).values_list("pk", flat=True)
    )
    pace = settings.ADMISSION_RESEED_PACE
    for session_id in session_ids:
        begun = time.monotonic()
        session_admission_rebuild(session_id, client)
        if renew is not None:
            renew()
        if pace > 0:  # rest, so that door requests keep their share of MongoDB and of the GIL
            time.sleep(pace * (time.monotonic() - begun))
    logger.info(
        "reseeded Redis admission sets of %d open sessions from MongoDB in %.0f ms",
        len(session_ids),
        1000 * (time.monotonic() - started),
    )
    return len(session_ids)
