"""Input and output serializers of the participants API."""

from rest_framework import serializers

from core.api.fields import RejectUnknownFieldsMixin

from ..fields import email_normalize
from ..models import Participant, ticket_code_validator


class ParticipantInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254, help_text="Unique regardless of case.")
    organization = serializers.CharField(max_length=200, allow_blank=True, required=False)
    ticket_code = serializers.CharField(
        max_length=64, required=False, allow_blank=True, validators=[ticket_code_validator],
        help_text="Leave out to have a URL-safe code generated.",
    )  # fmt: skip

    def validate_email(self, value):
        return email_normalize(value)


class ParticipantOutputSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)

    class Meta:
        model = Participant
        fields = [
            "id",
            "full_name",
            "email",
            "organization",
            "ticket_code",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
