"""The door page: choose a session once, then scan ticket codes one after another.

Every scan goes through the same services as the API (``session_check_in`` /
``session_check_out``, and ``session_scan_undo`` for the Undo on an accepted check-in), with the
user name as the actor and a nonce per scan, so a double submit or a retry of a lost answer is
answered once. Nothing here touches Redis: with Redis down the
services decide in MongoDB, and the choice of session lives in the Django session (MongoDB).
"""

from __future__ import annotations

import secrets
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST, require_safe

from core.exceptions import NotFoundError, NotFoundReason
from devices_app.principal import request_device
from sessions_app.access import scans_for_user, verdict_for_user
from sessions_app.groups import user_can_check_in
from sessions_app.models import CheckIn, Session
from sessions_app.selectors import session_get
from sessions_app.services import session_check_in, session_check_out, session_scan_undo
from sessions_app.telemetry import door_latency_ms
from sessions_app.verdicts import Reason

from .answers import Answer, RecentScan
from .forms import MODE_IN, MODE_OUT, ChooseSessionForm, KeptScanForm, ScanForm, UndoForm
from .offline import SHELL_HEADER, SHELL_QUERY
from .selectors import door_recent_scans, door_sessions, door_sessions_not_open

SCAN_VIEW_PERMISSION = "sessions_app.view_scan"
SESSION_KEY = "door_session_id"  # the chosen session, remembered in the Django session
FETCH_HEADER = "X-Door-Fetch"  # the page's script asks for the live part only


