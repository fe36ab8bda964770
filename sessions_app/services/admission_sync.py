"""Keep Redis's admission sets in line with MongoDB (the CheckIn records are the truth)."""

from __future__ import annotations

import logging
import time

from ..admission import admission_forget, admission_reseed, admission_reseed_lock
from ..models import Session
from . import door

logger = logging.getLogger(__name__)


def _holder_ids(session_id) -> list[str]:
    """The participants holding a place: one indexed query per session (an ``$in`` over several
    sessions, as the ORM writes it, makes the stand-in scan every CheckIn record)."""
    return [participant for participant, _ in door.holders(session_id)]


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
    return admission_reseed(session_id=session.pk, participant_ids=_holder_ids(session.pk))


def sessions_admission_reseed_all(client=None) -> int:
    """Reseed every open session's Redis set from MongoDB; return how many sessions.

    Registered as the Redis recovery callback: it runs with the raw client before the breaker
    closes, so Redis admits again only with sets rebuilt from the CheckIn records. An exception
    propagates on purpose: the fallback layer then keeps Redis untrusted and retries later.
    """
    started = time.monotonic()
    session_ids = list(
        Session.objects.filter(status=Session.Status.OPEN).values_list("pk", flat=True)
    )
    for session_id in session_ids:
        admission_reseed(
            session_id=session_id, participant_ids=_holder_ids(session_id), client=client
        )
    logger.info(
        "reseeded Redis admission sets of %d open sessions from MongoDB in %.0f ms",
        len(session_ids),
        1000 * (time.monotonic() - started),
    )
    return len(session_ids)
