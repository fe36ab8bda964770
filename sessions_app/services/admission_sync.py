"""Keep Redis's admission sets in line with MongoDB (the CheckIn records are the truth)."""

from __future__ import annotations

import logging
import time

from bson import ObjectId
from django.conf import settings

from core.failpoints import failpoint
from redis_fallback import is_redis_available

from ..admission import (
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


def sessions_admission_reseed_all(client=None) -> int:
    """Reseed every open session's Redis set from MongoDB; return how many sessions.

    Registered as the Redis recovery callback: it runs with the raw client before the breaker
    closes, so Redis admits again only with sets rebuilt from the CheckIn records. An exception
    propagates on purpose: the fallback layer then keeps Redis untrusted and retries later.
    Paced by ``ADMISSION_RESEED_PACE``: every process rebuilds at once after an outage, and unpaced
    their reads took MongoDB from the doors (chaos: a burst of 503s while MongoDB was up).
    """
    started = time.monotonic()
    session_ids = list(
        Session.objects.filter(status=Session.Status.OPEN).values_list("pk", flat=True)
    )
    pace = settings.ADMISSION_RESEED_PACE
    for session_id in session_ids:
        begun = time.monotonic()
        session_admission_rebuild(session_id, client)
        if pace > 0:  # rest, so that door requests keep their share of MongoDB and of the GIL
            time.sleep(pace * (time.monotonic() - begun))
    logger.info(
        "reseeded Redis admission sets of %d open sessions from MongoDB in %.0f ms",
        len(session_ids),
        1000 * (time.monotonic() - started),
    )
    return len(session_ids)
