"""ASGI entry point: WebSockets (live occupancy) and, for health checks, the Django HTTP app.

The check-in API is served by gunicorn (WSGI): sync DRF views under an ASGI server cost
throughput (README, "Live occupancy"). An ASGI server (uvicorn) runs this for ``ws/...``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

http_application = get_asgi_application()  # sets Django up before the imports below

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.ws_auth import TokenAuthMiddleware, origin_validated  # noqa: E402
from devices_app.ws_auth import DeviceAuthMiddleware  # noqa: E402
from live_app.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": origin_validated(
            AuthMiddlewareStack(
                TokenAuthMiddleware(DeviceAuthMiddleware(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
