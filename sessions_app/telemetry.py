"""The door's own telemetry: the round trip it measured for its previous request.

The door page (and any scanner that wants to) sends it with its next request in the
``X-Door-Latency-Ms`` header; it is stored on the scan entry (``Scan.client_latency_ms``) for the
doors view. Telemetry never fails a request: a malformed or out-of-bounds value is dropped.
"""

from __future__ import annotations

import math

from django.conf import settings

LATENCY_HEADER = "X-Door-Latency-Ms"


def door_latency_ms(request) -> int | None:
    """Return the latency the request's door reported (whole milliseconds), or None."""
    raw = request.headers.get(LATENCY_HEADER, "")
    if not raw or len(raw) > 32:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or not 0 <= value <= settings.DOOR_LATENCY_MAX_MS:
        return None
    return round(value)
