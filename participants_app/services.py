"""Writes of participants: create, edit, delete (house style: ``participant_<action>``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from core.deletes import delete_with_tombstone

from .caching import participant_cache_invalidate
from .models import Participant

EDITABLE_FIELDS = ("full_name", "email", "organization", "ticket_code")
_DUPLICATE_MESSAGES = {
    "email": "A participant with this e-mail address exists already (case does not matter).",
    "ticket_code": "A participant with this ticket code exists already.",
}
_GENERATED_CODE_ATTEMPTS = 3


def _duplicate_fields(exc: IntegrityError) -> set[str]:
    """Name the unique fields a duplicate-key error is about (pymongo puts them in details)."""
    details = getattr(exc.__cause__, "details", None) or {}
    fields: set[str] = set()
    for error in details.get("writeErrors", []) or [details]:
        fields.update((error.get("keyPattern") or {}).keys())
    if not fields:  # older servers: only the message names the index
        fields = {name for name in _DUPLICATE_MESSAGES if name in str(exc.__cause__ or exc)}
    return fields


def _check_unique(participant: Participant) -> None:
    """Refuse duplicates with a field error before writing (the unique indexes stay the guard)."""
    others = (
        Participant.objects.exclude(pk=participant.pk) if participant.pk else Participant.objects
    )
    errors = {}
    if others.filter(email=participant.email).exists():
        errors["email"] = _DUPLICATE_MESSAGES["email"]
    if participant.ticket_code and others.filter(ticket_code=participant.ticket_code).exists():
        errors["ticket_code"] = _DUPLICATE_MESSAGES["ticket_code"]
    if errors:
        raise ValidationError(errors)


def _save(participant: Participant, *, generated_code: bool) -> Participant:
    attempts = _GENERATED_CODE_ATTEMPTS if generated_code else 1
    for attempt in range(attempts):
        try:
            participant.save()
            break
        except IntegrityError as exc:  # lost a race with a concurrent write of the same value
            fields = _duplicate_fields(exc)
            if generated_code and fields == {"ticket_code"} and attempt + 1 < attempts:
                participant.ticket_code = Participant._meta.get_field("ticket_code").get_default()
                continue
            raise ValidationError(
                {f: _DUPLICATE_MESSAGES[f] for f in fields if f in _DUPLICATE_MESSAGES}
                or "A participant with these details exists already."
            ) from exc
    participant_cache_invalidate(participant.pk)
    return participant


def participant_create(
    *, full_name: str, email: str, organization: str = "", ticket_code: str | None = None
) -> Participant:
    """Create a participant; a ticket code is generated when none is given."""
    participant = Participant(full_name=full_name, email=email, organization=organization)
    if ticket_code:
        participant.ticket_code = ticket_code
    participant.full_clean(validate_unique=False)
    _check_unique(participant)
    return _save(participant, generated_code=not ticket_code)


def participant_update(*, participant: Participant, data: dict) -> Participant:
    """Apply ``data`` (a subset of the editable fields); duplicates are field errors."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for field, value in data.items():
        setattr(participant, field, value)
    participant.full_clean(validate_unique=False)
    _check_unique(participant)
    return _save(participant, generated_code=False)


def participant_delete(*, participant: Participant) -> None:
    """Delete a participant without check-in history; raise ``ProtectedError`` otherwise.

    Racing check-ins cannot leave a record behind: the participant is marked ``deleting`` before
    the records are looked for, and a check-in looks at the participant again after claiming its
    record. One of the two sees the other: the delete stops, or the check-in gives up its claim.
    """
    participant_id = participant.pk
    delete_with_tombstone(participant)
    participant_cache_invalidate(participant_id)
