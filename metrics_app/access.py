"""Who may read /metrics: a bearer token (``METRICS_TOKEN``) or an allowed address.

Closed unless configured: with neither setting the endpoint answers 404, as if it did not exist
(production's default). Otherwise a request from an address in ``METRICS_ALLOWED_ADDRESSES``
(addresses or networks, e.g. ``10.0.0.0/8``) or carrying ``Authorization: Bearer <METRICS_TOKEN>``
is served, any other is answered 403. The address is the peer's (``REMOTE_ADDR``), never a
forwarded header: behind a proxy, use the token (or do not route /metrics through the proxy).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DISABLED, REFUSED = 404, 403


@functools.cache
def allowed_networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parse ``METRICS_ALLOWED_ADDRESSES`` (a malformed entry is a configuration error)."""
    try:
        return tuple(
            ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: {exc}") from exc


def _address_allowed(remote_addr: str) -> bool:
    try:
        networks = allowed_networks(tuple(settings.METRICS_ALLOWED_ADDRESSES))
    except ImproperlyConfigured:  # reported by the system check (metrics.E001): allow nobody
        return False
    try:
        address = ipaddress.ip_address(remote_addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _token_presented(request) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), token.encode())
    )


def metrics_refusal(request) -> int | None:
    """Return the status that refuses this request (404 disabled, 403 refused), or None."""
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_ADDRESSES:
        return DISABLED
    if _address_allowed(request.META.get("REMOTE_ADDR", "")) or _token_presented(request):
        return None
    return REFUSED
