"""WebSocket routes (mounted by config/asgi.py)."""

from django.urls import path, re_path

from .consumers import OccupancyConsumer

websocket_urlpatterns = [
    path("ws/occupancy/", OccupancyConsumer.as_asgi()),
    re_path(r"^ws/sessions/(?P<session_id>[0-9a-f]{24})/$", OccupancyConsumer.as_asgi()),
]
