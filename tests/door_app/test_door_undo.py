"""The door page's Undo on an accepted check-in, and the door's latency telemetry."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from sessions_app.groups import DOOR_STAFF_GROUP
from sessions_app.models import CheckIn, Scan
from tests.factories import participant_make, session_counter, session_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def door(door_staff_user):
    client = Client()
    client.force_login(door_staff_user)
    return client


def _choose(client, session):
    assert client.post("/door/session/", {"session": str(session.pk)}).status_code == 302


def _reason(response) -> str:
    return re.search(r'id="result"[^>]*data-reason="([a-z_]*)"', response.text).group(1)


def _undo_nonce(response) -> str | None:
    form = re.search(r'<form id="undo-form".*?</form>', response.text, re.S)
    if form is None:
        return None
    return re.search(r'name="nonce" value="([^"]+)"', form.group(0)).group(1)


def _scan(client, code, nonce, **headers):
    data = {"code": code, "mode": "in", "nonce": nonce}
    return client.post("/door/scan/", data, HTTP_X_DOOR_FETCH="1", **headers)


def test_an_accepted_check_in_offers_undo_which_frees_the_place_naming_the_person(door):
    session = session_make(title="Opening keynote", capacity=5)
    uma = participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    _choose(door, session)
    scanned = _scan(door, "UMA-0001", "door-aaaa")
    assert _reason(scanned) == "checked_in"
    assert _undo_nonce(scanned) == "door-aaaa"
    assert 'accesskey="u"' in scanned.text and "Undo the check-in of Uma Ortiz" in scanned.text

    undone = door.post("/door/undo/", {"nonce": "door-aaaa"}, HTTP_X_DOOR_FETCH="1")

    assert undone.status_code == 200
    assert _reason(undone) == "annulled"
    assert "Check-in undone" in undone.text and "Uma Ortiz" in undone.text
    assert "0 / 5 inside" in undone.text
    assert _undo_nonce(undone) is None  # nothing to undo on an undo
    assert not CheckIn.objects.filter(participant=uma, state=CheckIn.State.INSIDE).exists()
    assert Scan.objects.get(reason="annulled").source == "door"
    assert "check-in undone" in undone.text  # in the list of last scans too


def test_refused_and_repeated_scans_offer_no_undo(door):
    session = session_make(capacity=1)
    participant_make(ticket_code="UMA-0001")
    participant_make(ticket_code="VIC-0002")
    _choose(door, session)
    _scan(door, "UMA-0001", "door-aaaa")
    assert _undo_nonce(_scan(door, "UMA-0001", "door-aaaa")) is None  # the repeat
    assert _undo_nonce(_scan(door, "VIC-0002", "door-bbbb")) is None  # session full


def test_an_undo_refused_says_why_and_changes_nothing(door, door_staff_user, django_user_model):
    session = session_make(capacity=5)
    participant_make(full_name="Uma Ortiz", ticket_code="UMA-0001")
    _choose(door, session)
    _scan(door, "UMA-0001", "door-aaaa")
    other = django_user_model.objects.create_user(username="door-2")
    other.groups.add(Group.objects.get(name=DOOR_STAFF_GROUP))
    second = Client()
    second.force_login(other)
    _choose(second, session)

    theirs = second.post("/door/undo/", {"nonce": "door-aaaa"}, HTTP_X_DOOR_FETCH="1")
    assert _reason(theirs) == "undo_not_yours"
    assert "only that door can undo it" in theirs.text

    Scan.objects.filter(nonce="door-aaaa").update(
        created_at=timezone.now() - dt.timedelta(minutes=3)
    )
    late = door.post("/door/undo/", {"nonce": "door-aaaa"}, HTTP_X_DOOR_FETCH="1")
    assert _reason(late) == "undo_window_passed" and "Too late to undo" in late.text
    assert session_counter(session) == 1


@pytest.mark.parametrize("nonce", ["door-nothing", ""])
def test_an_undo_of_an_unknown_scan_answers_scan_not_found(door, nonce):
    session = session_make(capacity=5)
    _choose(door, session)
    response = door.post("/door/undo/", {"nonce": nonce}, HTTP_X_DOOR_FETCH="1")
    assert (response.status_code, _reason(response)) == (200, "scan_not_found")
    assert "Nothing was undone" in response.text


def test_an_undo_without_a_chosen_session_goes_back_to_the_page(door):
    assert door.post("/door/undo/", {"nonce": "x"})["Location"] == "/door/"


def test_the_doors_latency_header_is_stored_with_the_scan_and_the_undo(door):
    session = session_make(capacity=5)
    participant_make(ticket_code="UMA-0001")
    _choose(door, session)
    _scan(door, "UMA-0001", "door-aaaa", HTTP_X_DOOR_LATENCY_MS="212")
    door.post(
        "/door/undo/", {"nonce": "door-aaaa"}, HTTP_X_DOOR_FETCH="1", HTTP_X_DOOR_LATENCY_MS="x"
    )
    assert Scan.objects.get(nonce="door-aaaa").client_latency_ms == 212
    assert Scan.objects.get(reason="annulled").client_latency_ms is None  # malformed: dropped
