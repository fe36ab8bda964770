"""Reads of participants."""

from bson import ObjectId
from django.db.models import QuerySet

from core.exceptions import NotFoundError, NotFoundReason

from .fields import ticket_code_normalize
from .models import Participant


def participant_list() -> QuerySet[Participant]:
    """Return all participants in their default order (filters are applied by the caller)."""
    return Participant.objects.all()


def participant_get(*, participant_id: str | ObjectId) -> Participant:
    """Return the participant or raise ``NotFoundError`` (``participant_not_found``).

    An id that is not a valid ObjectId cannot name a participant: it is "not found" too.
    """
    if not ObjectId.is_valid(participant_id):
        raise NotFoundError(NotFoundReason.PARTICIPANT_NOT_FOUND)
    participant = Participant.objects.filter(pk=ObjectId(participant_id)).first()
    if participant is None:
        raise NotFoundError(NotFoundReason.PARTICIPANT_NOT_FOUND)
    return participant


def participant_get_by_ticket(*, ticket_code: str) -> Participant:
    """Return the participant holding this ticket code or raise ``NotFoundError`` (``ticket_not_found``).

    Case and surrounding spaces do not matter: codes are stored normalised, and the lookup is an
    equality on the normalised code (the unique index answers it).
    """
    code = ticket_code_normalize(ticket_code)
    participant = Participant.objects.filter(ticket_code=code).first() if code else None
    if participant is None:
        raise NotFoundError(NotFoundReason.TICKET_NOT_FOUND)
    return participant
