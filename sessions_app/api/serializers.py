"""Input and output serializers of the sessions API (sessions, check-ins, stats)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.api.fields import RejectUnknownFieldsMixin

from ..models import CheckIn, Scan, Session, session_times_check


class SessionInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """What staff may write: everything but the counter, which only check-ins change."""

    title = serializers.CharField(max_length=200)
    # No serializer defaults: on create the service's defaults apply, on PUT a left-out field
    # stays as it is (a PUT without status must not turn an open session back into a draft).
    description = serializers.CharField(allow_blank=True, required=False)
    location = serializers.CharField(max_length=200, allow_blank=True, required=False)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(min_value=0, max_value=1_000_000)
    status = serializers.ChoiceField(
        choices=Session.Status.choices, required=False, help_text="Default on create: draft."
    )

    def validate(self, attrs):
        instance = self.instance
        starts_at = attrs.get("starts_at", getattr(instance, "starts_at", None))
        ends_at = attrs.get("ends_at", getattr(instance, "ends_at", None))
        try:
            session_times_check(starts_at, ends_at)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class SessionOutputSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    fill_percent = serializers.FloatField(read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "title",
            "description",
            "location",
            "starts_at",
            "ends_at",
            "capacity",
            "status",
            "check_in_count",
            "fill_percent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CheckInRecordSerializer(serializers.ModelSerializer):
    """One check-in record, with the participant's name for the door list."""

    id = serializers.CharField(read_only=True)
    session = serializers.CharField(source="session_id", read_only=True)
    participant = serializers.CharField(source="participant_id", read_only=True)
    participant_name = serializers.CharField(source="participant.full_name", read_only=True)
    inside = serializers.BooleanField(source="is_inside", read_only=True)

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "session",
            "participant",
            "participant_name",
            "state",
            "checked_in_at",
            "checked_out_at",
            "inside",
            "source",
        ]
        read_only_fields = fields


class ScanSerializer(serializers.ModelSerializer):
    """One entry of the scan log: an attempt at the door and its verdict."""

    id = serializers.CharField(read_only=True)
    session = serializers.CharField(source="session_id", read_only=True)
    participant = serializers.CharField(
        source="participant_id", read_only=True, allow_null=True, help_text="Null when unknown."
    )
    reason = serializers.CharField(read_only=True, help_text="Empty while still deciding.")
    created_at = serializers.DateTimeField(read_only=True, help_text="The server's time.")
    scanned_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the scan happened on the device, if it said (a scan sent late).",
    )
    device = serializers.CharField(
        source="device_id", read_only=True, allow_null=True, help_text="The paired door device."
    )
    annuls = serializers.CharField(
        source="annuls_id",
        read_only=True,
        allow_null=True,
        help_text="An undo: the scan it annuls.",
    )

    class Meta:
        model = Scan
        fields = [
            "id",
            "session",
            "participant",
            "participant_name",
            "ticket_code",
            "direction",
            "reason",
            "replayed",
            "nonce",
            "source",
            "actor",
            "created_at",
            "scanned_at",
            "device",
            "device_name",
            "annuls",
            "check_in_count",
        ]
        read_only_fields = fields


class OpenSessionStatsSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    capacity = serializers.IntegerField()
    check_in_count = serializers.IntegerField()
    fill_percent = serializers.FloatField()


class SessionCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class StatsSerializer(serializers.Serializer):
    """Totals for the dashboard (cached for a few seconds)."""

    sessions = SessionCountsSerializer()
    participants = serializers.IntegerField()
    checked_in_now = serializers.IntegerField(help_text="Sum of all sessions' counters.")
    open_sessions = OpenSessionStatsSerializer(many=True)
    generated_at = serializers.DateTimeField()
