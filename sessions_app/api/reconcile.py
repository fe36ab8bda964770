"""`POST /api/reconcile/`: ask a worker to reconcile the counters now (staff)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.permissions import has_perms
from core.api.schema import STAFF_ONLY
from jobs_app.schedule import RECONCILE_TASK
from jobs_app.services import task_publish

from .schema import NOT_AUTHENTICATED

ReconcileQueuedSerializer = inline_serializer(
    name="ReconcileQueued",
    fields={
        "reason": serializers.ChoiceField(choices=["published", "queued_in_outbox"]),
        "detail": serializers.CharField(),
        "task_id": serializers.CharField(allow_null=True),
        "outbox_id": serializers.CharField(allow_null=True),
    },
)


class ReconcileViewSet(viewsets.ViewSet):
    """Queue a counter reconciliation; answers at once, even while the broker is down."""

    # Reconciling changes session counters: what the admin grants as "change session".
    permission_classes = [IsAuthenticated, has_perms("sessions_app.change_session")]

    @extend_schema(
        summary="Reconcile counters now (staff)",
        description=(
            "Publishes the reconcile task. If the broker (Redis) is down, the task is kept in the "
            "MongoDB outbox and published when the broker is back; the answer is 202 either way "
            "and never waits for the broker longer than a bounded retry."
        ),
        request=None,
        responses={202: ReconcileQueuedSerializer, 401: NOT_AUTHENTICATED, 403: STAFF_ONLY},
    )
    def create(self, request):
        result = task_publish(task_name=RECONCILE_TASK)
        if result.published:
            body = {"reason": "published", "detail": "A worker will reconcile the counters now."}
        else:
            body = {
                "reason": "queued_in_outbox",
                "detail": "The broker is unavailable; the task will run when it is back.",
            }
        body.update(task_id=result.task_id, outbox_id=result.outbox_id)
        return Response(body, status=status.HTTP_202_ACCEPTED)
