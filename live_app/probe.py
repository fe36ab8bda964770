"""Healthcheck of the ASGI server (docker-compose.yml's ``live`` service).

``python -m live_app.probe [URL]``: a WebSocket handshake to ``ws/occupancy/`` without
credentials must be accepted and then closed with 4401, which shows that the server, Django,
Channels and the WebSocket routes are up. Exit 0 if so, 1 otherwise. Imports no Django.
"""

from __future__ import annotations

import sys

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

DEFAULT_URL = "ws://127.0.0.1:8001/ws/occupancy/"


def probe(url: str = DEFAULT_URL, *, timeout: float = 2.0) -> bool:
    """Return True if ``url`` answers a signed-out WebSocket with close code 4401."""
    try:
        with connect(url, open_timeout=timeout, close_timeout=timeout) as ws:
            ws.recv(timeout=timeout)
    except ConnectionClosed as closed:
        return closed.rcvd is not None and closed.rcvd.code == 4401
    except (OSError, TimeoutError, ValueError) as error:
        print(f"live probe: {type(error).__name__}", file=sys.stderr)
    return False


if __name__ == "__main__":
    sys.exit(0 if probe(*sys.argv[1:2]) else 1)
