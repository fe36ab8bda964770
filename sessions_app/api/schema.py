"""OpenAPI documentation of the door endpoints: every verdict, with an example."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from core.api.schema import NOT_AUTHENTICATED, NotFoundReasonSerializer, not_found

from ..telemetry import LATENCY_HEADER
from ..verdicts import Reason
from .check_in_serializers import (
    CheckInInputSerializer,
    CheckOutInputSerializer,
    DoorStateSerializer,
    UndoInputSerializer,
    VerdictSerializer,
)

ID_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Session id (24 hex characters)."
)
# Sent with a 409 `check_in_in_progress` (not with the other 409s, hence not required).
RETRY_AFTER_409 = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[409],
    description="With `check_in_in_progress`: seconds to wait before retrying.",
)
# The door's own round trip of its previous request: telemetry, never a reason for a 400.
LATENCY_PARAMETER = OpenApiParameter(
    LATENCY_HEADER,
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="Optional telemetry: the round trip (ms) the door measured for its previous "
    "request, stored with this scan for the doors view. A malformed or out-of-range value "
    "(above `DOOR_LATENCY_MAX_MS`) is ignored, never an error.",
)
_SESSION = "6650f1a2b3c4d5e6f7a8b9c0"
_PARTICIPANT = "6650f1a2b3c4d5e6f7a8b9c1"


def _verdict_example(reason, detail, status, count, *, inside=False, replayed=False, name=None):
    return OpenApiExample(
        name or reason,
        value={
            "reason": reason,
            "detail": detail,
            "session": _SESSION,
            "session_title": "Opening keynote",
            "participant": _PARTICIPANT,
            "participant_name": "Uma Ortiz",
            "check_in_count": count,
            "capacity": 25,
            "inside": inside,
            "replayed": replayed,
        },
        response_only=True,
        status_codes=[str(status)],
    )


def _not_found_example(reason, detail):
    return OpenApiExample(
        reason, value={"detail": detail, "reason": reason}, response_only=True, status_codes=["404"]
    )


_BAD_INPUT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Bad input: field errors in DRF's shape (malformed JSON, invalid id, unknown "
    "field, both or neither of participant/ticket_code, `scanned_at` without an offset, more "
    "than `SCANNED_AT_MAX_FUTURE_SECONDS` ahead or `SCANNED_AT_MAX_AGE_HOURS` back).",
    examples=[
        OpenApiExample(
            "invalid",
            value={"participant": ["Not a valid id (24 hexadecimal characters expected)."]},
            response_only=True,
            status_codes=["400"],
        ),
        OpenApiExample(
            "scanned_at too old",
            value={"scanned_at": ["More than 24 h ago: too old to record."]},
            response_only=True,
            status_codes=["400"],
        ),
    ],
)
_AUTH = NOT_AUTHENTICATED
_FORBIDDEN = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Neither staff nor holder of the check_in permission."
)

_NOT_FOUND = OpenApiResponse(
    NotFoundReasonSerializer,
    description="Unknown session (`session_not_found`, also for a malformed id in the URL), "
    "participant (`participant_not_found`) or ticket (`ticket_not_found`).",
)
_NOT_FOUND_EXAMPLES = [
    _not_found_example("session_not_found", "No session with this id."),
    _not_found_example("participant_not_found", "No participant with this id."),
    _not_found_example("ticket_not_found", "No participant with this ticket code."),
]

check_in_schema = extend_schema(
    methods=["POST"],
    summary="Check a participant in",
    description=(
        "Admit a participant (by `participant` id or `ticket_code`) if the session is open and "
        "has room. MongoDB decides, so the capacity holds under any concurrency and whatever "
        "Redis does. Every verdict carries `reason` (stable code), `detail`, the session's "
        "current `check_in_count` and `capacity`, names, and whether the participant is "
        "`inside` now. A request with a `nonce` used before at this session is answered with "
        "that request's original verdict (`replayed: true`; a replayed `checked_in` answers "
        "200), whatever happened since: it never decides again. A scan sent late carries "
        "`scanned_at`, stored beside the server's time; capacity is decided when the request "
        "arrives, never at `scanned_at`.\n\n"
        "| status | reason | meaning |\n|---|---|---|\n"
        "| 201 | `checked_in` | admitted now, counted once |\n"
        "| 200 | `already_checked_in` | inside already: nothing changed |\n"
        "| 409 | `session_full` | no place left |\n"
        "| 409 | `session_not_open` | the session is draft, closed or cancelled |\n"
        "| 409 | `check_in_in_progress` | another request for this participant (or the "
        "original of this nonce) is still deciding: retry after `Retry-After` (1 s) |\n"
        "| 409 | `nonce_reused` | the nonce was used for another participant at this session |\n"
        "| 404 | `session_not_found` / `participant_not_found` / `ticket_not_found` | unknown |\n"
        "| 400 | - | bad input (field errors) |"
    ),
    parameters=[ID_PARAMETER, RETRY_AFTER_409, LATENCY_PARAMETER],
    request=CheckInInputSerializer,
    responses={
        201: VerdictSerializer,
        200: VerdictSerializer,
        409: VerdictSerializer,
        404: _NOT_FOUND,
        400: _BAD_INPUT,
        401: _AUTH,
        403: _FORBIDDEN,
    },
    examples=[
        OpenApiExample(
            "by ticket",
            value={"ticket_code": "Xk3v9QpL0aZs", "nonce": "door-2-000123"},
            request_only=True,
        ),
        OpenApiExample("by id", value={"participant": _PARTICIPANT}, request_only=True),
        OpenApiExample(
            "sent late",
            value={
                "ticket_code": "Xk3v9QpL0aZs",
                "nonce": "door-2-000124",
                "scanned_at": "2026-12-07T14:02:05+01:00",
            },
            request_only=True,
        ),
        _verdict_example("checked_in", "Checked in.", 201, 24, inside=True),
        _verdict_example(
            "already_checked_in",
            "The participant is checked in to this session already.",
            200,
            24,
            inside=True,
        ),
        _verdict_example(
            "checked_in",
            "This check-in request (same nonce) was answered already; this is its original "
            "verdict. Nothing changed.",
            200,
            23,
            replayed=True,
            name="replay after a check-out",
        ),
        _verdict_example("session_full", "The session is full.", 409, 25),
        _verdict_example("session_not_open", "The session is not open for check-in.", 409, 0),
        _verdict_example(
            "check_in_in_progress",
            "Another request for this participant is still being decided. Retry in a second.",
            409,
            24,
        ),
        *_NOT_FOUND_EXAMPLES,
    ],
)

check_out_schema = extend_schema(
    methods=["POST"],
    summary="Check a participant out",
    description=(
        "Free the participant's place. Idempotent. A check-out sent late carries `scanned_at`: "
        "if that is before the participant's latest check-in, it belongs to an earlier visit "
        "and does not check them out (`not_checked_in`, the `detail` says why).\n\n"
        "| status | reason | meaning |\n|---|---|---|\n"
        "| 200 | `checked_out` | left now; the place is free |\n"
        "| 200 | `not_checked_in` | was not inside (or, with `scanned_at`, came in again after "
        "that time): nothing changed |\n"
        "| 409 | `check_in_in_progress` | another request for this participant is still "
        "deciding: retry after `Retry-After` (1 s) |\n"
        "| 404 | `session_not_found` / `participant_not_found` / `ticket_not_found` | unknown |\n"
        "| 400 | - | bad input (field errors) |"
    ),
    parameters=[ID_PARAMETER, RETRY_AFTER_409, LATENCY_PARAMETER],
    request=CheckOutInputSerializer,
    responses={
        200: VerdictSerializer,
        409: VerdictSerializer,
        404: _NOT_FOUND,
        400: _BAD_INPUT,
        401: _AUTH,
        403: _FORBIDDEN,
    },
    examples=[
        _verdict_example("checked_out", "Checked out.", 200, 23),
        _verdict_example(
            "not_checked_in", "The participant is not checked in to this session.", 200, 23
        ),
        *_NOT_FOUND_EXAMPLES,
    ],
)


class UndoNotFoundSerializer(serializers.Serializer):
    """404 of an undo: DRF's error shape plus the reason code."""

    detail = serializers.CharField()
    reason = serializers.ChoiceField(choices=["session_not_found", Reason.SCAN_NOT_FOUND.value])


