"""Sessions API: CRUD for staff, reads for every signed-in user, check-in/out at the door."""

from bson import ObjectId
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.permissions import ModelPermissions, has_perms
from core.api.schema import (
    NOT_AUTHENTICATED,
    STAFF_ONLY,
    VALIDATION_ERROR,
    crud_responses,
    not_found,
)
from core.caching import STATS_KEY, cache_get_or_compute, detail_ttl, stats_ttl
from core.exceptions import NotFoundError, NotFoundReason
from devices_app.principal import request_device

from .. import services
from ..access import ATTENDANCE_VIEW, SCAN_LOG_VIEW, verdict_for_user
from ..caching import session_detail_key
from ..models import CheckIn, Scan
from ..selectors import (
    session_check_in_list,
    session_conflict_list,
    session_get,
    session_list,
    session_scan_list,
    session_stats,
)
from ..telemetry import door_latency_ms
from ..verdicts import IN_PROGRESS_RETRY_AFTER, Reason
from .check_in_serializers import (
    CheckInInputSerializer,
    CheckOutInputSerializer,
    DoorStateSerializer,
    UndoInputSerializer,
    VerdictSerializer,
    door_input_json,
    door_input_plain,
    verdict_data,
)
from .filters import CheckInFilter, ScanFilter, SessionFilter
from .lease_serializers import ConflictSerializer, LeaseRequestSerializer
from .leases import grant_schema, lease_grant_response
from .permissions import CanCheckIn
from .schema import (
    ID_PARAMETER,
    check_in_schema,
    check_out_schema,
    door_state_schema,
    undo_schema,
)
from .serializers import (
    CheckInRecordSerializer,
    ScanSerializer,
    SessionInputSerializer,
    SessionOutputSerializer,
    StatsSerializer,
)
from .verdict_status import verdict_http_status


def _responses(action):
    return crud_responses(action, SessionOutputSerializer, "session_not_found")


# Lists that name participants (and, in the scan log, carry ticket codes): staff with the view
# permission only, never door scanners (who get the verdict of their own scan).
# The same permissions decide the admin's blocks and the names in verdicts (sessions_app.access).
_PII_READS = {"check_ins": ATTENDANCE_VIEW, "scans": SCAN_LOG_VIEW, "conflicts": SCAN_LOG_VIEW}
_CAPACITY_NOTE = "Capacity cannot go below the number checked in now (400 on `capacity`)."


