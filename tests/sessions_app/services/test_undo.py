"""Undo the last scan: a door annuls its own accepted check-in, within the window, once.

Everything runs the real services against the real servers; Redis down is a killed redis-server.
"""

import datetime as dt

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from devices_app.models import DoorDevice
from sessions_app.admission import admission_key
from sessions_app.models import CheckIn, Scan
from sessions_app.services import session_check_in, session_check_out, session_scan_undo
from tests.factories import (
    assert_capacity_holds,
    participant_make,
    participants_make,
    session_counter,
    session_inside,
    session_make,
)

pytestmark = pytest.mark.django_db


def _in(session, person, nonce, **kwargs):
    return session_check_in(
        session_id=session.pk, participant_id=person.pk, nonce=nonce, actor="door", **kwargs
    )


def _undo(session, nonce, **kwargs):
    return session_scan_undo(session_id=session.pk, nonce=nonce, **{"actor": "door", **kwargs})


def _inside(session, person) -> bool:
    return CheckIn.objects.filter(
        session=session, participant=person, state=CheckIn.State.INSIDE
    ).exists()


def test_an_undone_check_in_frees_the_place_and_is_logged_as_its_own_entry_linking_the_scan():
    session = session_make(capacity=1)
    uma = participant_make(full_name="Uma Ortiz")
    leo = participant_make(full_name="Leo Park")
    assert _in(session, uma, "n-1").reason == "checked_in"
    assert _in(session, leo, "n-2").reason == "session_full"

    verdict = _undo(session, "n-1")

    assert (verdict.reason, verdict.replayed, verdict.inside) == ("annulled", False, False)
    assert (verdict.participant_name, verdict.session_title) == ("Uma Ortiz", session.title)
    assert (verdict.check_in_count, session_counter(session)) == (0, 0)
    assert not _inside(session, uma)
    original = Scan.objects.get(session=session, nonce="n-1")
    undo = Scan.objects.get(session=session, reason="annulled")
    assert (undo.annuls_id, undo.direction, undo.actor) == (original.pk, "out", "door")
    assert _in(session, leo, "n-3").reason == "checked_in"  # the place is free
    assert_capacity_holds(session)


def test_undoing_twice_changes_nothing_and_answers_the_first_undo_replayed():
    session = session_make(capacity=3)
    uma, leo = participants_make(2)
    _in(session, uma, "n-1")
    _in(session, leo, "n-2")
    assert _undo(session, "n-1").reason == "annulled"

    again = _undo(session, "n-1")

    assert (again.reason, again.replayed, again.inside) == ("annulled", True, False)
    assert (session_counter(session), session_inside(session)) == (1, 1)
    assert Scan.objects.filter(reason="annulled", replayed=False).count() == 1


def test_an_undo_after_its_window_answers_undo_window_passed_and_changes_nothing(settings):
    settings.UNDO_WINDOW_SECONDS = 120
    session = session_make(capacity=3)
    uma = participant_make()
    _in(session, uma, "n-1")
    Scan.objects.filter(nonce="n-1").update(created_at=timezone.now() - dt.timedelta(seconds=121))

    verdict = _undo(session, "n-1")

    assert (verdict.reason, verdict.inside) == ("undo_window_passed", True)
    assert _inside(session, uma) and session_counter(session) == 1
    assert Scan.objects.filter(reason="undo_window_passed").get().annuls.nonce == "n-1"


def test_an_undone_scan_answers_its_undo_replayed_also_after_the_window(settings):
    session = session_make(capacity=3)
    uma = participant_make()
    _in(session, uma, "n-1")
    _undo(session, "n-1")
    Scan.objects.filter(nonce="n-1").update(created_at=timezone.now() - dt.timedelta(hours=1))
    assert (_undo(session, "n-1").reason, _undo(session, "n-1").replayed) == ("annulled", True)


def test_an_undo_after_a_later_scan_of_the_same_person_answers_undo_superseded():
    session = session_make(capacity=3)
    uma = participant_make()
    _in(session, uma, "n-1")
    session_check_out(session_id=session.pk, participant_id=uma.pk, nonce="n-2", actor="door")
    _in(session, uma, "n-3")

    verdict = _undo(session, "n-1")

    assert (verdict.reason, verdict.inside) == ("undo_superseded", True)
    assert _inside(session, uma) and session_counter(session) == 1  # the new visit stands


