"""Health URLs (the full implementation lands with the health issue)."""

from django.urls import path

from . import views

urlpatterns = [
    path("health/live", views.live, name="health-live"),
]
