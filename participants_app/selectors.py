"""Reads of participants."""

import re

from bson import ObjectId
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.exceptions import NotFoundError, NotFoundReason
from core.mongo_docs import model_from_doc
from core.process_cache import model_copy, process_cache_drop, process_cache_get_or_load_shared

from .fields import ticket_code_normalize
from .models import Participant


def participant_list() -> QuerySet[Participant]:
    """Return all participants in their default order (filters are applied by the caller)."""
    return Participant.objects.all()


def _participant_find(query: dict) -> Participant | None:
    """Return the participant matching an equality on a unique field, or None.

    A ``find_one``, built into the instance the ORM would build (``core.mongo_docs``): the
    ORM's ``filter(...).first()`` is an aggregate (``$match``, ``$sort``, ``$limit``), dearer to
    build in the worker and to run on the stand-in, and a check-in reads its participant once.
    """
    doc = connection.get_collection(Participant._meta.db_table).find_one(query)
    return None if doc is None else model_from_doc(Participant, doc)


def participant_get(*, participant_id: str | ObjectId) -> Participant:
    """Return the participant or raise ``NotFoundError`` (``participant_not_found``).

    An id that is not a valid ObjectId cannot name a participant: it is "not found" too.
    """
    if not ObjectId.is_valid(participant_id):
        raise NotFoundError(NotFoundReason.PARTICIPANT_NOT_FOUND)
    participant = _participant_find({"_id": ObjectId(participant_id)})
    if participant is None:
        raise NotFoundError(NotFoundReason.PARTICIPANT_NOT_FOUND)
    return participant


def participant_get_by_ticket(*, ticket_code: str) -> Participant:
    """Return the participant holding this ticket code or raise ``NotFoundError`` (``ticket_not_found``).

    Case and surrounding spaces do not matter: codes are stored normalised, and the lookup is an
    equality on the normalised code (the unique index answers it).
    """
    code = ticket_code_normalize(ticket_code)
    # The plain index on the code answers it (the unique one is partial: models.py).
    participant = _participant_find({"ticket_code": code}) if code else None
    if participant is None:
        raise NotFoundError(NotFoundReason.TICKET_NOT_FOUND)
    return participant


# --- check-in's copies (core/process_cache.py) ---------------------------------------------------


_CACHE_KEY_SAFE = re.compile(r"[A-Za-z0-9-]{1,64}")


def _copy_key(participant_id) -> str:
    return f"participant:{participant_id}"


def _ticket_key(ticket_code: str) -> str:
    return f"participant:ticket:{ticket_code}"


def participant_get_for_admission(
    *, participant_id: str | ObjectId | None = None, ticket_code: str | None = None
) -> Participant:
    """Return the participant by id or ticket code, from this process's copy when it has one.

    The copy is at most ``DOOR_READ_CACHE_SECONDS`` old. An admission re-reads the participant
    after its claim anyway (a delete, or a ticket code given to someone else since, is seen there);
    a refusal or an "already inside" needs no more than a name. Unknown ones are not kept.

    The kept participant is an object shared by the process's requests, never pickled (a first
    scan's pickling was about 0.08 ms of worker CPU); each caller gets its own ``model_copy``
    (the model has no mutable field values to copy deeper).
    """
    seconds = settings.DOOR_READ_CACHE_SECONDS
    if participant_id is not None:
        if not ObjectId.is_valid(participant_id):
            return participant_get(participant_id=participant_id)  # raises: not found
        return model_copy(
            process_cache_get_or_load_shared(
                _copy_key(participant_id),
                lambda: participant_get(participant_id=participant_id),
                seconds=seconds,
            )
        )
    # One copy per ticket, however it was typed (the lookup ignores case and spaces too), so the
    # drop on save below reaches it.
    ticket_code = ticket_code_normalize(ticket_code)
    if not _CACHE_KEY_SAFE.fullmatch(ticket_code or ""):
        return participant_get_by_ticket(ticket_code=ticket_code)  # odd input: no copy kept
    return model_copy(
        process_cache_get_or_load_shared(
            _ticket_key(ticket_code),
            lambda: participant_get_by_ticket(ticket_code=ticket_code),
            seconds=seconds,
        )
    )


@receiver([post_save, post_delete], sender=Participant, dispatch_uid="participant_copy_drop")
def _participant_copy_drop(sender, instance: Participant, **kwargs) -> None:
    """A participant saved or deleted in this process: its copies go at once."""
    process_cache_drop(_copy_key(instance.pk), _ticket_key(instance.ticket_code))
