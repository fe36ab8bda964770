"""The one API router, mounted once under /api/ by config.urls."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from devices_app.api.views import DevicePairView, DeviceViewSet
from door_app.offline_pack_api import OfflinePackView
from jobs_app.api.views import JobViewSet
from participants_app.api.exports import ParticipantExportView
from participants_app.api.imports import ParticipantImportViewSet
from participants_app.api.views import ParticipantViewSet
from sessions_app.api.exports import AttendanceHistoryExportView, AttendanceInsideExportView
from sessions_app.api.leases import LeaseViewSet
from sessions_app.api.reconcile import ReconcileViewSet
from sessions_app.api.views import SessionViewSet

# No ".json" twins of the routes: the API negotiates its format (Accept, ?format=json); the
# twins reached actions that take no format argument (a 500), and doubled every URL to guard.
router = DefaultRouter()
router.include_format_suffixes = False
router.register("sessions", SessionViewSet, basename="session")
# Before "participants": its detail route would take "import" for a participant id.
router.register("participants/import", ParticipantImportViewSet, basename="participant-import")
router.register("participants", ParticipantViewSet, basename="participant")
router.register("jobs", JobViewSet, basename="job")
router.register("reconcile", ReconcileViewSet, basename="reconcile")
router.register("devices", DeviceViewSet, basename="device")
router.register("leases", LeaseViewSet, basename="lease")

app_name = "api"
urlpatterns = [
    # CSV downloads (streamed); before the router's routes, whose detail patterns would take them.
    path("participants/export/", ParticipantExportView.as_view(), name="participant-export"),
    path("devices/pair/", DevicePairView.as_view(), name="device-pair"),
    path("sessions/<str:pk>/offline-pack/", OfflinePackView.as_view(), name="session-offline-pack"),
    path(
        "sessions/<str:session_id>/attendance/",
        AttendanceInsideExportView.as_view(),
        name="session-attendance",
    ),
    path(
        "sessions/<str:session_id>/attendance/history/",
        AttendanceHistoryExportView.as_view(),
        name="session-attendance-history",
    ),
    *router.urls,
]
