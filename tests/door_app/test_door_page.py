"""The door page: sign in, choose a session once, scan code after code, check out."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from sessions_app.groups import DOOR_STAFF_GROUP
from sessions_app.models import CheckIn, Scan, Session
from tests.factories import participant_make, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def door(door_staff_user):
    client = Client(enforce_csrf_checks=False)
    client.force_login(door_staff_user)
    return client


def _choose(door, session):
    response = door.post("/door/session/", {"session": str(session.pk)})
    assert response.status_code == 302 and response["Location"] == "/door/"


def _scan(door, code, *, mode="in", nonce=None, fetch=False):
    data = {"code": code, "mode": mode}
    if nonce:
        data["nonce"] = nonce
    headers = {"HTTP_X_DOOR_FETCH": "1"} if fetch else {}
    response = door.post("/door/scan/", data, **headers)
    assert response.status_code == 200, response.content[:300]
    return response


def _reason(response) -> str:
    return (
        re.search(rb'id="result"[^>]*data-reason="([a-z_]*)"', response.content).group(1).decode()
    )


def test_needs_sign_in_and_the_check_in_permission(client, django_user_model, door_staff_user):
    assert client.get("/door/")["Location"] == "/door/login/?next=/door/"
    client.force_login(django_user_model.objects.create_user(username="nobody", password="x"))
    forbidden = client.get("/door/")
    assert forbidden.status_code == 403 and b"nobody" in forbidden.content
    client.force_login(door_staff_user)
    assert client.get("/door/").status_code == 200


def test_choose_once_then_scan_ok_again_full_unknown(door):
    session_make(title="Draft talk", status=Session.Status.DRAFT)
    session = session_make(title="Opening keynote", capacity=1)
    uma = participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    participant_make(full_name="Vic Park", ticket_code="VIC-0002")
    chooser = door.get("/door/").content.decode()
    buttons = re.findall(r"<button[^>]*>.*?</button>", chooser, re.S)
    assert any("Opening keynote" in b for b in buttons)
    assert not any("Draft talk" in b for b in buttons)  # listed greyed, not a button
    _choose(door, session)
    page = door.get("/door/").content.decode()  # remembered
    assert 'id="code"' in page and "autofocus" in page and "0 / 1" in page
    ok = _scan(door, "uma-0001")
    assert _reason(ok) == "checked_in" and b"Uma Ortiz" in ok.content and b"1 / 1" in ok.content
    assert _reason(_scan(door, "UMA-0001", fetch=True)) == "already_checked_in"
    assert _reason(_scan(door, "VIC-0002")) == "session_full"
    unknown = _scan(door, "NOPE-9999", fetch=True)
    assert _reason(unknown) == "ticket_not_found" and b"NOPE-9999" in unknown.content
    assert b"<html" not in unknown.content  # the fragment the page's script swaps in
    # The last scans, below the answer; the refused one by its code: this door never checked Vic
    # in or out, so it learns no name (sessions_app.access).
    assert b"VIC-0002" in unknown.content and b"Vic Park" not in unknown.content
    scans = Scan.objects.filter(session=session)
    assert {(s.source, s.actor) for s in scans} == {("door", "door")}
    assert CheckIn.objects.get(participant=uma).source == "door"


def test_a_double_submit_with_one_nonce_counts_once(door):
    session = session_make(capacity=5)
    participant_make(ticket_code="TWICE-01")
    _choose(door, session)
    first = _scan(door, "TWICE-01", nonce="door-abc-1")
    again = _scan(door, "TWICE-01", nonce="door-abc-1")
    assert (_reason(first), _reason(again)) == ("checked_in", "checked_in")
    assert b"repeat" in again.content.lower()
    assert Session.objects.get(pk=session.pk).check_in_count == 1


def test_check_out_from_the_same_page(door):
    session = session_make(title="Workshop")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    _choose(door, session)
    _scan(door, "UMA-0001")
    out = _scan(door, "UMA-0001", mode="out")
    assert _reason(out) == "checked_out" and b"0 / 10" in out.content
    assert _reason(_scan(door, "UMA-0001", mode="out")) == "not_checked_in"


def test_bad_input_is_answered_never_a_500(door):
    assert door.post("/door/scan/", {"code": "X"})["Location"] == "/door/"  # no session yet
    assert door.post("/door/session/", {"session": "nonsense"}).status_code == 400
    assert door.post("/door/session/", {"session": "0" * 24}).status_code == 400
    session = session_make()
    _choose(door, session)
    for data in (
        {"code": ""},
        {"code": "x" * 500},
        {"code": "A B"},
        {"code": "OK-1", "mode": "up"},
    ):
        response = door.post("/door/scan/", data)
        assert response.status_code == 400 and b'id="code"' in response.content
    Session.objects.filter(pk=session.pk).delete()
    gone = door.post("/door/scan/", {"code": "ANY-0001"})
    assert gone.status_code == 200 and _reason(gone) == "session_not_found"
    assert b"Choose the session" in door.get("/door/").content  # back to choosing


def test_door_staff_see_their_own_scans_organisers_every_door(door, django_user_model):
    session = session_make(title="Opening keynote")
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    participant_make(full_name="Vic Park", ticket_code="VIC-0002")
    other = django_user_model.objects.create_user(username="door2", password="x")
    other.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    second = Client()
    second.force_login(other)
    for client, code in ((door, "UMA-0001"), (second, "VIC-0002")):
        _choose(client, session)
        _scan(client, code)
    # The scan log names people: door staff (no view permission on it) see only their own scans.
    mine = door.get("/door/").content.decode().split('id="recent"', 1)[1]
    assert "Uma Ortiz" in mine and "Vic Park" not in mine
    boss = Client()
    boss.force_login(django_user_model.objects.create_superuser(username="boss", password="x"))
    _choose(boss, session)
    every = boss.get("/door/").content.decode().split('id="recent"', 1)[1]
    assert "Uma Ortiz" in every and "Vic Park" in every
