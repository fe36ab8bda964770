"""Check-in/check-out input and the verdict output (their shapes are part of the API)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from core.api.fields import ObjectIdField, RejectUnknownFieldsMixin, ShallowFieldCopiesMixin
from participants_app.models import ticket_code_validator

from ..verdicts import Reason


class ScannedAtField(serializers.DateTimeField):
    """When the scan happened on the device: ISO 8601 with its offset, within the accepted bounds
    (``SCANNED_AT_MAX_FUTURE_SECONDS`` ahead for clock skew, ``SCANNED_AT_MAX_AGE_HOURS`` back)."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset (ISO 8601, e.g. 2026-12-07T14:02:05+01:00).",
        "future": "More than {seconds} s in the future: check the device's clock.",
        "too_old": "More than {hours} h ago: too old to record.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None  # a malformed time: DRF's own message below
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        moment = super().to_internal_value(value)
        now = timezone.now()
        ahead, back = settings.SCANNED_AT_MAX_FUTURE_SECONDS, settings.SCANNED_AT_MAX_AGE_HOURS
        if moment > now + timedelta(seconds=ahead):
            self.fail("future", seconds=f"{ahead:g}")
        if moment < now - timedelta(hours=back):
            self.fail("too_old", hours=f"{back:g}")
        return moment


class CheckOutInputSerializer(
    RejectUnknownFieldsMixin, ShallowFieldCopiesMixin, serializers.Serializer
):
    """Who is at the door (exactly one of ``participant`` (id) or ``ticket_code``), and the
    request's idempotency key."""

    participant = ObjectIdField(required=False, help_text="The participant's id.")
    ticket_code = serializers.CharField(
        required=False, max_length=64, validators=[ticket_code_validator],
        help_text="The code a door scanner read from the ticket.",
    )  # fmt: skip
    nonce = serializers.CharField(
        required=False, default="", max_length=64,
        help_text="Idempotency key chosen by the client, unique per session: a retry with the "
        "same nonce is answered with the original verdict (`replayed: true`) and never decided "
        "again, whatever happened since.",
    )  # fmt: skip
    scanned_at = ScannedAtField(
        required=False,
        help_text="When the scan happened on the device (ISO 8601 with offset), for a scan sent "
        "late: stored beside the server's time. Capacity is decided when the request arrives. "
        "A check-out scanned before the participant's latest check-in does not check them out.",
    )

    def validate(self, attrs):
        given = [name for name in ("participant", "ticket_code") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": ["Give exactly one of 'participant' or 'ticket_code'."]}
            )
        return attrs

    def get_initial(self):
        """Start the browsable API's forms with the one field a door fills in: the ticket code."""
        if hasattr(self, "initial_data"):
            return super().get_initial()
        return {"ticket_code": ""}


class CheckInInputSerializer(CheckOutInputSerializer):
    """Who is at the door, and the request's idempotency key (a fresh one in the HTML form)."""

    def get_initial(self):
        """A fresh nonce in every rendered form: posting the same form twice checks in once."""
        if hasattr(self, "initial_data"):
            return super().get_initial()
        return {**super().get_initial(), "nonce": f"form-{secrets.token_hex(8)}"}


class UndoInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Which scan to undo: the nonce it was sent with."""

    nonce = serializers.CharField(
        max_length=64,
        help_text="The nonce of the check-in to undo (the scan's own, at this session). The undo "
        "is idempotent by it: sent again, it answers the first undo's verdict (`replayed`).",
    )


class VerdictSerializer(ShallowFieldCopiesMixin, serializers.Serializer):
    """The answer to a check-in, check-out or undo, with the session's counts at that moment."""

    reason = serializers.ChoiceField(
        choices=[r.value for r in Reason if not r.value.endswith("_not_found")]
    )
    detail = serializers.CharField()
    session = serializers.CharField(help_text="Session id.")
    session_title = serializers.CharField()
    participant = serializers.CharField(help_text="Participant id.")
    participant_name = serializers.CharField()
    check_in_count = serializers.IntegerField(help_text="Participants inside the session now.")
    capacity = serializers.IntegerField()
    inside = serializers.BooleanField(help_text="Whether the participant is inside now.")
    replayed = serializers.BooleanField(
        help_text="True: the answer to a repeat of an earlier request (same nonce): its original "
        "verdict, with today's counts and presence."
    )


_VERDICT_TEXTS = ("detail", "session", "session_title", "participant", "participant_name")


def verdict_data(verdict) -> dict:
    """Return what ``VerdictSerializer(verdict).data`` holds, key for key, built directly.

    The JSON answer of every door scan: DRF's serializer built and bound its ten fields per
    request for a fixed shape of plain values. ``VerdictSerializer`` stays the schema, and the
    browsable API's answer (its forms read the serializer attached to the data).
    """
    data = {"reason": None if verdict.reason is None else str(verdict.reason)}
    for name in _VERDICT_TEXTS:
        value = getattr(verdict, name)
        data[name] = None if value is None else str(value)
    for name in ("check_in_count", "capacity"):
        value = getattr(verdict, name)
        data[name] = None if value is None else int(value)
    for name in ("inside", "replayed"):
        value = getattr(verdict, name)
        data[name] = None if value is None else bool(value)
    # The serializer's order: reason, detail, session, session_title, participant,
    # participant_name, check_in_count, capacity, inside, replayed.
    return {name: data[name] for name in VerdictSerializer._declared_fields}


class DoorStateSerializer(serializers.Serializer):
    """What a GET on a door endpoint answers: the session as the door sees it now."""

    session = serializers.CharField(source="pk", help_text="Session id.")
    session_title = serializers.CharField(source="title")
    status = serializers.CharField()
    check_in_count = serializers.IntegerField(help_text="Participants inside the session now.")
    capacity = serializers.IntegerField()
