"""The one API router, mounted once under /api/ by config.urls."""

from rest_framework.routers import DefaultRouter

from participants_app.api.views import ParticipantViewSet
from sessions_app.api.reconcile import ReconcileViewSet
from sessions_app.api.views import SessionViewSet

router = DefaultRouter()
router.register("sessions", SessionViewSet, basename="session")
router.register("participants", ParticipantViewSet, basename="participant")
router.register("reconcile", ReconcileViewSet, basename="reconcile")

app_name = "api"
urlpatterns = router.urls
