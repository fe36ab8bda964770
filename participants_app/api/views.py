"""Participants API (personal data): reads and writes by model permission (the admin's)."""

from bson import ObjectId
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.permissions import ModelPermissionsWithView
from core.api.schema import crud_responses
from core.caching import cache_get_or_compute, detail_ttl
from core.exceptions import NotFoundError, NotFoundReason

from .. import services
from ..caching import participant_detail_key
from ..selectors import participant_get, participant_list
from .filters import ParticipantFilter
from .serializers import ParticipantInputSerializer, ParticipantOutputSerializer

ID_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Participant id (24 hex characters)."
)


def _responses(action):
    return crud_responses(action, ParticipantOutputSerializer, "participant_not_found")


@extend_schema_view(
    list=extend_schema(
        summary="List participants (search by name, e-mail, ticket code)",
        responses=_responses("list"),
    ),
    retrieve=extend_schema(
        summary="One participant (cached a few seconds)",
        parameters=[ID_PARAMETER],
        responses=_responses("retrieve"),
    ),
    create=extend_schema(
        summary="Create a participant (staff)",
        description="The e-mail address must be unique regardless of case (400 on `email`); "
        "a URL-safe ticket code is generated when none is given.",
        request=ParticipantInputSerializer,
        responses=_responses("create"),
    ),
    update=extend_schema(
        summary="Replace a participant (staff)",
        parameters=[ID_PARAMETER],
        request=ParticipantInputSerializer,
        responses=_responses("update"),
    ),
    partial_update=extend_schema(
        summary="Change some fields of a participant (staff)",
        parameters=[ID_PARAMETER],
        request=ParticipantInputSerializer,
        responses=_responses("update"),
    ),
    destroy=extend_schema(
        summary="Delete a participant without check-in history (staff)",
        parameters=[ID_PARAMETER],
        responses=_responses("destroy"),
    ),
)
class ParticipantViewSet(viewsets.GenericViewSet):
    """Participants and their ticket codes."""

    # Any id reaches the view, which answers a malformed one 404 with its reason (JSON);
    # DRF's default pattern left ids with a "." to Django's HTML 404.
    lookup_value_regex = "[^/]+"
    serializer_class = ParticipantOutputSerializer
    permission_classes = [IsAuthenticated, ModelPermissionsWithView]
    filterset_class = ParticipantFilter
    search_fields = ["full_name", "email", "ticket_code", "organization"]
    ordering_fields = ["full_name", "email", "organization", "created_at"]
    ordering = ["full_name"]

    def get_queryset(self):
        return participant_list()

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ParticipantInputSerializer
        return ParticipantOutputSerializer

    def get_object(self):
        return participant_get(participant_id=self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ParticipantOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        if not ObjectId.is_valid(pk):
            raise NotFoundError(NotFoundReason.PARTICIPANT_NOT_FOUND)
        data = cache_get_or_compute(
            key=participant_detail_key(pk),
            ttl=detail_ttl(),
            compute=lambda: dict(ParticipantOutputSerializer(self.get_object()).data),
        )
        return Response(data)

    def create(self, request):
        serializer = ParticipantInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        participant = services.participant_create(**serializer.validated_data)
        return Response(
            ParticipantOutputSerializer(participant).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, pk=None, partial=False):
        participant = self.get_object()
        serializer = ParticipantInputSerializer(participant, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if not data.get("ticket_code", True):  # blank: keep the current code
            data.pop("ticket_code")
        participant = services.participant_update(participant=participant, data=data)
        return Response(ParticipantOutputSerializer(participant).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, pk=None):
        services.participant_delete(participant=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