_SCAN_NOT_FOUND = OpenApiResponse(
    UndoNotFoundSerializer,
    description="Unknown session (`session_not_found`), or no scan with this nonce at the "
    "session (`scan_not_found`).",
)

undo_schema = extend_schema(
    methods=["POST"],
    summary="Undo an accepted check-in of this door",
    description=(
        "Annul a check-in made by the same device (a device's token) or the same user (a "
        "person's) within `UNDO_WINDOW_SECONDS` (120 s): the place is freed exactly like a "
        "check-out, by the admission protocol, and the scan log records the undo as its own "
        "entry (reason `annulled`, `annuls`: the scan). Idempotent: an undo sent again answers "
        "the first undo's verdict (`replayed: true`) and changes nothing. A check-out is not "
        "undone (scan the participant in again: re-admitting is a capacity decision).\n\n"
        "| status | reason | meaning |\n|---|---|---|\n"
        "| 200 | `annulled` | the check-in is undone; the place is free |\n"
        "| 409 | `undo_superseded` | the participant was scanned at this session since (or "
        "checked out): that scan stands, nothing changed |\n"
        "| 409 | `undo_window_passed` | the scan is older than the window: check out instead |\n"
        "| 409 | `undo_nothing_to_undo` | the scan was refused or a repeat: it changed nothing |\n"
        "| 409 | `undo_check_out_refused` | the scan was a check-out |\n"
        "| 409 | `check_in_in_progress` | the scan (or another request for the participant) is "
        "still deciding: retry after `Retry-After` (1 s) |\n"
        "| 403 | `undo_not_yours` | another device's or user's scan |\n"
        "| 404 | `scan_not_found` / `session_not_found` | no such scan, or session |\n"
        "| 400 | - | bad input (field errors) |"
    ),
    parameters=[ID_PARAMETER, RETRY_AFTER_409, LATENCY_PARAMETER],
    request=UndoInputSerializer,
    responses={
        200: VerdictSerializer,
        409: VerdictSerializer,
        403: VerdictSerializer,
        404: _SCAN_NOT_FOUND,
        400: _BAD_INPUT,
        401: _AUTH,
    },
    examples=[
        OpenApiExample("undo", value={"nonce": "door-2-000123"}, request_only=True),
        _verdict_example("annulled", "The check-in was undone: the place is free again.", 200, 23),
        _verdict_example(
            "undo_superseded",
            "The participant was scanned again at this session since: this scan is not undone.",
            409,
            24,
            inside=True,
        ),
        _verdict_example(
            "undo_window_passed",
            "Too late to undo this scan: check the participant out instead.",
            409,
            24,
            inside=True,
        ),
        _verdict_example(
            "undo_not_yours",
            "This scan was made by another door: only that door can undo it.",
            403,
            24,
            inside=True,
        ),
        _not_found_example("scan_not_found", "No scan with this nonce at this session."),
    ],
)

# A GET on a door endpoint (what the browsable API opens before its form is posted).
door_state_schema = extend_schema(
    methods=["GET"],
    summary="The session as its door sees it now (status, count, capacity)",
    description="Changes nothing. POST to check a participant in or out.",
    parameters=[ID_PARAMETER],
    responses={
        200: DoorStateSerializer,
        401: _AUTH,
        403: _FORBIDDEN,
        404: not_found("session_not_found"),
    },
)
