"""Keep Redis's admission sets in line with MongoDB (the CheckIn records are the truth)."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from core.failpoints import failpoint

from ..admission import (
    admission_discard,
    admission_forget,
    admission_reseed,
    admission_reseed_lock,
)
from ..models import Session
from . import admission_protocol

logger = logging.getLogger(__name__)


def _holder_ids(session_id) -> list[str]:
    """The participants holding a place: one indexed query per session (an ``$in`` over several
    sessions, as the ORM writes it, makes the stand-in scan every CheckIn record)."""
    return [participant for participant, _ in admission_protocol.holders(session_id)]


def _reseed(session_id, client=None) -> int | None:
    """Write the holders into Redis, then take out those who stopped holding meanwhile.

    The set is written from a read made a moment before: a claim refused (full) or a check-out
    finished in between would stay in it. Their door request removes them from Redis after its
    own MongoDB write, so a change after the second read is covered by that request, and one
    before it by this one (found by tests/sessions_app/services/test_admission_redis.py: the prober's
    reseed ran while a refused claim was still ``entering``).
    """
    holders = _holder_ids(session_id)
    failpoint("admission_sync.after_read")
    seeded = admission_reseed(session_id=session_id, participant_ids=holders, client=client)
    if seeded is not None and holders:
        gone = set(holders) - set(_holder_ids(session_id))
        admission_discard(session_id=session_id, participant_ids=sorted(gone), client=client)
    return seeded


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
    return _reseed(session.pk)


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
        _reseed(session_id, client)
        if pace > 0:  # rest, so that door requests keep their share of MongoDB and of the GIL
            time.sleep(pace * (time.monotonic() - begun))
    logger.info(
        "reseeded Redis admission sets of %d open sessions from MongoDB in %.0f ms",
        len(session_ids),
        1000 * (time.monotonic() - started),
    )
    return len(session_ids)
