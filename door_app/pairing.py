"""The door page as a paired device: type (or scan) the one-time code once, no password.

The code is exchanged for the device's token (``devices_app.services.device_pair``, the API's
own service); the browser keeps only the device's id and the token's hash in its Django session
(``devices_app.middleware``), so ``request.user`` is the device on every door page until the
device is revoked, re-paired, or the browser signs out. Wrong codes count against the sign-in
lockout, as on the API.

``DoorDeviceScopeMiddleware`` keeps a paired door at its own sessions: a remembered session it
may no longer scan is forgotten (the picker asks again), and choosing another is refused.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from devices_app.middleware import session_device_remember
from devices_app.services import PairingError, device_pair

from .views import SESSION_KEY

PAIRING_LOCKOUT_NAME = "door-device-pairing"  # the API's name: one count for both ways in
LOCKED = "Too many wrong codes from here. Wait a few minutes, then try again."


class PairForm(forms.Form):
    """The pairing code as typed or scanned (case, spaces and dashes do not matter)."""

    code = forms.CharField(max_length=32, error_messages={"required": "Type the pairing code."})


def _answer(request, form: PairForm, *, error: str = "", status: int = 200):
    return render(request, "door/pair.html", {"form": form, "error": error}, status=status)


@require_http_methods(["GET", "POST"])
def pair(request):
    """Show the pairing form; pair this browser as the device whose code is typed."""
    if request.method == "GET":
        return _answer(request, PairForm())
    form = PairForm(request.POST)
    if not form.is_valid():
        return _answer(request, form, status=400)
    credentials = {"username": PAIRING_LOCKOUT_NAME}
    if AxesProxyHandler.is_locked(request, credentials):
        return _answer(request, form, error=LOCKED, status=429)
    try:
        issued = device_pair(code=form.cleaned_data["code"])
    except PairingError as error:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        request.axes_locked_out = False  # answered here, on the page (not axes' JSON 429)
        return _answer(request, form, error=error.detail, status=400)
    session_device_remember(request, device=issued.device)
    request.session.pop(SESSION_KEY, None)
    return redirect("door:page")


class DoorDeviceScopeMiddleware:
    """A paired door works at its own sessions only (after devices_app's middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.namespace != "door":
            return None
        may_scan = getattr(request.user, "may_scan", None)  # a DevicePrincipal's
        if may_scan is None:
            return None
        chosen = request.session.get(SESSION_KEY)
        if chosen and not may_scan(chosen):
            request.session.pop(SESSION_KEY, None)
        wanted = request.POST.get("session") if request.method == "POST" else None
        if match.url_name == "choose" and wanted and not may_scan(wanted):
            return render(request, "door/forbidden.html", {"device": True}, status=403)
        return None