@extend_schema_view(
    list=extend_schema(
        summary="List sessions (filter, search, order, paginate)",
        responses=_responses("list"),
    ),
    retrieve=extend_schema(
        summary="One session (cached a few seconds)",
        parameters=[ID_PARAMETER],
        responses=_responses("retrieve"),
    ),
    create=extend_schema(
        summary="Create a session (staff)",
        request=SessionInputSerializer,
        responses=_responses("create"),
    ),
    update=extend_schema(
        summary="Replace a session (staff)",
        description=_CAPACITY_NOTE,
        parameters=[ID_PARAMETER],
        request=SessionInputSerializer,
        responses=_responses("update"),
    ),
    partial_update=extend_schema(
        summary="Change some fields of a session (staff)",
        description=_CAPACITY_NOTE,
        parameters=[ID_PARAMETER],
        request=SessionInputSerializer,
        responses=_responses("update"),
    ),
    destroy=extend_schema(
        summary="Delete a session without check-in history (staff)",
        parameters=[ID_PARAMETER],
        responses=_responses("destroy"),
    ),
)
class SessionViewSet(viewsets.GenericViewSet):
    """Sessions with their capacity and the number of participants checked in now."""

    # Any id reaches the view, which answers a malformed one 404 with its reason (JSON);
    # DRF's default pattern left ids with a "." to Django's HTML 404.
    lookup_value_regex = "[^/]+"
    serializer_class = SessionOutputSerializer
    filterset_class = SessionFilter
    search_fields = ["title", "location", "description"]
    ordering_fields = ["starts_at", "ends_at", "title", "capacity", "check_in_count", "created_at"]
    ordering = ["starts_at"]

    def get_queryset(self):
        return session_list()

    def get_serializer_class(self):
        # The browsable API builds its forms from this: each action shows its own input.
        return {
            "create": SessionInputSerializer,
            "update": SessionInputSerializer,
            "partial_update": SessionInputSerializer,
            "check_in": CheckInInputSerializer,
            "check_out": CheckOutInputSerializer,
            "undo": UndoInputSerializer,
            "leases": LeaseRequestSerializer,
        }.get(self.action, SessionOutputSerializer)

    def get_permissions(self):
        if self.action in ("check_in", "check_out", "undo", "leases"):
            return [IsAuthenticated(), CanCheckIn()]
        if self.action in _PII_READS:
            return [IsAuthenticated(), has_perms(_PII_READS[self.action])()]
        return [IsAuthenticated(), ModelPermissions()]

    def get_object(self):
        return session_get(session_id=self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SessionOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        if not ObjectId.is_valid(pk):
            raise NotFoundError(NotFoundReason.SESSION_NOT_FOUND)
        data = cache_get_or_compute(
            key=session_detail_key(pk),
            ttl=detail_ttl(),
            compute=lambda: dict(SessionOutputSerializer(self.get_object()).data),
        )
        return Response(data)

    def create(self, request):
        serializer = SessionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_create(**serializer.validated_data)
        return Response(SessionOutputSerializer(session).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        session = self.get_object()
        serializer = SessionInputSerializer(session, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        session = services.session_update(session=session, data=dict(serializer.validated_data))
        return Response(SessionOutputSerializer(session).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, pk=None):
        services.session_delete(session=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Totals and fill of open sessions (cached a few seconds)",
        responses={200: StatsSerializer, 401: NOT_AUTHENTICATED},
    )
    @action(detail=False, methods=["get"])
    def stats(self, request):
        return Response(cache_get_or_compute(key=STATS_KEY, ttl=stats_ttl(), compute=session_stats))

    @extend_schema(
        summary="A session's check-in records, newest first",
        parameters=[
            ID_PARAMETER,
            OpenApiParameter(
                "inside", bool, description="true: inside now; false: left (or never got in)."
            ),
            OpenApiParameter("source", str, enum=CheckIn.Source.values),
        ],
        filters=False,
        responses={
            200: CheckInRecordSerializer(many=True),
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
            404: not_found("session_not_found"),
        },
    )
    @action(detail=True, methods=["get"], url_path="check-ins")
    def check_ins(self, request, pk=None):
        session = self.get_object()
        return self._filtered_page(
            CheckInFilter, session_check_in_list(session_id=session.pk), CheckInRecordSerializer
        )

    @door_state_schema
    @check_in_schema
    @action(detail=True, methods=["get", "post"], url_path="check-in")
    def check_in(self, request, pk=None):
        """Check a participant in: POST a `ticket_code` (or a `participant` id) and a `nonce`.

        The answer is a verdict with a stable `reason`. A GET shows the session's count and
        capacity and changes nothing.
        """
        if request.method == "GET":
            return Response(DoorStateSerializer(self.get_object()).data)
        data = (
            door_input_json(request)
            or door_input_plain(request.data)
            or _validated(CheckInInputSerializer, request.data)
        )
        verdict = services.session_check_in(
            session_id=pk,
            participant_id=data.get("participant"),
            ticket_code=data.get("ticket_code"),
            nonce=data.get("nonce", ""),
            source=CheckIn.Source.API,
            actor=request.user.get_username(),
            device=request_device(request),
            scanned_at=data.get("scanned_at"),
            client_latency_ms=door_latency_ms(request),
        )
        return _verdict_response(verdict, request)

    @door_state_schema
    @check_out_schema
    @action(detail=True, methods=["get", "post"], url_path="check-out")
    def check_out(self, request, pk=None):
        """Check a participant out: POST a `ticket_code` (or a `participant` id).

        Idempotent: someone not inside answers `not_checked_in`. A GET shows the session's count
        and capacity and changes nothing.
        """
        if request.method == "GET":
            return Response(DoorStateSerializer(self.get_object()).data)
        data = (
            door_input_json(request)
            or door_input_plain(request.data)
            or _validated(CheckOutInputSerializer, request.data)
        )
        verdict = services.session_check_out(
            session_id=pk,
            participant_id=data.get("participant"),
            ticket_code=data.get("ticket_code"),
            nonce=data.get("nonce", ""),
            source=CheckIn.Source.API,
            actor=request.user.get_username(),
            device=request_device(request),
            scanned_at=data.get("scanned_at"),
            client_latency_ms=door_latency_ms(request),
        )
        return _verdict_response(verdict, request)

    @undo_schema
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Undo an accepted check-in of this door: POST the scan's `nonce`."""
        serializer = UndoInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verdict = services.session_scan_undo(
            session_id=pk,
            nonce=serializer.validated_data["nonce"],
            source=CheckIn.Source.API,
            actor=request.user.get_username(),
            device=request_device(request),
            client_latency_ms=door_latency_ms(request),
        )
        if verdict.reason == Reason.SCAN_NOT_FOUND:
            body = {"detail": verdict.detail, "reason": verdict.reason.value}
            return Response(body, status=verdict_http_status(verdict))
        return _verdict_response(verdict, request)

    @extend_schema(
        summary="A session's scan log: every check-in and check-out attempt, newest first",
        parameters=[
            ID_PARAMETER,
            OpenApiParameter("direction", str, enum=Scan.Direction.values),
            OpenApiParameter("reason", str, enum=[r.value for r in Reason]),
            OpenApiParameter("after", OpenApiTypes.DATETIME, description="At or after."),
            OpenApiParameter("before", OpenApiTypes.DATETIME, description="Before."),
            OpenApiParameter("ticket_code", str, description="Exactly this scanned code."),
            OpenApiParameter("participant", str, description="A participant's id."),
        ],
        filters=False,
        responses={
            200: ScanSerializer(many=True),
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
            404: not_found("session_not_found"),
        },
    )
    @action(detail=True, methods=["get"])
    def scans(self, request, pk=None):
        session = self.get_object()
        return self._filtered_page(
            ScanFilter, session_scan_list(session_id=session.pk), ScanSerializer
        )

    @grant_schema
    @action(detail=True, methods=["post"])
    def leases(self, request, pk=None):
        """Lease places of the session to this door, for scanning offline (services/leases.py)."""
        return lease_grant_response(request, pk)

    @extend_schema(
        summary="A session's conflicts: offline scans the server disagreed with, newest first",
        description="Scan-log entries with a `conflict`: `admitted_elsewhere`, "
        "`ticket_not_found`, `participant_deleted`, `lease_exhausted`, `lease_expired`, "
        "`not_checked_in`. Each names the person (if known) and the session.",
        parameters=[ID_PARAMETER],
        filters=False,
        responses={
            200: ConflictSerializer(many=True),
            400: VALIDATION_ERROR,  # a bad ?page=
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
            404: not_found("session_not_found"),
        },
    )
    @action(detail=True, methods=["get"])
    def conflicts(self, request, pk=None):
        session = self.get_object()
        page = self.paginate_queryset(session_conflict_list(session_id=session.pk))
        return self.get_paginated_response(ConflictSerializer(page, many=True).data)

    def _filtered_page(self, filterset_class, queryset, serializer_class) -> Response:
        """Filter ``queryset`` by the query string (400 on bad values), paginate, serialize."""
        filterset = filterset_class(self.request.query_params, queryset=queryset)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(serializer_class(page, many=True).data)


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _verdict_response(verdict, request) -> Response:
    # A door account sees a name only for someone it checked in or out (sessions_app.access).
    verdict = verdict_for_user(verdict=verdict, user=request.user)
    if getattr(request, "accepted_renderer", None) is not None and (
        request.accepted_renderer.format == "json"
    ):
        data = verdict_data(verdict)  # the same keys and values, without DRF's serializer
    else:  # the browsable API builds its forms from the serializer attached to the data
        data = VerdictSerializer(verdict).data
    response = Response(data, status=verdict_http_status(verdict))
    if verdict.reason == Reason.CHECK_IN_IN_PROGRESS:
        response["Retry-After"] = str(IN_PROGRESS_RETRY_AFTER)
    return response
