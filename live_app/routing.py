"""WebSocket routes (mounted by config/asgi.py)."""

from django.urls import path, re_path

from .consumers import NotFoundConsumer, OccupancyConsumer
from .doors_consumer import DoorsConsumer

websocket_urlpatterns = [
    path("ws/occupancy/", OccupancyConsumer.as_asgi()),
    path("ws/doors/", DoorsConsumer.as_asgi()),
    re_path(r"^ws/sessions/(?P<session_id>[0-9a-f]{24})/$", OccupancyConsumer.as_asgi()),
    # Last: a malformed id or an unknown path is refused with 4404, not a 500 at the handshake.
    re_path(r"", NotFoundConsumer.as_asgi()),
]
