"""Input and output of the devices API."""

from __future__ import annotations

from bson import ObjectId
from django.apps import apps
from rest_framework import serializers

from core.api.fields import ObjectIdField, RejectUnknownFieldsMixin

from ..models import DoorDevice
from ..selectors import device_state

MAX_SESSIONS = 500


def sessions_known(ids: list[str]) -> list[ObjectId]:
    """Return ``ids`` as ObjectIds if every one is a session, else raise a field error naming
    the unknown ones. (The session model is looked up by name: this app sits below sessions.)"""
    session_model = apps.get_model("sessions_app", "Session")
    wanted = list(dict.fromkeys(ObjectId(value) for value in ids))
    found = set(session_model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    unknown = [str(pk) for pk in wanted if pk not in found]
    if unknown:
        raise serializers.ValidationError(f"Unknown session(s): {', '.join(unknown)}.")
    return wanted


class DeviceInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A device to add: its name, where it stands, the sessions it may scan (omitted: all)."""

    name = serializers.CharField(max_length=100)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    sessions = serializers.ListField(
        child=ObjectIdField(),
        required=False,
        allow_empty=False,
        max_length=MAX_SESSIONS,
        help_text="Session ids it may scan at; omit for every session.",
    )

    def validate_sessions(self, value: list[str]) -> list[ObjectId]:
        return sessions_known(value)


class IssuedCodeSerializer(serializers.Serializer):
    """A new device's pairing code, shown once."""

    id = serializers.CharField(source="device.pk")
    name = serializers.CharField(source="device.name")
    pairing_code = serializers.CharField(source="code")
    expires_at = serializers.DateTimeField()


class DeviceOutputSerializer(serializers.ModelSerializer):
    """A device and its state (no secrets)."""

    id = serializers.CharField(source="pk", read_only=True)
    state = serializers.SerializerMethodField()
    sessions = serializers.SerializerMethodField()

    class Meta:
        model = DoorDevice
        fields = [
            "id",
            "name",
            "location",
            "all_sessions",
            "sessions",
            "state",
            "paired_at",
            "last_seen_at",
            "revoked_at",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields

    def get_state(self, device: DoorDevice) -> str:
        return device_state(device)

    def get_sessions(self, device: DoorDevice) -> list[str]:
        return [str(pk) for pk in device.session_ids]


class PairInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The pairing code, as typed or scanned (case, spaces and dashes do not matter)."""

    code = serializers.CharField(max_length=32)


class PairedSerializer(serializers.Serializer):
    """A paired device's token: send it as ``Authorization: Device <token>``; shown once."""

    device = serializers.CharField(source="device.pk")
    name = serializers.CharField(source="device.name")
    token = serializers.CharField()
