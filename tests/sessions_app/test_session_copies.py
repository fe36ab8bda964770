"""The session copies a process keeps for its doors: kept as objects, each caller its own copy."""

import pytest

from core import process_cache
from sessions_app.models import Session
from sessions_app.selectors import session_get_for_admission
from tests.factories import session_make

pytestmark = pytest.mark.django_db


def test_the_copy_is_kept_unpickled_and_every_caller_gets_its_own(settings):
    settings.DOOR_READ_CACHE_SECONDS = 60
    session = session_make(capacity=9)
    Session.objects.filter(pk=session.pk).update(lease_room={"L1": 2})  # no signal: not dropped
    first = session_get_for_admission(session_id=session.pk)

    first.capacity = 1
    first.lease_room["L1"] = 99
    first.lease_room["L2"] = 1
    kept = process_cache._shared[f"session:{session.pk}"][1]  # the object itself, untouched
    assert kept is not first and (kept.capacity, kept.lease_room) == (9, {"L1": 2})
    second = session_get_for_admission(session_id=session.pk)
    assert second is not first
    assert (second.capacity, second.lease_room) == (9, {"L1": 2})
    assert second.lease_room is not first.lease_room
    assert second._state.fields_cache is not first._state.fields_cache


def test_a_session_saved_in_this_process_drops_its_copy(settings):
    settings.DOOR_READ_CACHE_SECONDS = 60
    session = session_make(capacity=9)
    assert session_get_for_admission(session_id=session.pk).capacity == 9
    session.capacity = 4
    session.save()
    assert session_get_for_admission(session_id=session.pk).capacity == 4
