"""Check-in/check-out input and the verdict output (their shapes are part of the API)."""

import re
import secrets
from datetime import timedelta

from bson import ObjectId
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.utils import json as drf_json

from core.api.fields import ObjectIdField, RejectUnknownFieldsMixin, ShallowFieldCopiesMixin
from participants_app.models import TICKET_CODE_PATTERN, ticket_code_validator

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


_TICKET_CODE = re.compile(TICKET_CODE_PATTERN)
_WHO = ("participant", "ticket_code")


def _plain_who(name: str, value) -> bool:
    if type(value) is not str:
        return False
    if name == "participant":
        return len(value) == 24 and ObjectId.is_valid(value)
    return _TICKET_CODE.fullmatch(value) is not None


def _plain_nonce(value) -> str | None:
    if type(value) is not str:
        return None
    value = value.strip()
    plain = value and len(value) <= 64 and value.isascii() and value.isprintable()
    return value if plain else None


def door_input_plain(data) -> dict | None:
    """Return what ``CheckOutInputSerializer`` (and the check-in's) validates ``data`` to, for the
    plain shape a door sends, else None (then the serializer decides, with its error messages).

    Plain: a JSON object with exactly one of a well-formed ``participant`` id or ``ticket_code``
    and at most a ``nonce`` of printable ASCII (blank-free after trimming, at most 64 characters);
    no ``scanned_at``. The serializer's own run cost about 0.06 ms of CPU per scan.
    """
    if type(data) is not dict:  # a form's QueryDict, a list: the serializer decides
        return None
    who = [name for name in _WHO if name in data]
    if len(who) != 1 or len(data) != 1 + ("nonce" in data) or not _plain_who(who[0], data[who[0]]):
        return None
    nonce = _plain_nonce(data["nonce"]) if "nonce" in data else ""
    return None if nonce is None else {who[0]: data[who[0]], "nonce": nonce}


# A door's body is a few dozen bytes; a larger one goes through DRF's parsers as before.
DOOR_BODY_MAX_BYTES = 4096


def door_input_json(request) -> dict | None:
    """``door_input_plain`` of a door's JSON body, read without DRF's parser selection, or None.

    Only for ``Content-Type: application/json`` exactly and a small body, read as DRF's
    ``JSONParser`` reads it: UTF-8, strict JSON (no ``NaN`` or ``Infinity``). Any other request,
    or a body that is not valid JSON of the door's plain shape, gives None: ``request.data`` then
    decides, with DRF's parsers and error messages. DRF's parsing cost about 0.05 ms of CPU a scan.
    """
    meta = request.META
    if meta.get("CONTENT_TYPE") != "application/json":
        return None
    length = meta.get("CONTENT_LENGTH") or ""
    if not (length.isdigit() and 0 < int(length) <= DOOR_BODY_MAX_BYTES):
        return None
    try:
        data = drf_json.loads(request.body.decode("utf-8"))
    except ValueError:  # not UTF-8, not JSON, NaN: DRF's parser answers it (400)
        return None
    return door_input_plain(data)


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
