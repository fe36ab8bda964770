"""Leases of places (services/leases.py): the requests and answers of a door that may go offline."""

from django.conf import settings
from rest_framework import serializers

from core.api.fields import ObjectIdField, RejectUnknownFieldsMixin
from participants_app.models import ticket_code_validator

from ..models import Scan
from ..verdicts import CONFLICT_LABELS, Conflict, Reason
from .check_in_serializers import ScannedAtField
from .serializers import ScanSerializer

_MOST_PLACES = 1000  # a request above any sensible lease is malformed, not "give me the most"
_RETURN = "return"  # a Python keyword: the field is added by get_fields


class LeaseRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """How many places the door asks for (it may be given fewer)."""

    places = serializers.IntegerField(min_value=1, max_value=_MOST_PLACES)


class LeaseRenewSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A renewal, with the places the door wants unused after it (a top-up), if any."""

    places = serializers.IntegerField(min_value=1, max_value=_MOST_PLACES, required=False)


class OfflineScanSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """One scan decided offline: who (``ticket_code`` or ``participant``), its nonce, when, which
    way."""

    participant = ObjectIdField(required=False, help_text="The participant's id.")
    ticket_code = serializers.CharField(
        required=False, max_length=64, validators=[ticket_code_validator]
    )
    nonce = serializers.CharField(
        min_length=1, max_length=64,
        help_text="The scan's idempotency key (unique per session): a sync retried answers it "
        "as before (`replayed`).",
    )  # fmt: skip
    scanned_at = ScannedAtField(help_text="When the door scanned it (ISO 8601 with offset).")
    direction = serializers.ChoiceField(choices=Scan.Direction.choices)

    def validate(self, attrs):
        given = [name for name in ("participant", "ticket_code") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": ["Give exactly one of 'participant' or 'ticket_code'."]}
            )
        return attrs


class LeaseSyncSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The door's offline scans in the order they were made, and the places it gives back."""

    scans = OfflineScanSerializer(many=True, allow_empty=True)
    sync_id = serializers.RegexField(
        r"^[A-Za-z0-9_-]{1,64}$", required=False, default="",
        help_text="Chosen by the door per sync: the `return` of a sync retried with the same "
        "`sync_id` is not applied twice. Without it, each call returns places again.",
    )  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        fields[_RETURN] = serializers.IntegerField(
            min_value=0, max_value=_MOST_PLACES, required=False, default=0,
            help_text="Unused places the door gives back to the session (at most its room).",
        )  # fmt: skip
        return fields

    def validate_scans(self, scans):
        most = settings.LEASE_SYNC_MAX_SCANS
        if len(scans) > most:
            raise serializers.ValidationError(
                f"At most {most} scans per sync: send the rest in another one."
            )
        nonces = [scan["nonce"] for scan in scans]
        if len(set(nonces)) != len(nonces):
            raise serializers.ValidationError("Each scan needs its own nonce.")
        return scans


class LeaseSerializer(serializers.Serializer):
    """A lease as its holder sees it."""

    lease = serializers.CharField(help_text="Lease id.")
    session = serializers.CharField(help_text="Session id.")
    places = serializers.IntegerField(help_text="Places set aside in all (with check-out credits).")
    room = serializers.IntegerField(help_text="Places unused now: offline admissions it covers.")
    state = serializers.ChoiceField(choices=["granting", "active", "settled"])
    expires_at = serializers.DateTimeField()
    renew_after = serializers.DateTimeField(help_text="Renew (any lease call) after this.")


class SyncResultSerializer(serializers.Serializer):
    nonce = serializers.CharField()
    reason = serializers.ChoiceField(choices=[r.value for r in Reason])
    detail = serializers.CharField()
    participant_name = serializers.CharField()
    session_title = serializers.CharField()
    inside = serializers.BooleanField()
    conflict = serializers.ChoiceField(choices=["", *Conflict], allow_blank=True)
    replayed = serializers.BooleanField()


class LeaseSyncAnswerSerializer(serializers.Serializer):
    lease = LeaseSerializer()
    returned = serializers.IntegerField(help_text="Places given back by this sync.")
    results = SyncResultSerializer(many=True, help_text="One per scan, in the order sent.")


class ConflictSerializer(ScanSerializer):
    """A scan-log entry with a conflict: the offline scan, whom and where, and what clashed."""

    session_title = serializers.CharField(source="session.title", read_only=True)
    conflict_label = serializers.SerializerMethodField()
    lease = serializers.CharField(source="lease_id", read_only=True, allow_null=True)

    class Meta(ScanSerializer.Meta):
        fields = [*ScanSerializer.Meta.fields, "session_title", "conflict", "conflict_label",
                  "lease"]  # fmt: skip
        read_only_fields = fields

    def get_conflict_label(self, scan) -> str:
        return CONFLICT_LABELS.get(scan.conflict, scan.conflict)
