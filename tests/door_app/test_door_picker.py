"""The door page without its script: a scan on the picker is kept, check-out lasts one scan."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from sessions_app.models import Scan, Session
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def door(door_staff_user):
    client = Client()
    client.force_login(door_staff_user)
    return client


def _running(**fields) -> Session:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    return session_make(starts_at=start, ends_at=start + dt.timedelta(hours=2), **fields)


def _reason(response) -> str:
    found = re.search(rb'id="result"[^>]*data-reason="([a-z_]*)"', response.content)
    return found.group(1).decode() if found else ""


def _mode(response) -> str:
    return re.search(rb'<body data-mode="([a-z]+)"', response.content).group(1).decode()


def test_no_session_button_has_the_focus_on_the_picker(door):
    _running(title="Opening keynote")
    picker = door.get("/door/").content.decode()
    buttons = re.findall(r"<button[^>]*>", picker)
    assert any('name="session"' in b for b in buttons)
    assert not any("autofocus" in b for b in buttons)


def test_a_scan_posted_on_the_picker_is_kept_until_a_session_is_chosen_then_checked_in(door):
    session = _running(title="Opening keynote")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    kept = door.post("/door/session/", {"code": " uma-0001 "})
    assert kept.status_code == 200
    assert re.search(rb'id="kept-code">uma-0001<', kept.content)
    assert b"choose the session to check it in" in kept.content
    assert b'name="session"' in door.get("/door/").content  # still choosing
    assert not Scan.objects.exists()

    data = {"session": str(session.pk), "code": "uma-0001", "nonce": "door-kept-1"}
    chosen = door.post("/door/session/", data)
    assert _reason(chosen) == "checked_in" and b"Uma Ortiz" in chosen.content
    again = door.post("/door/session/", data)  # the same form posted twice: answered once
    assert _reason(again) == "checked_in" and b"repeat" in again.content.lower()
    assert Session.objects.get(pk=session.pk).check_in_count == 1


def test_check_out_mode_lasts_one_scan_unless_the_scan_was_no_ticket(door):
    session = _running()
    participant_make(ticket_code="UMA-0001")
    door.post("/door/session/", {"session": str(session.pk)})
    door.post("/door/scan/", {"code": "UMA-0001", "mode": "in"})
    bad = door.post("/door/scan/", {"code": "#!#!", "mode": "out"})
    assert bad.status_code == 400 and _mode(bad) == "out"  # nothing decided: still checking out
    out = door.post("/door/scan/", {"code": "UMA-0001", "mode": "out"})
    assert _reason(out) == "checked_out" and _mode(out) == "in"
    assert b"verdict-out" in out.content  # blue, not the green of a check-in


def test_a_malformed_code_is_answered_as_not_a_ticket_code(door):
    session = _running()
    door.post("/door/session/", {"session": str(session.pk)})
    response = door.post("/door/scan/", {"code": "A B"})
    assert response.status_code == 400 and _reason(response) == "invalid_code"
    headline = re.search(rb'class="headline">([^<]*)<', response.content).group(1)
    assert headline == b"Not a ticket code" and b"Scan again" in response.content


def test_a_resent_check_out_from_the_door_never_undoes_a_later_check_in(door):
    session = _running()
    participant_make(ticket_code="UMA-0001")
    door.post("/door/session/", {"session": str(session.pk)})
    door.post("/door/scan/", {"code": "UMA-0001", "mode": "in", "nonce": "door-in-1"})
    out = {"code": "UMA-0001", "mode": "out", "nonce": "door-out-1"}
    assert _reason(door.post("/door/scan/", out)) == "checked_out"
    door.post("/door/scan/", {"code": "UMA-0001", "mode": "in", "nonce": "door-in-2"})
    resent = door.post("/door/scan/", out)  # the first check-out's answer was lost: sent again
    assert _reason(resent) == "checked_out" and b"repeat" in resent.content.lower()
    assert Session.objects.get(pk=session.pk).check_in_count == 1  # still inside