def door_staff_required(view):
    """Signed in (else the door's sign-in page) and allowed to check in (else 403)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("door:page"), reverse("door:login"))
        if not user_can_check_in(request.user):
            return render(request, "door/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _nonce() -> str:
    return f"door-{secrets.token_hex(8)}"


def _chosen(request) -> Session | None:
    """Return the remembered session, forgetting it if it no longer exists."""
    session_id = request.session.get(SESSION_KEY)
    if not session_id:
        return None
    try:
        return session_get(session_id=session_id)
    except NotFoundError:
        request.session.pop(SESSION_KEY, None)
        return None


def _own_scans_only(request) -> str | None:
    """Return the user name whose scans the page lists, or None for every door's scans.

    Reading the scan log (names, ticket codes) needs its ``view`` permission, as in the API
    and the admin; door staff without it see their own scans only.
    """
    user = request.user
    return None if user.has_perm(SCAN_VIEW_PERMISSION) else user.get_username()


def _chooser(request, *, form=None, answer=None, kept: str = "", replaced: str = "", status=200):
    """Render the session picker; ``kept``: a ticket scanned on it, checked in once one is chosen
    (``replaced``: the one kept before it, not recorded)."""
    not_open, not_listed = door_sessions_not_open(now=timezone.now())
    context = {
        "sessions": door_sessions(device=request_device(request)),
        "not_open": not_open,
        "not_listed": not_listed,
        "form": form,
        "answer": answer,
        "kept": kept,
        "replaced": replaced if replaced != kept else "",
        "nonce": _nonce(),
    }
    return render(request, "door/choose.html", context, status=status)


def _page(request, *, session: Session, mode: str, answer=None, count=None, capacity=None,
          status=200, shell=False):  # fmt: skip
    """Render the scan page; ``shell``: without any name on it (no answer, no last scans), the
    copy the service worker keeps for opening the page offline (door_app/offline.py)."""
    context = {
        "session": session,
        "mode": mode,
        "answer": answer,
        "count": session.check_in_count if count is None else count,
        "capacity": session.capacity if capacity is None else capacity,
        "recent": [] if shell else _recent(request, session),
        "shell": shell,
        "every_door": _own_scans_only(request) is None,
        "nonce": _nonce(),
        "out_seconds": settings.DOOR_CHECK_OUT_MODE_SECONDS,
        "undo_seconds": settings.UNDO_WINDOW_SECONDS,
    }
    fetch = request.headers.get(FETCH_HEADER)
    template = "door/_live.html" if fetch else "door/page.html"
    response = render(request, template, context, status=status)
    if not fetch:
        response[SHELL_HEADER] = "shell" if shell else "page"
    if shell:
        add_never_cache_headers(response)  # the service worker keeps it, not the HTTP cache
    return response


def _recent(request, session: Session) -> list[RecentScan]:
    return [
        RecentScan.of(scan)
        for scan in scans_for_user(  # names only for whom this account checked in or out
            scans=door_recent_scans(session_id=session.pk, actor=_own_scans_only(request)),
            user=request.user,
        )
    ]


@require_safe
@door_staff_required
def page(request):
    """The scan page of the chosen session, or the list of open sessions to choose from."""
    session = None if "change" in request.GET else _chosen(request)
    if session is None:
        return _chooser(request)
    return _page(request, session=session, mode=MODE_IN, shell=SHELL_QUERY in request.GET)


@require_POST
@door_staff_required
def choose(request):
    """Remember the session this door works at (until another is chosen).

    A post without a session is a scan on the picker (the page without script): the ticket is
    kept and the picker asks for the session. A session chosen with a kept ticket checks it in.
    """
    if "session" not in request.POST:
        held = KeptScanForm(request.POST)
        if not held.is_valid():
            return _chooser(request)
        code = held.cleaned_data["code"] or held.cleaned_data["kept"]
        return _chooser(request, kept=code, replaced=held.cleaned_data["kept"])
    form = ChooseSessionForm(request.POST)
    if not form.is_valid():
        return _chooser(request, form=form, kept=request.POST.get("code", "")[:80], status=400)
    request.session[SESSION_KEY] = str(form.cleaned_data["session"].pk)
    if not form.cleaned_data["code"]:
        return redirect("door:page")
    scan_form = ScanForm({"code": form.cleaned_data["code"], "mode": MODE_IN,
                          "nonce": form.cleaned_data["nonce"]})  # fmt: skip
    return _decide(request, scan_form)


def _bad_input(request, form: ScanForm):
    """Answer a code that cannot be a ticket (400), on the page as any other answer.

    Nothing was decided, so the mode stays as it was (a check-out scanned badly is scanned again
    as a check-out).
    """
    session = _chosen(request)
    if session is None:
        return redirect("door:page")
    answer = Answer.invalid(form.data.get("code", "")[:64])
    mode = MODE_OUT if form.data.get("mode") == MODE_OUT else MODE_IN
    return _page(request, session=session, mode=mode, answer=answer, status=400)


def _not_found(request, error: NotFoundError, code: str):
    """Answer an unknown ticket in red; a session deleted since it was chosen: choose again."""
    answer = Answer.not_found(error.reason, code)
    session = None if error.reason == NotFoundReason.SESSION_NOT_FOUND else _chosen(request)
    if session is not None:
        return _page(request, session=session, mode=MODE_IN, answer=answer)
    request.session.pop(SESSION_KEY, None)
    if request.headers.get(FETCH_HEADER):
        return render(request, "door/_live.html", {"answer": answer, "gone": True})
    return _chooser(request, answer=answer)


@require_POST
@door_staff_required
def scan(request):
    """Check the scanned code in (or out) of the chosen session and show the answer."""
    if not request.session.get(SESSION_KEY):
        return redirect("door:page")
    return _decide(request, ScanForm(request.POST))


def _decide(request, form: ScanForm):
    """Check the form's code in or out of the chosen session; show the answer in check-in mode.

    Check-out mode lasts one scan (the page's script also ends it after a timeout): a door
    left in it would check out everyone arriving.
    """
    session_id = request.session[SESSION_KEY]
    if not form.is_valid():
        return _bad_input(request, form)
    code, mode = form.cleaned_data["code"], form.cleaned_data["mode"]
    door = {"session_id": session_id, "ticket_code": code, "source": CheckIn.Source.DOOR,
            "actor": request.user.get_username(), "device": request_device(request),
            "client_latency_ms": door_latency_ms(request)}  # fmt: skip
    nonce = form.cleaned_data["nonce"] or _nonce()
    try:
        if mode == MODE_OUT:
            verdict = session_check_out(**door, nonce=nonce)
        else:
            verdict = session_check_in(**door, nonce=nonce)
    except NotFoundError as exc:
        return _not_found(request, exc, code)
    session = _chosen(request) or Session(pk=session_id, title=verdict.session_title)
    return _page(
        request,
        session=session,
        mode=MODE_IN,
        answer=Answer.of_verdict(
            verdict_for_user(verdict=verdict, user=request.user), code, nonce=nonce
        ),
        count=verdict.check_in_count,
        capacity=verdict.capacity,
    )


@require_POST
@door_staff_required
def undo(request):
    """Undo this door's last check-in (the nonce it was scanned with) and show the answer.

    Offered on the answer of an accepted check-in for ``UNDO_WINDOW_SECONDS``; the service
    decides (same door, in time, not scanned again since) and answers like any scan.
    """
    session_id = request.session.get(SESSION_KEY)
    if not session_id:
        return redirect("door:page")
    form = UndoForm(request.POST)
    nonce = form.cleaned_data["nonce"] if form.is_valid() else ""
    try:
        verdict = session_scan_undo(
            session_id=session_id, nonce=nonce, source=CheckIn.Source.DOOR,
            actor=request.user.get_username(), device=request_device(request),
            client_latency_ms=door_latency_ms(request),
        )  # fmt: skip
    except NotFoundError as exc:
        return _not_found(request, exc, "")
    session = _chosen(request) or Session(pk=session_id, title=verdict.session_title)
    answer = (
        Answer.scan_not_found()
        if verdict.reason == Reason.SCAN_NOT_FOUND
        else Answer.of_verdict(verdict_for_user(verdict=verdict, user=request.user), "")
    )
    return _page(request, session=session, mode=MODE_IN, answer=answer,
                 count=verdict.check_in_count, capacity=verdict.capacity)  # fmt: skip
