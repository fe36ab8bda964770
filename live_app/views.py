"""The live board (``/board/``): every open session's occupancy, updated over a WebSocket; and
the doors view (``/board/doors/``): every door device's scans, verdicts and latency, live."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http.request import split_domain_port
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from sessions_app.groups import user_can_check_in

from .doors import FAILING_MIN_SCANS, ONLINE_SECONDS, doors_viewer_allowed
from .hub import LIVE_HEARTBEAT_SECONDS


def board_websocket_url(request) -> str:
    """Return the WebSocket base URL the board connects to.

    ``LIVE_WEBSOCKET_URL`` empty: this host (a proxy routes ``/ws/``); ``:8001``: this host name
    on that port (the staff cookie is sent: cookies ignore ports); else the URL as given.
    """
    configured = settings.LIVE_WEBSOCKET_URL.rstrip("/")
    scheme = "wss" if request.is_secure() else "ws"
    if configured.startswith(":"):
        hostname, _port = split_domain_port(request.get_host())
        return f"{scheme}://{hostname}{configured}"
    return configured or f"{scheme}://{request.get_host()}"


@require_safe
def board(request):
    """Show the board to signed-in staff and door staff (the door rule); others sign in first."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("door:login"))
    if not user_can_check_in(request.user):
        return render(request, "live/forbidden.html", status=403)
    context = {
        "ws_url": board_websocket_url(request),
        "heartbeat_seconds": LIVE_HEARTBEAT_SECONDS,
    }
    return render(request, "live/board.html", context)


@require_safe
def doors(request):
    """Show the doors view to staff and door staff (the board's rule); never to a door device."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("door:login"))
    if not doors_viewer_allowed(request.user):
        return render(request, "live/forbidden.html", {"page": "the doors view"}, status=403)
    context = {
        "ws_url": board_websocket_url(request),
        "heartbeat_seconds": LIVE_HEARTBEAT_SECONDS,
        "online_seconds": ONLINE_SECONDS,
        "failing_min_scans": FAILING_MIN_SCANS,
    }
    return render(request, "live/doors.html", context)