def test_an_undo_after_a_refused_later_scan_is_superseded_too():
    session = session_make(capacity=3)
    uma = participant_make()
    _in(session, uma, "n-1")
    assert _in(session, uma, "n-2").reason == "already_checked_in"
    assert _undo(session, "n-1").reason == "undo_superseded"
    assert _inside(session, uma)


def test_a_replay_of_the_scan_itself_is_not_a_later_scan():
    session = session_make(capacity=3)
    uma = participant_make()
    _in(session, uma, "n-1")
    assert _in(session, uma, "n-1").replayed
    assert _undo(session, "n-1").reason == "annulled"


def test_another_users_scan_answers_undo_not_yours_and_changes_nothing():
    session = session_make(capacity=3)
    uma = participant_make()
    _in(session, uma, "n-1")
    assert _undo(session, "n-1", actor="someone-else").reason == "undo_not_yours"
    assert _inside(session, uma)


def test_a_devices_scan_is_undone_by_that_device_only():
    session = session_make(capacity=3)
    uma, leo = participants_make(2)
    door_2 = DoorDevice.objects.create(name="Hall A, door 2")
    door_3 = DoorDevice.objects.create(name="Hall A, door 3")
    _in(session, uma, "n-1", device=door_2)
    _in(session, leo, "n-2")  # a signed-in user's scan, no device

    assert _undo(session, "n-1", device=door_3).reason == "undo_not_yours"
    assert _undo(session, "n-1").reason == "undo_not_yours"  # the user is not the device
    assert _undo(session, "n-2", device=door_2).reason == "undo_not_yours"
    verdict = _undo(session, "n-1", device=door_2, client_latency_ms=42)
    assert verdict.reason == "annulled"
    undo = Scan.objects.get(reason="annulled")
    assert (undo.device_id, undo.device_name, undo.client_latency_ms) == (
        door_2.pk,
        "Hall A, door 2",
        42,
    )


@pytest.mark.parametrize("nonce", ["no-such-nonce", ""])
def test_an_unknown_nonce_answers_scan_not_found(nonce):
    session = session_make(capacity=3)
    assert _undo(session, nonce).reason == "scan_not_found"


def test_refused_and_replayed_scans_and_check_outs_cannot_be_undone():
    session = session_make(capacity=1)
    uma, leo = participants_make(2)
    _in(session, uma, "n-1")
    assert _in(session, leo, "n-2").reason == "session_full"
    assert _undo(session, "n-2").reason == "undo_nothing_to_undo"
    session_check_out(session_id=session.pk, participant_id=uma.pk, nonce="n-3", actor="door")
    assert _undo(session, "n-3").reason == "undo_check_out_refused"
    assert _undo(session, "undo:n-9").reason == "scan_not_found"
    _in(session, leo, "n-4")
    assert _undo(session, "n-4").reason == "annulled"
    assert _undo(session, "undo:n-4").reason == "undo_nothing_to_undo"  # an undo's own entry
    assert (session_counter(session), session_inside(session)) == (0, 0)


def test_a_long_nonce_has_an_undo_of_its_own():
    session = session_make(capacity=3)
    uma, leo = participants_make(2)
    _in(session, uma, "a" * 64)
    _in(session, leo, "a" * 63 + "b")
    assert _undo(session, "a" * 64).reason == "annulled"
    assert _undo(session, "a" * 63 + "b").reason == "annulled"
    assert session_counter(session) == 0


def test_undo_with_redis_killed_frees_the_place_in_mongodb(redis_server):
    session = session_make(capacity=1)
    uma, leo = participants_make(2)
    _in(session, uma, "n-1")  # seeds the admission set with Uma
    redis_server.kill()

    assert _undo(session, "n-1").reason == "annulled"
    assert _in(session, leo, "n-2").reason == "checked_in"  # MongoDB alone decides
    assert_capacity_holds(session)


def test_undo_with_redis_up_removes_the_participant_from_the_admission_set(redis_server):
    session = session_make(capacity=1)
    uma = participant_make()
    _in(session, uma, "n-1")
    client = redis.Redis.from_url(django_settings.REDIS_URL, decode_responses=True)
    with client:
        assert str(uma.pk) in client.smembers(admission_key(session.pk))
        _undo(session, "n-1")
        assert str(uma.pk) not in client.smembers(admission_key(session.pk))
