"""Check-in/check-out input and the verdict output (their shapes are part of the API)."""

import secrets

from rest_framework import serializers

from core.api.fields import ObjectIdField, RejectUnknownFieldsMixin
from participants_app.models import ticket_code_validator

from ..verdicts import Reason


class CheckOutInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
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


class VerdictSerializer(serializers.Serializer):
    """The answer to a check-in or check-out, with the session's counts at that moment."""

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


class DoorStateSerializer(serializers.Serializer):
    """What a GET on a door endpoint answers: the session as the door sees it now."""

    session = serializers.CharField(source="pk", help_text="Session id.")
    session_title = serializers.CharField(source="title")
    status = serializers.CharField()
    check_in_count = serializers.IntegerField(help_text="Participants inside the session now.")
    capacity = serializers.IntegerField()
