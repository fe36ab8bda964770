"""Health URLs. Production exempts ^health(/.*)?$ from the HTTPS redirect (SECURE_REDIRECT_EXEMPT)."""

from django.urls import path

from . import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("health/live", views.live, name="health-live"),
    path("health/ready", views.ready, name="health-ready"),
    # django-health-check's own view over the same checks; `manage.py health_check health-checks`.
    path("health/checks", views.ChecksView.as_view(), name="health-checks"),
]
