"""Answer health probes addressed by IP (``http://127.0.0.1:8000/health/ready``, a pod's IP)
whatever ``ALLOWED_HOSTS`` says, without relaxing Host validation anywhere else.

Django validates the Host header on the first ``request.get_host()`` (CommonMiddleware calls it
on every request) and answers 400 to a host outside ``ALLOWED_HOSTS``; production allows only its
public name, so a container's own HEALTHCHECK, compose's healthcheck and load balancers that poll
by IP were refused. This middleware sits first and serves exactly the plain health views itself
when the Host is an IP literal: those views build no URL from the Host and carry no session, so
a forged Host has nothing to poison. Any other path, and any host *name* outside
``ALLOWED_HOSTS``, still gets Django's 400. Probes served here are anonymous (no error texts).
"""

from __future__ import annotations

import ipaddress

from django.http.request import split_domain_port

from . import views

PROBE_VIEWS = {"/health": views.health, "/health/ready": views.ready, "/health/live": views.live}


def is_ip_literal(host: str) -> bool:
    """Tell whether a Host header names an IP address (``127.0.0.1:8000``, ``[::1]``)."""
    domain, _port = split_domain_port(host.lower())
    if not domain and host.startswith("["):  # split_domain_port rejects some bracketed forms
        domain = host[1:].split("]", 1)[0]
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return False
    return True


class HealthProbeMiddleware:
    """Serve /health, /health/ready and /health/live to probes that address the server by IP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = PROBE_VIEWS.get(request.path_info)
        if view is not None and is_ip_literal(request.META.get("HTTP_HOST", "")):
            return view(request)
        return self.get_response(request)
